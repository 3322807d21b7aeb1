"""The unit of work commits when its block ends and rolls back when the block raises."""

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from src.db import unit_of_work
from src.models import User


class TestUnitOfWork:
    def test_commits_on_success_and_rolls_back_on_error(self, isolated_database_url: str) -> None:
        engine = create_engine(isolated_database_url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        try:
            with unit_of_work(factory) as session:
                session.add(User(email="kept@example.com", password_hash="x"))

            def crash_half_way() -> None:
                with unit_of_work(factory) as session:
                    session.add(User(email="lost@example.com", password_hash="x"))
                    session.flush()
                    raise RuntimeError("crash half-way")

            with pytest.raises(RuntimeError):
                crash_half_way()

            with factory() as session:
                emails = session.scalars(select(User.email).order_by(User.email)).all()
                assert emails == ["kept@example.com"]
                assert session.scalar(select(func.count()).select_from(User)) == 1
        finally:
            engine.dispose()
