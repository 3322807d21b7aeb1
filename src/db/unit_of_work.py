"""The unit of work: the one owner of `commit`.

The API's session dependency and the sync assets' per-account work both use it, so both follow one rule: commit
when the block ends normally, roll back when it raises. Services and helpers only flush.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from src.db.engine import get_sessionmaker


@contextmanager
def unit_of_work(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    session = (factory or get_sessionmaker())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
