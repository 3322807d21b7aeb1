"""Deterministic account histories for the SimpleFIN sandbox.

An account is seeded by (customer, bank, account name); its ids (`ACT-…`, the connection's `CON-…`) come from that
seed, so every Access URL of the same customer reads the same accounts. Each calendar day's items come from a random
generator seeded by (account seed, day) alone: any window gives the same items whatever was asked before.

An item happens at `transacted_at` on its day and posts `lag` days later (at 00:00 UTC of that day). On the
sandbox's present it is pending while it happened but has not posted: `pending: true`, `posted: 0`, an id of its own
(`PEND-…`). Once posted it carries a new id (`TRN-…`), as at real banks, and nothing links the two: a client has to
match them. A few authorisations never post: the pending item simply disappears. At a bank that re-issues ids
(`Org.reissues_ids`), the ids of the items posted within the last `REISSUE_DAYS` days change every week (a new
generation each Monday), the way some US card issuers re-issue a block of dates.

Balances reconcile with the transactions: `balance` = the opening balance + every amount posted on or before
today; `available-balance` = `balance` + the pending amounts (negative ones: holds on the money).
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from src.sandbox.common import digits, money
from src.sandbox.simplefin.catalogue import AccountSpec, Customer, Org

HISTORY_ORIGIN = date(2024, 1, 1)
MAX_LAG = 4
REISSUE_DAYS = 14

# (description as the bank writes it, payee, memo, lowest, highest): some names are not ASCII on purpose.
_SHOPS: tuple[tuple[str, str, str, float, float], ...] = (
    ("POS PURCHASE TRADER JOES #552", "Trader Joe's", "Groceries", 12.0, 140.0),
    ("SQ *BLUE BOTTLE COFFEE", "Blue Bottle Coffee", "Coffee", 3.5, 14.0),
    ("AMZN Mktp US*2K4L19", "Amazon", "Online order", 8.0, 120.0),
    ("SHELL OIL 57442", "Shell", "Fuel", 25.0, 80.0),
    ("CAFÉ OLIMPICO MONTRÉAL", "Café Olimpico", "Café", 4.0, 18.0),
    ("STREAMLY.COM 888-555-0199", "Streamly", "Subscription", 15.49, 15.49),
    ("LOBLAWS #1042", "Loblaws", "Groceries", 20.0, 160.0),
    ("UBER *TRIP HELP.UBER.COM", "Uber", "Ride", 9.0, 45.0),
)


@dataclass(frozen=True)
class Account:
    """One account of a customer, with its seed and the figures its history starts from."""

    spec: AccountSpec
    customer_id: str
    seed: str
    id: str
    conn_id: str
    opening_balance: Decimal

    @property
    def org(self) -> Org:
        return self.spec.org


@dataclass(frozen=True)
class Item:
    """One transaction as it happened, before the present decides whether it is pending, posted or gone."""

    day: date
    seq: int
    transacted_at: datetime
    lag: int
    amount: Decimal  # signed: positive is money in
    description: str
    payee: str | None
    memo: str | None
    posts: bool  # False: an authorisation that is dropped instead of posting

    @property
    def post_day(self) -> date:
        return self.day + timedelta(days=self.lag)

    @property
    def key(self) -> str:
        return f"{self.day:%Y%m%d}{self.seq:02d}"


def conn_id(customer_id: str, org: Org) -> str:
    return f"CON-{digits(f'sfin/{customer_id}/{org.org_id}', 12)}"


@lru_cache(maxsize=256)
def accounts_of(customer: Customer) -> tuple[Account, ...]:
    result = []
    for spec in customer.accounts:
        seed = f"sfin/{customer.id}/{spec.org.org_id}/{spec.name}"
        rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
        opening = Decimal(rng.randrange(-150_000, -20_000) if spec.kind == "card" else rng.randrange(80_000, 950_000))
        result.append(
            Account(
                spec=spec,
                customer_id=customer.id,
                seed=seed,
                id=f"ACT-{digits(seed, 12)}",
                conn_id=conn_id(customer.id, spec.org),
                opening_balance=opening / 100,
            )
        )
    return tuple(result)


@lru_cache(maxsize=200_000)
def items_on(seed: str, kind: str, extensions: bool, day: date) -> tuple[Item, ...]:
    """The items that happened on `day` for the account seeded `seed`: the same inputs give the same items."""
    rng = random.Random(f"{seed}|{day.isoformat()}")  # noqa: S311
    made: list[tuple[Decimal, str, str | None, str | None]] = []
    if kind == "checking":
        if day.day in (1, 15):
            made.append((money(rng, 1800, 2600), "PAYROLL ACME CORP DIRECT DEP", "Acme Corp", "Salary"))
        if day.day == 3:
            made.append((-money(rng, 900, 1700), "ZELLE TO OAKWOOD PROPERTIES", "Oakwood Properties", "Rent"))
        for _ in range(rng.choices((0, 1, 2, 3), weights=(25, 35, 28, 12))[0]):
            shop, payee, memo, low, high = rng.choice(_SHOPS)
            made.append((-money(rng, low, high), shop, payee, memo))
    elif kind == "savings":
        if day.day == 2:
            made.append((money(rng, 100, 400), "ONLINE TRANSFER FROM CHK", "Transfer", "From checking"))
        if day.day == 28:
            made.append((money(rng, 0.5, 9), "INTEREST PAYMENT", None, "Interest"))
    else:  # card
        if day.day == 20:
            made.append((money(rng, 300, 900), "PAYMENT THANK YOU", None, "Payment"))
        for _ in range(rng.choices((0, 1, 2), weights=(40, 40, 20))[0]):
            shop, payee, memo, low, high = rng.choice(_SHOPS)
            made.append((-money(rng, low, high), shop, payee, memo))
    items = []
    start = datetime.combine(day, time(), UTC)
    for seq, (amount, description, payee_name, memo_text) in enumerate(made):
        lag = rng.choices((0, 1, 2, 3, 4), weights=(15, 40, 25, 12, 8))[0]
        posts = not (lag and amount < 0 and rng.random() < 0.05)
        items.append(
            Item(
                day=day,
                seq=seq,
                transacted_at=start + timedelta(seconds=rng.randrange(6 * 3600, 22 * 3600)),
                lag=lag,
                amount=amount,
                description=description,
                payee=payee_name if extensions else None,
                memo=memo_text if extensions else None,
                posts=posts,
            )
        )
    return tuple(items)


def _extensions(account: Account) -> bool:
    """The Bridge's `payee` and `memo` for two banks out of three: a client must manage with `description` alone."""
    return account.org.org_id != "ORG-MAPLE-LEAF-CU"


