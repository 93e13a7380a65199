"""gunicorn.conf.py's hooks, run as gunicorn runs them (the module loaded from its file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_worker_freezes_what_the_app_loaded_out_of_the_collectors_sight():
    # In a fresh interpreter: load the app as a worker does, then run the hook.
    code = (
        "import gc, os, runpy\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'weatherapi.settings')\n"
        "import weatherapi.wsgi\n"
        "before = gc.get_freeze_count()\n"
        "conf = runpy.run_path('gunicorn.conf.py')\n"
        "conf['post_worker_init'](None)\n"
        "print(before, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    before, frozen, still_tracked = map(int, out.stdout.split())
    assert before == 0
    # Django and the app are tens of thousands of objects; almost nothing is left in sight.
    assert frozen > 50_000
    assert still_tracked < frozen / 10
