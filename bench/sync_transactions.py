"""Raw → unified transactions at scale, beside COPY of the same rows into a table of the same shape.

1,000 accounts × 1,000 transactions (5 % pending, 2 % without bank ids) are written raw, then synced per account
(one unit of work each, as the sync asset does): the initial sync, then a re-sync of unchanged data. The baseline
COPYs the same unified rows into `LIKE transactions INCLUDING ALL` (same columns, generated column, indexes and
constraints), through the same engine and pool.
Targets: initial sync ≥ 0.25 × COPY's rate; re-sync ≥ 3 × faster than the initial sync.
"""

import io
import json
import random
import time
import uuid
from datetime import date, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from src.db import unit_of_work
from src.db.engine import build_engine
from src.ingest.keys import fingerprint
from src.ingest.transactions import sync_account_transactions

NAMES = ["Café Zürich", "Żabka", "Grocer & Sons", "Streamly", "Fuel Station 24", "Łódź Books", "Acme Payroll"]


def _payload(rng: random.Random, account: int, n: int, pending: bool, no_ids: bool) -> dict[str, object]:
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 1000))
    amount = f"{rng.choice((-1, -1, -1, 1)) * rng.randrange(100, 50_000) / 100:.2f}"
    name = rng.choice(NAMES)
    payload: dict[str, object] = {
        "valueDate": day.isoformat(),
        "transactionAmount": {"amount": amount, "currency": "EUR"},
        "remittanceInformationUnstructured": f"Payment {n} {name}",
        "bankTransactionCode": "PMNT",
    }
    payload["creditorName" if amount.startswith("-") else "debtorName"] = name
    if not pending:
        payload["bookingDate"] = (day + timedelta(days=rng.randrange(0, 3))).isoformat()
        if not no_ids:
            payload["transactionId"] = f"{account:04d}-{n:06d}"
            payload["internalTransactionId"] = uuid.UUID(int=rng.getrandbits(128)).hex
    return payload


def load_raw(engine: Engine, accounts: int, per_account: int) -> list[uuid.UUID]:
    """A user, a connection, accounts and raw transactions, written with COPY (setup, not measured)."""
    rng = random.Random(7)
    account_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(accounts)]
    user, connection_id = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:u, 'bench@example.com', 'x')"), {"u": user}
        )
        connection.execute(text("INSERT INTO institutions (id, name) VALUES ('BENCH', 'Bench Bank')"))
        connection.execute(
            text(
                "INSERT INTO connections (id, user_id, institution_id, status, requisition_id) "
                "VALUES (:c, :u, 'BENCH', 'active', 'req')"
            ),
            {"c": connection_id, "u": user},
        )
        connection.execute(
            text(
                "INSERT INTO gc_requisitions (id, connection_id, reference, status, payload) "
                "VALUES ('req', :c, 'req', 'LN', '{}')"
            ),
            {"c": connection_id},
        )
        connection.execute(
            text(
                "INSERT INTO accounts (id, connection_id, provider_id, currency, status) "
                "SELECT a, :c, 'gc-' || (n - 1), 'EUR', 'active' "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS x(a, n)"
            ),
            {"c": connection_id, "ids": account_ids},
        )
        connection.execute(
            text("INSERT INTO gc_accounts (id, requisition_id, account_id) SELECT provider_id, 'req', id FROM accounts")
        )
    buffer = io.StringIO()
    for index in range(accounts):
        for n in range(per_account):
            pending = rng.random() < 0.05
            no_ids = rng.random() < 0.02
            payload = _payload(rng, index, n, pending, no_ids)
            status = "pending" if pending else "booked"
            fp = fingerprint(status, payload)
            line = json.dumps(payload, ensure_ascii=False).replace("\\", "\\\\")
            buffer.write(f"gc-{index}\t{fp}.{n}\t{status}\t{fp}\t{line}\n")
    raw_connection = engine.raw_connection()
    try:
        cursor = raw_connection.cursor()
        statement = "COPY gc_transactions (gc_account_id, transaction_key, status, fingerprint, payload) FROM STDIN"
        with cursor.copy(statement) as copy:
            copy.write(buffer.getvalue())
        raw_connection.commit()
    finally:
        raw_connection.close()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return account_ids


def sync_all(engine: Engine, account_ids: list[uuid.UUID]) -> tuple[float, int]:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.perf_counter()
    touched = 0
    for account_id in account_ids:
        with unit_of_work(factory) as session:
            counts = sync_account_transactions(session, account_id)
            touched += counts.new + counts.updated
    return time.perf_counter() - started, touched


def copy_baseline(engine: Engine) -> tuple[float, int]:
    """COPY the unified rows the sync produced into an identically shaped and indexed table."""
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS copy_target"))
        connection.execute(text("CREATE TABLE copy_target (LIKE transactions INCLUDING ALL)"))
    columns = (
        "account_id, transaction_key, transaction_id, internal_transaction_id, entry_reference, fingerprint, status, "
        "booking_date, value_date, date_is_estimated, amount, currency, description, counterparty_name, "
        "counterparty_account, source_hash"
    )
    raw_connection = engine.raw_connection()
    try:
        cursor = raw_connection.cursor()
        data = io.BytesIO()
        with cursor.copy(f"COPY (SELECT {columns} FROM transactions ORDER BY id) TO STDOUT") as copy:
            for chunk in copy:
                data.write(chunk)
        raw_connection.commit()
        payload = data.getvalue()
        rows = payload.count(b"\n")
        started = time.perf_counter()
        with cursor.copy(f"COPY copy_target ({columns}) FROM STDIN") as copy:
            copy.write(payload)
        raw_connection.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw_connection.close()
    return elapsed, rows


def run(url: str, *, accounts: int = 1000, per_account: int = 1000) -> dict[str, float]:
    engine = build_engine(url)
    try:
        account_ids = load_raw(engine, accounts, per_account)
        initial_seconds, initial_rows = sync_all(engine, account_ids)
        resync_seconds, resync_rows = sync_all(engine, account_ids)
        copy_seconds, copy_rows = copy_baseline(engine)
    finally:
        engine.dispose()
    initial_rate = initial_rows / initial_seconds
    copy_rate = copy_rows / copy_seconds
    return {
        "rows": float(initial_rows),
        "initial_rows_per_s": initial_rate,
        "copy_rows_per_s": copy_rate,
        "initial_vs_copy": initial_rate / copy_rate,
        "initial_seconds": initial_seconds,
        "resync_seconds": resync_seconds,
        "resync_changed_rows": float(resync_rows),
        "resync_speedup": initial_seconds / resync_seconds,
    }
