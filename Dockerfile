# One image recipe for the four Aduan services and the desk; the build argument SERVICE picks which one.
# The build context is the repository root (the uv workspace):
#
#   docker build --build-arg SERVICE=intake -t aduan-intake .
#   docker build --build-arg SERVICE=routing \
#       --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#       --build-arg SOURCE_URL=https://example.org/aduan.git -t aduan-routing .
#
# The image holds the service's locked runtime dependencies only (`uv sync --no-dev --package
# aduan-<SERVICE>`): no test or lint tools, no developer tooling (aduan-devtools: the `aduan` command, nats-server).
#
# Ports (a single file cannot EXPOSE per service; the chart declares them on the containers):
#   aduan-intake        gRPC 50051, WhatsApp webhook 8081 (ADUAN_WEBHOOK_PORT), metrics 9464
#   aduan-routing       gRPC 50052, metrics 9464
#   aduan-notification  gRPC 50053, metrics 9464
#   aduan-query         gRPC 50054, metrics 9464
#   aduan-desk          HTTP 8090 (ADUAN_DESK_PORT; set ADUAN_DESK_HOST=0.0.0.0), metrics 9464
# gRPC ports are the services' defaults (ADUAN_GRPC_PORT overrides); the metrics port is 9464 in
# every image (ADUAN_METRICS_PORT below); with TLS, ADUAN_HEALTH_PORT adds a plaintext health port.
#
# Runs as uid/gid 10001 (numeric, so Kubernetes runAsNonRoot can verify it). Under OpenShift's
# arbitrary uid (gid 0) it works too: /data, the only path written, belongs to group 0 and is
# group-writable; everything else is read-only.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG SERVICE=intake

# ---- builder: resolve the service's locked dependencies into /app/.venv ----
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ARG UV_VERSION=0.13.8
RUN case "${SERVICE}" in \
        intake|routing|notification|query|desk) ;; \
        *) echo "SERVICE must be intake, routing, notification, query or desk, not '${SERVICE}'" >&2; exit 1 ;; \
    esac \
    && pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# Only the workspace metadata first: this layer is reused until a pyproject.toml or uv.lock changes.
# Every member's pyproject.toml is needed for uv to read the workspace lock.
COPY pyproject.toml uv.lock ./
COPY libs/aduan-platform/pyproject.toml libs/aduan-platform/
COPY libs/aduan-devtools/pyproject.toml libs/aduan-devtools/
COPY services/intake/pyproject.toml services/intake/
COPY services/routing/pyproject.toml services/routing/
COPY services/notification/pyproject.toml services/notification/
COPY services/query/pyproject.toml services/query/
COPY services/desk/pyproject.toml services/desk/
RUN uv sync --frozen --no-dev --no-install-workspace --package "aduan-${SERVICE}"

# Then the sources: the shared library and this service, installed into the venv (not editable).
COPY libs/aduan-platform/ libs/aduan-platform/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN uv sync --frozen --no-dev --no-editable --package "aduan-${SERVICE}"

# ---- runtime: the venv only, no build tools, non-root ----
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    ADUAN_GRPC_HOST=0.0.0.0 \
    ADUAN_METRICS_HOST=0.0.0.0 \
    ADUAN_METRICS_PORT=9464 \
    ADUAN_DATA_DIR=/data
RUN groupadd --system --gid 10001 aduan \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin aduan \
    && mkdir -p /data \
    && chown 10001:0 /data \
    && chmod 0775 /data
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
# The entrypoint is the chosen service's console script, linked at build time (no shell at run time).
RUN ln -s "/app/.venv/bin/aduan-${SERVICE}" /app/entrypoint \
    && test -x /app/entrypoint

# Labels last: a new revision does not invalidate the layers above.
ARG VERSION=0.1.0
ARG REVISION=
ARG SOURCE_URL=
LABEL org.opencontainers.image.title="aduan-${SERVICE}" \
      org.opencontainers.image.description="Aduan ${SERVICE} service: complaint ticketing for the ATR/BPN public hotline" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["/app/entrypoint"]
