"""Alembic environment: the URL comes from Settings (or a connection handed over in `config.attributes`)."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from src.db.engine import build_engine
from src.models import Base
from src.settings import settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_with_connection(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes.get("url") or settings.database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with_connection(connection)
        return
    url = config.attributes.get("url") or settings.database_url
    if url is None:
        from src.db.engine import DatabaseNotConfiguredError

        raise DatabaseNotConfiguredError()
    engine = build_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            run_with_connection(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
