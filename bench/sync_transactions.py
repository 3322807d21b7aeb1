"""Raw → unified transactions at scale, for each provider, beside COPY of the same rows into a table of the same shape.

1,000 accounts × 1,000 transactions (5 % pending, 2 % without bank ids) are written raw twice: as GoCardless rows
(`gc_*`) and as Enable Banking rows (`eb_*`), the same amounts, dates, texts and counterparties in each provider's
payload shape (issue 13: Enable Banking's throughput beside GoCardless's). Every account is then synced (one unit of
work each, as the sync asset does) through the shared derivation with its provider's source: the initial sync, then
a re-sync of unchanged data. The two providers' accounts take turns, on the same database, engine and pool, so both
meet the same table sizes, cache and load from neighbours on the machine; each provider's time is the sum of its
own syncs. The unified rows both produce are compared, so the two figures are about the same work. The baseline
COPYs all the unified rows into `LIKE transactions INCLUDING ALL` (same columns, generated column, indexes and
constraints; it grows to the same size as `transactions` did), through the same engine and pool.
Targets: initial sync ≥ 0.25 × COPY's rate; re-sync ≥ 3 × faster than the initial sync.
"""

import io
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from src.db import unit_of_work
from src.db.engine import build_engine
from src.ingest.enablebanking.transactions import ENABLEBANKING
from src.ingest.keys import enablebanking_fingerprint, fingerprint
from src.ingest.transactions import GOCARDLESS, RawTransactionSource, sync_account_transactions

NAMES = ["Café Zürich", "Żabka", "Grocer & Sons", "Streamly", "Fuel Station 24", "Łódź Books", "Acme Payroll"]
USER = "00000000-0000-0000-0000-000000000001"
GC_CONNECTION, EB_CONNECTION = "00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003"
SEED = 7


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


def _enablebanking_payload(gc: dict[str, Any], pending: bool) -> dict[str, object]:
    """The same transaction as Enable Banking shows it: a magnitude with CRDT/DBIT, the text as a list, the
    counterparty as an object; GoCardless's two ids become `transaction_id` and `entry_reference` (Enable Banking
    has no internal id)."""
    amount: str = gc["transactionAmount"]["amount"]
    debit = amount.startswith("-")
    payload: dict[str, object] = {}
    if "internalTransactionId" in gc:
        payload["entry_reference"] = gc["internalTransactionId"]
    if "transactionId" in gc:
        payload["transaction_id"] = gc["transactionId"]
    payload["transaction_amount"] = {"currency": gc["transactionAmount"]["currency"], "amount": amount.lstrip("-")}
    payload["credit_debit_indicator"] = "DBIT" if debit else "CRDT"
    payload["status"] = "PDNG" if pending else "BOOK"
    if "bookingDate" in gc:
        payload["booking_date"] = gc["bookingDate"]
    payload["value_date"] = gc["valueDate"]
    payload["creditor" if debit else "debtor"] = {"name": gc["creditorName" if debit else "debtorName"]}
    payload["bank_transaction_code"] = {"code": gc["bankTransactionCode"]}
    payload["remittance_information"] = [gc["remittanceInformationUnstructured"]]
    return payload


def _seeded(accounts: int) -> tuple[random.Random, list[uuid.UUID]]:
    """The generator, and GoCardless's account ids drawn from it first (as this benchmark always has)."""
    rng = random.Random(SEED)
    return rng, [uuid.UUID(int=rng.getrandbits(128)) for _ in range(accounts)]


def _items(rng: random.Random, accounts: int, per_account: int) -> Iterator[tuple[int, int, bool, dict[str, Any]]]:
    """(account index, n, pending, GoCardless payload): the same sequence for every provider."""
    for index in range(accounts):
        for n in range(per_account):
            pending = rng.random() < 0.05
            no_ids = rng.random() < 0.02
            yield index, n, pending, _payload(rng, index, n, pending, no_ids)


def _gc_line(index: int, n: int, pending: bool, payload: dict[str, Any]) -> str:
    status = "pending" if pending else "booked"
    fp = fingerprint(status, payload)
    line = json.dumps(payload, ensure_ascii=False).replace("\\", "\\\\")
    return f"gc-{index}\t{fp}.{n}\t{status}\t{fp}\t{line}\n"