def items_between(account: Account, first: date, last: date) -> list[Item]:
    """Every item that happened from `first` to `last`, inclusive (never before the history's origin)."""
    extensions = _extensions(account)
    result: list[Item] = []
    day = max(first, HISTORY_ORIGIN)
    while day <= last:
        result.extend(items_on(account.seed, account.spec.kind, extensions, day))
        day += timedelta(days=1)
    return result


def status_at(item: Item, now: datetime) -> str | None:
    """'pending', 'posted' or None (not happened yet, or a dropped authorisation) at `now`."""
    if item.transacted_at > now:
        return None
    if now.date() < item.post_day:
        return "pending"
    return "posted" if item.posts else None


@lru_cache(maxsize=200_000)
def _posted_on(seed: str, kind: str, extensions: bool, day: date) -> Decimal:
    """Σ of the amounts that post on `day`."""
    total = Decimal(0)
    for lag in range(MAX_LAG + 1):
        made = day - timedelta(days=lag)
        if made >= HISTORY_ORIGIN:
            total += sum(
                (i.amount for i in items_on(seed, kind, extensions, made) if i.lag == lag and i.posts), Decimal(0)
            )
    return total


def balance(account: Account, today: date) -> Decimal:
    """The opening balance plus every amount posted on or before `today`."""
    extensions = _extensions(account)
    total = account.opening_balance
    day = HISTORY_ORIGIN
    while day <= today:
        total += _posted_on(account.seed, account.spec.kind, extensions, day)
        day += timedelta(days=1)
    return total


def pending_total(account: Account, now: datetime) -> Decimal:
    items = items_between(account, now.date() - timedelta(days=MAX_LAG), now.date())
    return sum((item.amount for item in items if status_at(item, now) == "pending"), Decimal(0))


def transaction_id(account: Account, item: Item, status: str, today: date) -> str:
    """`PEND-…` while pending, `TRN-…` once posted; at a bank that re-issues ids, a posted item of the last
    `REISSUE_DAYS` days gets this week's generation of its id."""
    if status == "pending":
        return f"PEND-{digits(f'{account.seed}|{item.key}|pending', 14)}"
    base = f"{account.seed}|{item.key}|posted"
    if account.org.reissues_ids and today - item.post_day < timedelta(days=REISSUE_DAYS):
        base += f"|generation {(today.toordinal() - 1) // 7}"  # a new one each Monday
    return f"TRN-{digits(base, 14)}"


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def posted_epoch(item: Item) -> int:
    return epoch(datetime.combine(item.post_day, time(), UTC))
