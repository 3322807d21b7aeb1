"""Factories: plain functions with defaults that add rows through the given session and flush.

Each takes what it depends on as an optional keyword and creates it when missing, so a test states only what
matters to it.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from src.models import Account, Connection, Institution, Transaction, User
from src.models.enums import AccountStatus, ConnectionStatus, TransactionStatus

SANDBOX_INSTITUTION_ID = "SANDBOXFINANCE_SFIN0000"


def create_user(session: Session, *, email: str | None = None, password_hash: str = "not-a-real-hash") -> User:
    user = User(email=email or f"user-{uuid.uuid4().hex[:10]}@example.com", password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def create_institution(
    session: Session,
    *,
    institution_id: str = SANDBOX_INSTITUTION_ID,
    name: str = "Sandbox Finance",
    countries: list[str] | None = None,
) -> Institution:
    existing = session.get(Institution, institution_id)
    if existing is not None:
        return existing
    institution = Institution(
        id=institution_id,
        name=name,
        bic="SFIN0000",
        countries=countries or ["GB"],
        transaction_total_days=730,
        max_access_valid_for_days=180,
    )
    session.add(institution)
    session.flush()
    return institution


def create_connection(
    session: Session,
    *,
    user: User | None = None,
    institution: Institution | None = None,
    status: ConnectionStatus = ConnectionStatus.active,
    friendly_name: str | None = "My bank",
    expires_at: datetime | None = None,
) -> Connection:
    user = user or create_user(session)
    institution = institution or create_institution(session)
    connection = Connection(
        user_id=user.id,
        institution_id=institution.id,
        friendly_name=friendly_name,
        status=status,
        requisition_id=str(uuid.uuid4()),
        expires_at=expires_at or datetime.now(UTC) + timedelta(days=90),
    )
    session.add(connection)
    session.flush()
    return connection


def create_account(
    session: Session,
    *,
    connection: Connection | None = None,
    iban: str | None = None,
    currency: str = "EUR",
    status: AccountStatus = AccountStatus.active,
    balance_amount: Decimal | None = Decimal("1000.00"),
) -> Account:
    connection = connection or create_connection(session)
    account = Account(
        connection_id=connection.id,
        provider_id=str(uuid.uuid4()),
        iban=iban or f"GB{uuid.uuid4().int % 10**20:020d}",
        name="Main Account",
        currency=currency,
        status=status,
        balance_amount=balance_amount,
        balance_currency=currency if balance_amount is not None else None,
        balance_type="closingBooked" if balance_amount is not None else None,
    )
    session.add(account)
    session.flush()
    return account


def create_transaction(
    session: Session,
    *,
    account: Account | None = None,
    amount: Decimal = Decimal("-12.34"),
    booking_date: date | None = None,
    status: TransactionStatus = TransactionStatus.booked,
    description: str = "Card payment",
    counterparty_name: str | None = "Corner Shop",
    transaction_key: str | None = None,
) -> Transaction:
    account = account or create_account(session)
    transaction = Transaction(
        account_id=account.id,
        transaction_key=transaction_key or f"test:{uuid.uuid4().hex}",
        fingerprint=uuid.uuid4().hex,
        status=status,
        booking_date=booking_date or date.today(),
        amount=amount,
        currency=account.currency or "EUR",
        description=description,
        counterparty_name=counterparty_name,
    )
    session.add(transaction)
    session.flush()
    return transaction


def create_user_with_password(
    session: Session, *, email: str | None = None, password: str = "correct horse battery"
) -> User:
    """A user who can sign in with `password` (hashed with the test run's cheap Argon2 parameters)."""
    from src.auth.passwords import hash_password

    return create_user(session, email=email, password_hash=hash_password(password))


def auth_headers(user: User) -> dict[str, str]:
    """A valid bearer header for `user`, without going through `/auth/token`."""
    from src.auth.tokens import create_access_token

    return {"Authorization": f"Bearer {create_access_token(user.id)}"}
