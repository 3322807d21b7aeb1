"""Database plumbing: engine and sessions, the unit of work, the embedded server, the naming convention."""

from src.db.engine import DatabaseNotConfiguredError, dispose_engine, get_engine, get_sessionmaker
from src.db.unit_of_work import unit_of_work

__all__ = [
    "DatabaseNotConfiguredError",
    "dispose_engine",
    "get_engine",
    "get_sessionmaker",
    "unit_of_work",
]
