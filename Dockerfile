# syntax=docker/dockerfile:1
# OpenWan images. Two targets from one build:
#   docker build --target backend -t openwan-backend .   # openwan serve (API + web)
#   docker build --target worker  -t openwan-worker  .   # openwan worker (FFmpeg)
# Migrations run with the backend image: `openwan migrate`.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: one wheel of the package plus wheels of its dependencies ---------------------
FROM ${PYTHON_IMAGE} AS builder
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY openwan ./openwan
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime base: the installed package, no compiler, no wheel cache, non-root ------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENWAN_DATA_DIR=/tmp/openwan
# curl is what the HEALTHCHECK and the ECS container health check call.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# Amazon RDS's CA bundle: the app verifies the database's certificate with it
# (OPENWAN_DB_TLS_CA; the RDS parameter group requires TLS). Fetched at build time.
ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \
    /etc/ssl/rds/global-bundle.pem
RUN groupadd --system --gid 10001 openwan \
    && useradd --system --uid 10001 --gid openwan --home-dir /home/openwan --create-home openwan
# Bind-mount the wheels instead of COPYing them so they never become an image layer.
# Versions are pinned by the wheels built above (--no-index: nothing else is reachable).
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels openwan
WORKDIR /home/openwan

# --- worker: FFmpeg and poppler (PDF pages) from Debian ----------------------------------
FROM runtime AS worker
# Debian's packages track security updates of the release; pinning would freeze them out.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg poppler-utils \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
# Healthy while the worker's consumer heartbeat is fresh (a dead or hung consumer thread
# makes it fail, and the orchestrator replaces the container).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["openwan", "worker", "--check"]
CMD ["openwan", "worker"]

# --- backend (default target) ----------------------------------------------------------------
FROM runtime AS backend
USER 10001:10001
EXPOSE 8080 9090
# Shell form on purpose: "|| exit 1" maps any curl failure to Docker's "unhealthy" code.
# hadolint ignore=DL3025
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -f http://localhost:8080/health || exit 1
CMD ["openwan", "serve", "--host", "0.0.0.0", "--port", "8080", "--metrics-port", "9090"]
