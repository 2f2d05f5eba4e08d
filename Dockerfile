# syntax=docker/dockerfile:1
# Two images from one file: `api` (no torch) and `worker` (torch with CUDA, nas_core).
# docker compose builds both; see docker-compose.yml.

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# /artifacts exists owned by the service user, so an empty named volume mounted there is too.
RUN useradd --create-home --uid 1000 adl \
    && mkdir -p /artifacts /datasets \
    && chown adl:adl /artifacts
WORKDIR /app

# Dependencies are resolved from pyproject.toml, the one list, into /install.
FROM base AS api-deps
COPY pyproject.toml scripts/requirements.py ./
RUN python requirements.py --api > requirements.txt \
    && pip install --prefix=/install -r requirements.txt

FROM base AS worker-deps
COPY pyproject.toml scripts/requirements.py ./
# On Linux, PyPI's torch==2.13.0 is the CUDA build; the host needs the NVIDIA driver and the
# NVIDIA container toolkit.
RUN python requirements.py > requirements.txt \
    && pip install --prefix=/install -r requirements.txt

FROM base AS api
COPY --from=api-deps /install /usr/local
COPY alembic.ini ./
COPY migrations ./migrations
COPY jobs ./jobs
COPY api ./api
USER 1000
ENV ADL_HOST=0.0.0.0 ADL_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["python", "-m", "api"]

FROM base AS worker
# tcmalloc: CPU supernet steps run about 15% faster than on glibc's malloc (jobs/allocator.py).
# Unpinned: the base image's Debian release decides the version, and any 2.x will do.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libtcmalloc-minimal4 \
    && rm -rf /var/lib/apt/lists/*
ENV LD_PRELOAD=libtcmalloc_minimal.so.4
COPY --from=worker-deps /install /usr/local
COPY jobs ./jobs
COPY nas_core ./nas_core
COPY worker ./worker
USER 1000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "worker.health"]
# solo pool, one search at a time: one worker container per GPU.
CMD ["celery", "-A", "worker.celery_app", "worker", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