def _eb_line(index: int, n: int, pending: bool, gc: dict[str, Any]) -> str:
    payload = _enablebanking_payload(gc, pending)
    status = str(payload["status"])
    fp = enablebanking_fingerprint(status, payload)
    line = json.dumps(payload, ensure_ascii=False).replace("\\", "\\\\")
    return f"eb-{index}\t{fp}.{n}\t{status}\t{fp}\t{line}\n"


def _copy_raw(
    engine: Engine, statement: str, accounts: int, per_account: int, line: Callable[[int, int, bool, Any], str]
) -> None:
    rng, _ = _seeded(accounts)
    raw_connection = engine.raw_connection()
    try:
        cursor = raw_connection.cursor()
        with cursor.copy(statement) as copy:
            chunk: list[str] = []
            for index, n, pending, payload in _items(rng, accounts, per_account):
                chunk.append(line(index, n, pending, payload))
                if len(chunk) >= 10_000:
                    copy.write("".join(chunk))
                    chunk.clear()
            copy.write("".join(chunk))
        raw_connection.commit()
    finally:
        raw_connection.close()


def load_raw(engine: Engine, accounts: int, per_account: int) -> list[uuid.UUID]:
    """A user, a GoCardless connection, accounts and raw transactions, written with COPY (setup, not measured)."""
    _, account_ids = _seeded(accounts)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:u, 'bench@example.com', 'x')"), {"u": USER}
        )
        connection.execute(text("INSERT INTO institutions (id, name) VALUES ('BENCH', 'Bench Bank')"))
        connection.execute(
            text(
                "INSERT INTO connections (id, user_id, institution_id, status, requisition_id) "
                "VALUES (:c, :u, 'BENCH', 'active', 'req')"
            ),
            {"c": GC_CONNECTION, "u": USER},
        )
        connection.execute(
            text(
                "INSERT INTO gc_requisitions (id, connection_id, reference, status, payload) "
                "VALUES ('req', :c, 'req', 'LN', '{}')"
            ),
            {"c": GC_CONNECTION},
        )
        connection.execute(
            text(
                "INSERT INTO accounts (id, connection_id, provider_id, currency, status) "
                "SELECT a, :c, 'gc-' || (n - 1), 'EUR', 'active' "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS x(a, n)"
            ),
            {"c": GC_CONNECTION, "ids": account_ids},
        )
        connection.execute(
            text(
                "INSERT INTO gc_accounts (id, requisition_id, account_id) "
                "SELECT provider_id, 'req', id FROM accounts WHERE connection_id = :c"
            ),
            {"c": GC_CONNECTION},
        )
    statement = "COPY gc_transactions (gc_account_id, transaction_key, status, fingerprint, payload) FROM STDIN"
    _copy_raw(engine, statement, accounts, per_account, _gc_line)
    return account_ids


def load_raw_enablebanking(engine: Engine, accounts: int, per_account: int) -> list[uuid.UUID]:
    """The same transactions as Enable Banking raw rows: an Enable Banking bank, connection and session, one
    `eb_accounts` uid per unified account (setup, not measured). Call after `load_raw` (the user is shared)."""
    account_ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"finsync-bench:eb:{n}") for n in range(accounts)]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO institutions (id, provider, name) "
                "VALUES ('ENABLEBANKING-BENCH', 'enablebanking', 'Bench Bank')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO connections (id, user_id, provider, institution_id, status) "
                "VALUES (:c, :u, 'enablebanking', 'ENABLEBANKING-BENCH', 'active')"
            ),
            {"c": EB_CONNECTION, "u": USER},
        )
        connection.execute(
            text("INSERT INTO eb_sessions (id, connection_id, status, payload) VALUES ('ses', :c, 'AUTHORIZED', '{}')"),
            {"c": EB_CONNECTION},
        )
        connection.execute(
            text(
                "INSERT INTO accounts (id, connection_id, provider, provider_id, currency, status) "
                "SELECT a, :c, 'enablebanking', 'eb-' || (n - 1), 'EUR', 'active' "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS x(a, n)"
            ),
            {"c": EB_CONNECTION, "ids": account_ids},
        )
        connection.execute(
            text(
                "INSERT INTO eb_accounts (uid, session_id, account_id, identification_hash, payload) "
                "SELECT provider_id, 'ses', id, 'hash-' || provider_id, '{}' FROM accounts WHERE connection_id = :c"
            ),
            {"c": EB_CONNECTION},
        )
    statement = "COPY eb_transactions (eb_account_uid, transaction_key, status, fingerprint, payload) FROM STDIN"
    _copy_raw(engine, statement, accounts, per_account, _eb_line)
    return account_ids


