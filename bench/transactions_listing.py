"""Transaction listing latency: `GET /api/transactions` shapes over one user's 100 accounts and 1,000,000 rows.

The rows are written with COPY in booking-date order (as daily syncs would add them), over about three years,
with skewed per-account activity, a Zipf-like spread of counterparties (some of them non-ASCII) and the usual
status mix (pending only in the last few days, older pending rows superseded by their booked successor, a few
void), then ANALYZEd and VACUUMed (as autovacuum would have done by then).

Measured through the real service function (`transaction_service.list`, the call the endpoint makes, each call
in its own unit of work on an engine built as the application builds it), so the figures are the database work
plus the ORM and cursor handling, without HTTP, authentication and JSON. Four shapes, each on the first page and
on a page 5,000 rows deep (reached by following cursors, then requested again and again with that cursor); p50
and p95 over `requests` calls of 50 rows, after a few warm-up calls (a server's connections are warm: statements
prepared, pages cached). The search word is a merchant found in about 1 % of the rows (at the quick scale, one
common enough for a page 5,000 rows deep). Three more searches, first page only, show the other regimes: a
rare word, two common words always found together, and two common words never found together.
Target: p95 < 20 ms for the four shapes at both depths.

Beside each shape, its summary (`transaction_service.summary`, the call `GET /api/transactions/summary` makes: the
count and the sums per currency of every row the listing holds for the same filters), measured the same way. It
visits every matching row, so it grows with the matches, not with a page: no target, figures to watch.
"""

import io
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from src.db import unit_of_work
from src.db.engine import build_engine
from src.models import Transaction, User
from src.transactions.repository import prefix_query, search_words
from src.transactions.service import TransactionFilters
from src.transactions.service import transaction as transaction_service

TARGET_MS = 20.0
# (key, label) of what is measured, for printing; the first four have the target.
SHAPES = [
    ("all", "all accounts"),
    ("one_account", "one account"),
    ("one_account_dates", "one account, 2-year date range"),
    ("search", "search"),
    ("search_rare", "search, rare word"),
    ("search_together", "search, 2 words found together"),
    ("search_never_together", "search, 2 words never together"),
]
DEPTH = 5000
PAGE = 50
TODAY = date.today()  # the history ends today, as the listing's first page expects
DAYS = 3 * 365

MERCHANTS = [
    "Tesco",
    "Żabka",
    "Café Nero",
    "Sainsbury's",
    "Amazon",
    "Uber",
    "Deliveroo",
    "Shell",
    "Netflix",
    "Spotify",
    "Lidl",
    "Aldi",
    "Boots",
    "Pret A Manger",
    "Costa Coffee",
    "Łódź Books",
    "Müller Drogerie",
    "Biedronka",
    "Carrefour",
    "Fnac",
    "IKEA",
    "Decathlon",
    "Zara",
    "H&M",
    "Apple",
    "Google",
    "Vodafone",
    "EDF Energy",
    "Thames Water",
    "Council Tax",
]
CITIES = ["London", "Kraków", "Paris", "Zürich", "Berlin", "Málaga", "Gdańsk", "Leeds", "Lyon", "København"]
KINDS = ["CARD PAYMENT TO", "Contactless", "Direct debit", "Online purchase", "Standing order", "Refund from"]
SYLLABLES = ["ka", "lo", "mi", "ren", "tor", "vi", "sa", "qu", "bel", "dor", "fen", "gra", "hol", "jin", "pra"]


def _counterparties(rng: random.Random) -> tuple[list[str], list[float]]:
    """30 well-known merchants and 400 small ones, weighted like a Zipf distribution."""
    tail = {
        " ".join(
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 4))).capitalize()
            for _ in range(rng.randrange(1, 3))
        )
        for _ in range(400)
    }
    names = [*MERCHANTS, *sorted(tail)]
    weights = [1 / (rank + 3) for rank in range(len(names))]
    return names, weights


