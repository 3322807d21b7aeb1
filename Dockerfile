# syntax=docker/dockerfile:1.7
# One image for every finsync process; the command picks which:
#   API:               uvicorn src.api.app:app --host 0.0.0.0 --port 8000      (the default)
#   Dagster webserver: dagster-webserver -h 0.0.0.0 -p 3001 -w workspace.yaml
#   Dagster daemon:    dagster-daemon run -w workspace.yaml
#   Migrations:        finsync migrate
# Production runs set DATABASE_URL (no embedded PostgreSQL in containers), JWT_SECRET, FINSYNC_SECRET_KEY and
# FINSYNC_ENV=production;
# docker-compose.yml runs all four with the environment each needs.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# Dependencies first, from the lock file alone, so that code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
COPY migrations ./migrations
COPY alembic.ini workspace.yaml ./
RUN uv sync --frozen --no-dev

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN groupadd --system finsync && useradd --system --gid finsync --home-dir /app --shell /usr/sbin/nologin finsync
WORKDIR /app
COPY --from=build --chown=finsync:finsync /app /app
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    FINSYNC_DATA_DIR=/app/.data \
    DAGSTER_HOME=/app/.data/dagster
# The production Dagster instance ships in the image, so a new image brings its dagster.yaml with it. Dagster
# writes compute logs and artifacts to $DAGSTER_HOME/storage, which docker-compose.yml mounts as a volume; it is
# created here so that a new volume starts out owned by finsync.
COPY --chown=finsync:finsync deploy/dagster.yaml /app/.data/dagster/dagster.yaml
RUN mkdir -p /app/.data/dagster/storage && chown -R finsync:finsync /app/.data
USER finsync
EXPOSE 8000 3001
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)" || exit 1
CMD ["uvicorn", "src.api.app:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