def sync_all(engine: Engine, runs: Sequence[tuple[list[uuid.UUID], RawTransactionSource]]) -> list[tuple[float, int]]:
    """Sync every account of every run, one unit of work each, interleaved: the n-th account of each provider in
    turn (which provider goes first alternates), so that both meet the same table sizes, cache and neighbours'
    load. Returns each run's (seconds spent in its own syncs, rows new or updated)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    seconds, touched = [0.0] * len(runs), [0] * len(runs)
    for n in range(max(len(account_ids) for account_ids, _ in runs)):
        order = range(len(runs)) if n % 2 == 0 else reversed(range(len(runs)))
        for which in order:
            account_ids, source = runs[which]
            if n >= len(account_ids):
                continue
            started = time.perf_counter()
            with unit_of_work(factory) as session:
                counts = sync_account_transactions(session, account_ids[n], source)
            seconds[which] += time.perf_counter() - started
            touched[which] += counts.new + counts.updated
    return list(zip(seconds, touched, strict=True))


def _settle(engine: Engine) -> None:
    """A settled start for the timed syncs: hint bits and statistics fresh, the load's dirty pages written out."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))


def _unified_digest(engine: Engine, connection_id: str) -> tuple[int, str]:
    """Row count and an order-independent digest of the unified rows of one connection, leaving out what is
    provider-specific by design (account, key, fingerprint, source hash, which id slot a bank id lands in)."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), coalesce(sum(('x' || substr(md5(concat_ws('|', split_part(a.provider_id, '-', 2), "
                "t.status, t.booking_date, t.value_date, t.date_is_estimated, t.amount, t.currency, t.description, "
                "t.counterparty_name, t.counterparty_account, t.transaction_id, "
                "coalesce(t.internal_transaction_id, t.entry_reference), t.booked_as_id IS NULL)), 1, 15))"
                "::bit(60)::bigint), 0) "
                "FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.connection_id = :c"
            ),
            {"c": connection_id},
        ).one()
    return int(row[0]), str(row[1])


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
        gc_accounts = load_raw(engine, accounts, per_account)
        eb_accounts = load_raw_enablebanking(engine, accounts, per_account)
        runs = [(gc_accounts, GOCARDLESS), (eb_accounts, ENABLEBANKING)]
        _settle(engine)
        initial = sync_all(engine, runs)
        resync = sync_all(engine, runs)
        gc_digest = _unified_digest(engine, GC_CONNECTION)
        eb_digest = _unified_digest(engine, EB_CONNECTION)
        copy_seconds, copy_rows = copy_baseline(engine)
    finally:
        engine.dispose()
    copy_rate = copy_rows / copy_seconds
    gc, eb = (
        {
            "initial_rows": float(rows),
            "initial_seconds": seconds,
            "initial_rows_per_s": rows / seconds,
            "resync_seconds": again_seconds,
            "resync_rows_per_s": rows / again_seconds,
            "resync_changed_rows": float(changed),
        }
        for (seconds, rows), (again_seconds, changed) in zip(initial, resync, strict=True)
    )
    return {
        "rows": gc["initial_rows"],
        "initial_rows_per_s": gc["initial_rows_per_s"],
        "copy_rows_per_s": copy_rate,
        "initial_vs_copy": gc["initial_rows_per_s"] / copy_rate,
        "initial_seconds": gc["initial_seconds"],
        "resync_seconds": gc["resync_seconds"],
        "resync_rows_per_s": gc["resync_rows_per_s"],
        "resync_changed_rows": gc["resync_changed_rows"],
        "resync_speedup": gc["initial_seconds"] / gc["resync_seconds"],
        "eb_rows": eb["initial_rows"],
        "eb_initial_rows_per_s": eb["initial_rows_per_s"],
        "eb_initial_seconds": eb["initial_seconds"],
        "eb_resync_seconds": eb["resync_seconds"],
        "eb_resync_rows_per_s": eb["resync_rows_per_s"],
        "eb_resync_changed_rows": eb["resync_changed_rows"],
        "eb_initial_vs_copy": eb["initial_rows_per_s"] / copy_rate,
        "eb_resync_speedup": eb["initial_seconds"] / eb["resync_seconds"],
        "eb_vs_gc_initial": eb["initial_rows_per_s"] / gc["initial_rows_per_s"],
        "eb_vs_gc_resync": eb["resync_rows_per_s"] / gc["resync_rows_per_s"],
        "same_unified_rows": float(gc_digest == eb_digest),
    }
