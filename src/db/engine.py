"""One engine per process, built on first use from Settings.

The engine is created lazily so that importing the API, `defs` or the Dagster client needs no database; a
missing `DATABASE_URL` is reported at the first connection with one line saying what to do.
"""

from functools import cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from src.settings import settings

NO_DATABASE_MESSAGE = (
    "no database configured: start the stack with `make dev`, or set DATABASE_URL=postgresql://user:pass@host/db"
)


class DatabaseNotConfiguredError(RuntimeError):
    """Raised at the first connection when no `DATABASE_URL` is set."""

    def __init__(self) -> None:
        super().__init__(NO_DATABASE_MESSAGE)


def build_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """An engine with the pool every finsync process uses.

    `pool_pre_ping` survives a database restart under a long-lived API or Dagster process; the connect timeout
    keeps a dead server from hanging a request or a health check for minutes. Every session runs in UTC, whatever
    the server's or the database's default: the SQL's day arithmetic (`::date`, `make_interval(days => …)`) then
    means UTC days, as finsync's times are UTC (an `options` the URL already carries is kept).
    """
    parsed = make_url(url)
    options = " ".join(filter(None, [str(parsed.query.get("options", "")), "-c TimeZone=UTC"]))
    return create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,  # bound values (the bank callback's reference, a capability) stay out of errors and logs
        connect_args={"connect_timeout": 5, "application_name": "finsync", "options": options},
    )


@cache
def get_engine() -> Engine:
    if settings.database_url is None:
        raise DatabaseNotConfiguredError()
    return build_engine(settings.database_url)


@cache
def get_sessionmaker() -> sessionmaker[Session]:
    # expire_on_commit=False: objects returned by a committed unit of work stay readable (serialisable).
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def dispose_engine() -> None:
    """Close pooled connections (process shutdown, or after a fork)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_sessionmaker.cache_clear()
    get_engine.cache_clear()
