"""Rules the database itself enforces, as a user of the API would meet them."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from src.models import Job, Transaction
from src.models.enums import JobEntityType, JobStatus, JobType
from tests.factories import create_account, create_connection, create_transaction, create_user


def _sync_job(session: Session, connection_id: object, user_id: object, status: JobStatus) -> Job:
    job = Job(
        user_id=user_id,
        job_type=JobType.sync,
        entity_type=JobEntityType.connection,
        entity_id=connection_id,
        status=status,
    )
    session.add(job)
    session.flush()
    return job


class TestUsers:
    def test_email_is_unique_whatever_its_case(self, db_session: Session) -> None:
        create_user(db_session, email="Ada@Example.com")
        with pytest.raises(IntegrityError), db_session.begin_nested():
            create_user(db_session, email="ada@example.COM")


class TestJobs:
    def test_one_unfinished_sync_job_per_connection(self, db_session: Session) -> None:
        connection = create_connection(db_session)
        _sync_job(db_session, connection.id, connection.user_id, JobStatus.running)
        with pytest.raises(IntegrityError), db_session.begin_nested():
            _sync_job(db_session, connection.id, connection.user_id, JobStatus.pending)

    def test_finished_jobs_do_not_block_a_new_one(self, db_session: Session) -> None:
        connection = create_connection(db_session)
        for status in (JobStatus.completed, JobStatus.failed, JobStatus.canceled):
            _sync_job(db_session, connection.id, connection.user_id, status)
        _sync_job(db_session, connection.id, connection.user_id, JobStatus.pending)
        other = create_connection(db_session)
        _sync_job(db_session, other.id, other.user_id, JobStatus.pending)

    def test_status_outside_the_enum_is_refused_by_the_database(self, db_session: Session) -> None:
        connection = create_connection(db_session)
        job = _sync_job(db_session, connection.id, connection.user_id, JobStatus.pending)
        with pytest.raises(IntegrityError), db_session.begin_nested():
            db_session.execute(text("UPDATE jobs SET status = 'exploded' WHERE id = :id"), {"id": job.id})


class TestTransactions:
    def test_amounts_are_kept_to_the_cent_and_beyond(self, db_session: Session) -> None:
        account = create_account(db_session)
        amounts = [Decimal("-0.01"), Decimal("1234567890123.45"), Decimal("0.001"), Decimal("-15.00")]
        for amount in amounts:
            create_transaction(db_session, account=account, amount=amount)
        db_session.expire_all()
        stored = db_session.scalars(select(Transaction.amount).where(Transaction.account_id == account.id)).all()
        assert sorted(stored) == sorted(amounts)
        total = db_session.execute(
            text("SELECT sum(amount) FROM transactions WHERE account_id = :id"), {"id": account.id}
        ).scalar_one()
        assert total == sum(amounts)

    def test_transaction_key_is_unique_per_account_only(self, db_session: Session) -> None:
        first, second = create_account(db_session), create_account(db_session)
        create_transaction(db_session, account=first, transaction_key="tid:1")
        create_transaction(db_session, account=second, transaction_key="tid:1")
        with pytest.raises(IntegrityError), db_session.begin_nested():
            create_transaction(db_session, account=first, transaction_key="tid:1")

    def test_full_text_search_finds_description_and_counterparty(self, db_session: Session) -> None:
        account = create_account(db_session)
        create_transaction(db_session, account=account, description="Grocery run", counterparty_name="Żabka Café")
        create_transaction(db_session, account=account, description="Rent", counterparty_name="Landlord")
        query = text(
            "SELECT description FROM transactions WHERE account_id = :id "
            "AND search_vector @@ plainto_tsquery('simple', :q)"
        )
        # The stored vector holds the words with their accents folded (src/models/transactions.py, `folded_sql`).
        assert db_session.execute(query, {"id": account.id, "q": "zabka cafe"}).scalars().all() == ["Grocery run"]
        assert db_session.execute(query, {"id": account.id, "q": "żabka"}).scalars().all() == []
        assert db_session.execute(query, {"id": account.id, "q": "rent"}).scalars().all() == ["Rent"]

    def test_times_are_timezone_aware(self, db_session: Session) -> None:
        transaction = create_transaction(db_session, booking_date=date(2026, 1, 2))
        db_session.refresh(transaction)
        assert transaction.created_at.tzinfo is not None

    def test_deleting_a_connection_removes_everything_under_it(self, db_session: Session) -> None:
        account = create_account(db_session)
        create_transaction(db_session, account=account)
        db_session.execute(text("DELETE FROM connections WHERE id = :id"), {"id": account.connection_id})
        remaining = db_session.execute(
            text("SELECT count(*) FROM transactions WHERE account_id = :id"), {"id": account.id}
        ).scalar_one()
        assert remaining == 0
