"""Static checks of the Dockerfile and .dockerignore (no Docker engine needed)."""

from __future__ import annotations

import json
import re

from infra_helpers import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def instructions(keyword: str) -> list[str]:
    return [i for i in INSTRUCTIONS if i.split()[0].upper() == keyword]


def test_multi_stage_pinned_slim_python_312():
    froms = instructions("FROM")
    assert len(froms) >= 2
    for line in froms:
        image = line.split()[1]
        assert re.match(r"^python:3\.12\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?$", image)
    assert len({f.split()[1] for f in froms}) == 1, "all stages on the same base"


def test_dependencies_cached_before_source():
    copies = instructions("COPY")
    runs = instructions("RUN")
    lock_copy = next(
        i for i, c in enumerate(INSTRUCTIONS) if c in copies and "requirements.lock" in c
    )
    lock_install = next(
        i for i, r in enumerate(INSTRUCTIONS) if r in runs and "pip install --requirement" in r
    )
    source_copy = next(i for i, c in enumerate(INSTRUCTIONS) if c.startswith("COPY . "))
    no_deps = next(i for i, r in enumerate(INSTRUCTIONS) if "pip install --no-deps ." in r)
    assert lock_copy < lock_install < source_copy < no_deps


def test_collectstatic_with_inline_build_only_settings():
    run = next(r for r in instructions("RUN") if "collectstatic" in r)
    assert "python manage.py collectstatic --noinput" in run
    for setting in (
        "DJANGO_SECRET_KEY=collectstatic-only-not-a-secret",
        "DJANGO_DEBUG=0",
        "DJANGO_ALLOWED_HOSTS=localhost",
    ):
        assert setting in run
    # Unset, not empty: an empty PROMETHEUS_MULTIPROC_DIR writes metric files into /app.
    assert "env -u PROMETHEUS_MULTIPROC_DIR python manage.py collectstatic" in run
    # ... and never as ENV/ARG, which would persist in the image or its history.
    for line in instructions("ENV") + instructions("ARG"):
        assert "SECRET" not in line and "TOKEN" not in line and "PASSWORD" not in line


def test_runtime_user_port_and_command():
    users = instructions("USER")
    assert users, "no USER"
    uid = users[-1].split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000
    assert instructions("EXPOSE") == ["EXPOSE 8000"]
    cmd = instructions("CMD")[-1]
    assert json.loads(cmd[len("CMD") :].strip()) == [
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "weatherapi.wsgi:application",
    ]
    # USER comes after every RUN of the final stage.
    last_from = max(i for i, line in enumerate(INSTRUCTIONS) if line.startswith("FROM"))
    last_run = max(i for i, line in enumerate(INSTRUCTIONS) if line.startswith("RUN"))
    last_user = max(i for i, line in enumerate(INSTRUCTIONS) if line.startswith("USER"))
    assert last_from < last_run < last_user


def test_dockerignore_keeps_secrets_and_state_out():
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for pattern in (".git", ".venv", ".env", "**/*.tfstate", "**/.terraform", "tests"):
        assert pattern in patterns, pattern
    # Files the build needs must not be excluded.
    for needed in (
        "requirements.lock",
        "pyproject.toml",
        "manage.py",
        "gunicorn.conf.py",
        "templates",
        "static",
        "weatherapi",
    ):
        assert needed not in patterns, needed
