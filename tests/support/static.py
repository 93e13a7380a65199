"""A collected STATIC_ROOT for servers run with the production settings.

With ``DJANGO_DEBUG=0`` pages name their assets through the staticfiles manifest, which only
``collectstatic`` writes; the image runs it at build (Dockerfile). ``collected_static_root()``
runs the same command with the production settings into ``var/staticfiles-<fingerprint>``
and hands that directory to gunicorn as ``DJANGO_STATIC_ROOT`` (``GunicornServer`` does so
whenever it starts with ``DJANGO_DEBUG=0``). Compressing Swagger UI and ReDoc takes a while,
so a collection is kept and reused while its inputs are unchanged: the installed
distributions, the files under ``static/`` and the settings module. A file lock makes
concurrent test processes wait for one collection instead of each running its own; a new
collection removes those older than a day (``make clean`` removes them all with ``var/``).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
PREFIX = "staticfiles-"
STALE_SECONDS = 24 * 3600


def _fingerprint() -> str:
    digest = hashlib.sha256()
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join(dists).encode())
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"\n{path.relative_to(ROOT)} {stat.st_size} {stat.st_mtime_ns}".encode())
    digest.update((ROOT / "weatherapi" / "settings.py").read_bytes())
    return digest.hexdigest()[:16]


def collected_static_root() -> Path:
    """The directory ``collectstatic`` filled with the production settings (made when missing)."""
    VAR.mkdir(exist_ok=True)
    target = VAR / f"{PREFIX}{_fingerprint()}"
    # A collection appears whole, by one rename, or not at all.
    if target.is_dir():
        return target
    with open(VAR / "staticfiles.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():
            return target
        building = Path(tempfile.mkdtemp(prefix=".collecting-", dir=VAR))
        building.chmod(0o755)
        env = {
            # As the Dockerfile's collectstatic: values only for this one command, and no
            # PROMETHEUS_MULTIPROC_DIR (set but empty, metric files land in the working directory).
            **{k: v for k, v in os.environ.items()
               if not k.startswith("DJANGO_") and k != "PROMETHEUS_MULTIPROC_DIR"},
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "collectstatic-only-not-a-secret",
            "DJANGO_ALLOWED_HOSTS": "localhost",
            "DJANGO_STATIC_ROOT": str(building),
        }
        try:
            result = subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
            )
            if result.returncode != 0:
                raise RuntimeError(f"collectstatic failed:\n{result.stdout}{result.stderr}")
            building.rename(target)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        # Older collections go once nothing can still be serving them.
        for old in VAR.glob(f"{PREFIX}*"):
            if old != target and time.time() - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
    return target