def _setup_owner(engine: Engine, accounts: int, rng: random.Random) -> tuple[uuid.UUID, list[uuid.UUID]]:
    user_id, connection_id = uuid.uuid4(), uuid.uuid4()
    account_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(accounts)]
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:u, 'bench@example.com', 'x')"), {"u": user_id}
        )
        connection.execute(text("INSERT INTO institutions (id, name) VALUES ('BENCH', 'Bench Bank')"))
        connection.execute(
            text("INSERT INTO connections (id, user_id, institution_id, status) VALUES (:c, :u, 'BENCH', 'active')"),
            {"c": connection_id, "u": user_id},
        )
        connection.execute(
            text(
                "INSERT INTO accounts (id, connection_id, provider_id, iban, currency, status) "
                "SELECT a, :c, 'gc-' || n, 'GB' || lpad(n::text, 20, '0'), 'EUR', 'active' "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS x(a, n)"
            ),
            {"c": connection_id, "ids": account_ids},
        )
    return user_id, account_ids


def load(engine: Engine, *, accounts: int, transactions: int, seed: int = 11) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """One user, one connection, `accounts` accounts and `transactions` rows (setup, not measured)."""
    rng = random.Random(seed)
    user_id, account_ids = _setup_owner(engine, accounts, rng)
    names, weights = _counterparties(rng)
    # Skewed activity: the busiest account sees about three times as many transactions as the quietest.
    activity = [0.5 + rng.random() for _ in account_ids]
    accounts_by_row = rng.choices(range(accounts), weights=activity, k=transactions)
    counterparties = rng.choices(names, weights=weights, k=transactions)
    days = sorted(rng.randrange(DAYS) for _ in range(transactions))
    buffer = io.StringIO()
    for n in range(transactions):
        day = TODAY - timedelta(days=DAYS - 1 - days[n])
        age = (TODAY - day).days
        roll = rng.random()
        status = "pending" if (age < 4 and roll < 0.3) or roll < 0.01 else "void" if roll < 0.015 else "booked"
        counterparty = counterparties[n]
        amount = -rng.lognormvariate(3, 1.2) if rng.random() < 0.9 else rng.lognormvariate(6, 1)
        kind = rng.choice(KINDS)
        description = f"{kind} {counterparty} {rng.choice(CITIES)} ref {rng.randrange(10**6):06d}"
        account = account_ids[accounts_by_row[n]]
        buffer.write(
            f"{account}\tbench:{n}\t{n:x}\t{status}\t{day}\t{day - timedelta(days=rng.randrange(3))}\t"
            f"{amount:.2f}\tEUR\t{description}\t{counterparty}\tGB{n % 97:02d}BENCH{n:014d}\n"
        )
    columns = (
        "account_id, transaction_key, fingerprint, status, booking_date, value_date, amount, currency, "
        "description, counterparty_name, counterparty_account"
    )
    raw_connection = engine.raw_connection()
    try:
        cursor = raw_connection.cursor()
        with cursor.copy(f"COPY transactions ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        raw_connection.commit()
    finally:
        raw_connection.close()
    with engine.begin() as connection:
        # Pending rows older than a few days were booked since: link them to a booked row of the same account.
        connection.execute(
            text(
                "UPDATE transactions p SET booked_as_id = ("
                "  SELECT b.id FROM transactions b WHERE b.account_id = p.account_id AND b.status = 'booked'"
                "  AND b.booking_date >= p.booking_date ORDER BY b.booking_date, b.id LIMIT 1) "
                "WHERE p.status = 'pending' AND p.booking_date < :recent"
            ),
            {"recent": TODAY - timedelta(days=4)},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return user_id, account_ids


@dataclass(frozen=True)
class Shape:
    key: str
    filters: TransactionFilters
    depths: tuple[int, ...] = (0, DEPTH)
    requests: int | None = None  # default: run()'s


def _matches(session: Session, words: str) -> int:
    """How many rows the listing's search finds for `words` (each a prefix, accents folded, as the API searches)."""
    query = prefix_query(search_words(session, words))
    search = Transaction.search_vector.bool_op("@@")(func.to_tsquery(text("'simple'::regconfig"), query))
    return session.scalar(select(func.count()).where(search)) or 0


def _search_word(session: Session, rows: int) -> str:
    """A one-word merchant in about 1 % of the rows, and in enough of them for a page DEPTH rows deep."""
    counts = {merchant: _matches(session, merchant) for merchant in MERCHANTS if merchant.isalpha()}
    deep_enough = {m: n for m, n in counts.items() if n > DEPTH + 2 * PAGE}
    above = {m: n for m, n in deep_enough.items() if n >= max(rows // 100, 2 * DEPTH)}
    if above:
        return min(above, key=lambda m: above[m])
    return max(deep_enough, key=lambda m: deep_enough[m])


def _rare_word(session: Session) -> str:
    """A small merchant: among the rows, a few hundredths of a percent."""
    name = session.scalar(
        select(Transaction.counterparty_name)
        .where(Transaction.counterparty_name.not_in(MERCHANTS))
        .group_by(Transaction.counterparty_name)
        .order_by(func.count().desc())
        .offset(200)
        .limit(1)
    )
    return (name or "Holsa").split()[0]


def _percentiles(timings: list[float]) -> tuple[float, float]:
    return statistics.median(timings), statistics.quantiles(timings, n=20, method="inclusive")[18]


def _measure_summary(factory: sessionmaker[Session], user: User, shape: Shape, requests: int) -> tuple[float, float]:
    timings = []
    for n in range(requests + 10):
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            transaction_service.summary(session, user, filters=shape.filters)
        if n >= 10:  # warm-up calls are not counted
            timings.append((time.perf_counter() - started) * 1000)
    return _percentiles(timings)


def _measure(
    factory: sessionmaker[Session], user: User, shape: Shape, depth: int, requests: int
) -> tuple[float, float] | None:
    cursor = None
    for _ in range(depth // PAGE):
        with unit_of_work(factory) as session:
            cursor = transaction_service.list(
                session, user, filters=shape.filters, limit=PAGE, cursor=cursor
            ).next_cursor
        if cursor is None:
            return None  # not that many rows
    timings = []
    for n in range(requests + 10):
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            transaction_service.list(session, user, filters=shape.filters, limit=PAGE, cursor=cursor)
        if n >= 10:  # warm-up calls are not counted
            timings.append((time.perf_counter() - started) * 1000)
    return _percentiles(timings)


def run(url: str, *, accounts: int = 100, transactions: int = 1_000_000, requests: int = 200) -> dict[str, float | str]:
    """`{"<shape>.<depth>.p50": ms, "<shape>.<depth>.p95": ms, "<shape>.summary.p50": ms, …}`, the searches' words
    and how many rows they match, and the setup's figures; a depth a shape does not reach is absent."""
    engine = build_engine(url)
    try:
        started = time.perf_counter()
        user_id, _ = load(engine, accounts=accounts, transactions=transactions)
        load_seconds = time.perf_counter() - started
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            user = session.get_one(User, user_id)
            session.expunge(user)
            busiest = session.scalars(
                select(Transaction.account_id).group_by(Transaction.account_id).order_by(func.count().desc()).limit(1)
            ).one()
            searches = {
                "search": _search_word(session, transactions),
                "search_rare": _rare_word(session),
                "search_together": "card payment",
                "search_never_together": "London Paris",
            }
            matches = {key: _matches(session, words) for key, words in searches.items()}
        shapes = [
            Shape("all", TransactionFilters()),
            Shape("one_account", TransactionFilters(account_ids=[busiest])),
            Shape(
                "one_account_dates",
                TransactionFilters(
                    account_ids=[busiest], date_from=TODAY - timedelta(days=730), date_to=TODAY - timedelta(days=30)
                ),
            ),
            Shape("search", TransactionFilters(q=searches["search"])),
            *(
                Shape(key, TransactionFilters(q=words), depths=(0,), requests=50)
                for key, words in searches.items()
                if key != "search"
            ),
        ]
        results: dict[str, float | str] = {"rows": transactions, "accounts": accounts, "load_s": load_seconds}
        for key, words in searches.items():
            results[f"{key}.words"], results[f"{key}.matches"] = words, matches[key]
        for shape in shapes:
            for depth in shape.depths:
                figures = _measure(factory, user, shape, depth, shape.requests or requests)
                if figures is not None:
                    results[f"{shape.key}.{depth}.p50"], results[f"{shape.key}.{depth}.p95"] = figures
            summary = _measure_summary(factory, user, shape, shape.requests or requests)
            results[f"{shape.key}.summary.p50"], results[f"{shape.key}.summary.p95"] = summary
    finally:
        engine.dispose()
    return results
