"""Settings come from the environment; production refuses to start without a secret key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_probe(env: dict[str, str], expr: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "SECRETS_DIR"))}
    code = f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','weatherapi.settings'); django.setup(); from django.conf import settings; print({expr})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_production_without_secret_key_refuses_to_start():
    result = _settings_probe({"DJANGO_DEBUG": "0"}, "settings.DEBUG")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_secrets_dir_file_overrides_the_variable(tmp_path):
    (tmp_path / "DJANGO_SECRET_KEY").write_text("from-a-file-" + "x" * 40 + "\n")
    result = _settings_probe(
        {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "from-env", "SECRETS_DIR": str(tmp_path), "DJANGO_ALLOWED_HOSTS": "api.example"},
        "settings.SECRET_KEY",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-file-" + "x" * 40


def test_embedded_default_is_sqlite_and_local_memory():
    result = _settings_probe({}, "settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND']")
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and "LocMemCache" in result.stdout
