"""Deterministic account histories for the Enable Banking sandbox.

A real account is seeded by (bank, customer, position); its `identification_hash` comes from that seed, so it is
the same in every session while the account's `uid` is new each time. Each calendar day's items come from a random
generator seeded by (account seed, day) alone: any window gives the same items whatever was asked before.

An item is made on its value day and settles `lag` days later. On the sandbox's today T it is `PDNG` while value
day ≤ T < value day + lag, then takes its fate: most book (`BOOK`, booking date = value day + lag), a few are
cancelled (`CNCL`) or rejected (`RJCT`) and never count in a balance. A pending item has no `entry_reference` (a
card authorisation) or a pending one of its own (a transfer), never its booked one, as banks do; one booked item
in ten has none either, so a client needs its content fingerprint.

Balances reconcile with the transactions: CLBD (booked) = the opening balance + every booked amount with a booking
date ≤ T; ITAV (available) = CLBD + every pending amount.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from src.sandbox.common import digits as _digits
from src.sandbox.common import iban as _iban
from src.sandbox.common import money as _money
from src.sandbox.enablebanking.catalogue import CUSTOMERS_BY_ID, SECOND_CURRENCY, Aspsp

HISTORY_ORIGIN = date(2024, 1, 1)
MAX_LAG = 3

# (name, lowest, highest, remittance, merchant category): many names are not ASCII on purpose.
_SHOPS: tuple[tuple[str, float, float, str, str], ...] = (
    ("K-Market Kamppi", 3.0, 48.0, "Korttiosto K-Market", "5411"),
    ("Café Ström", 2.5, 9.5, "Kortköp Café Ström", "5814"),
    ("Bäckerei Öztürk", 1.8, 14.0, "Kartenzahlung Bäckerei", "5462"),
    ("Żabka Nano", 3.0, 35.0, "ZAKUP KARTĄ Żabka", "5499"),
    ("Librería Peñalver", 6.0, 55.0, "Compra con tarjeta", "5942"),
    ("Σούπερ Μάρκετ Αθηνά", 10.0, 95.0, "Card purchase", "5411"),
    ("Tesco Express", 4.0, 60.0, "CARD PAYMENT TESCO", "5411"),
    ("ラーメン一番", 9.0, 28.0, "Card payment Ramen Ichiban", "5812"),
    ("Streamly", 9.99, 9.99, "Monthly subscription", "4899"),
    ("Neste Fuel", 30.0, 95.0, "Fuel", "5541"),
)
_PAYERS: tuple[tuple[str, float, float, str], ...] = (
    ("Åsa Lindqvist", 10.0, 80.0, "Dinner split"),
    ("François Dupré", 20.0, 150.0, "Concert tickets"),
    ("Zoë Ångström", 5.0, 40.0, "Thanks!"),
)


@dataclass(frozen=True)
class AccountProfile:
    seed: str
    aspsp_name: str
    aspsp_country: str
    customer_id: str
    position: int
    iban: str
    currency: str
    owner_name: str
    name: str
    product: str
    cash_account_type: str
    opening_balance: Decimal
    identification_hash: str


@dataclass(frozen=True)
class Item:
    """One transaction as the bank made it, before today decides whether it is pending, booked or void."""

    value_day: date
    seq: int
    lag: int
    amount: Decimal  # signed: negative is a debit
    counterparty: str
    counterparty_iban: str | None
    remittance: tuple[str, ...]
    merchant_category_code: str | None
    fate: str  # BOOK · CNCL · RJCT
    entry_reference: str | None  # of the booked item
    pending_reference: str | None  # of the pending item (never the booked one)

    @property
    def settle_day(self) -> date:
        return self.value_day + timedelta(days=self.lag)

    @property
    def key(self) -> str:
        return f"{self.value_day:%Y%m%d}{self.seq:02d}"


@lru_cache(maxsize=1024)
def profile(aspsp: Aspsp, customer_id: str, position: int) -> AccountProfile:
    customer = CUSTOMERS_BY_ID.get(customer_id)
    seed = f"eb/{aspsp.country}/{aspsp.name}/{customer_id}/{position}"
    iban = _iban(aspsp.country, aspsp.bic[:4] + _digits(seed, 14))
    rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
    names = ("Current account", "Savings", "Travel account")
    return AccountProfile(
        seed=seed,
        aspsp_name=aspsp.name,
        aspsp_country=aspsp.country,
        customer_id=customer_id,
        position=position,
        iban=iban,
        currency=aspsp.currency if position % 2 == 0 else SECOND_CURRENCY.get(aspsp.currency, "EUR"),
        owner_name=customer.name if customer is not None else customer_id.title(),
        name=names[position % 3],
        product=("Personal current account", "Savings account", "Multi-currency account")[position % 3],
        cash_account_type=("CACC", "SVGS", "CACC")[position % 3],
        opening_balance=Decimal(rng.randrange(50_000, 900_000)) / 100,
        identification_hash=hashlib.sha256(f"identification|{aspsp.bic}|{iban}".encode()).hexdigest(),
    )


@lru_cache(maxsize=200_000)
def items_on(seed: str, day: date) -> tuple[Item, ...]:
    """The items made on `day` for the account seeded `seed`: the same inputs give the same items, always."""
    rng = random.Random(f"{seed}|{day.isoformat()}")  # noqa: S311
    made: list[tuple[Decimal, str, str | None, tuple[str, ...], str | None]] = []
    if day.day == 25:
        made.append((_money(rng, 2400, 3900), "Acme Oy Palkat", "FI2112345600000785", ("SALARY", "Acme Oy"), None))
    if day.day == 1:
        rent = ("RENT", "Vuokra / Miete")
        made.append((-_money(rng, 600, 1300), "Asunto Oy Kivelä", "FI5542345670000081", rent, None))
    for _ in range(rng.choices((0, 1, 2, 3), weights=(20, 35, 30, 15))[0]):
        shop, low, high, note, category = rng.choice(_SHOPS)
        made.append((-_money(rng, low, high), shop, None, (note,), category))
    if rng.random() < 0.12:
        payer, low, high, note = rng.choice(_PAYERS)
        made.append((_money(rng, low, high), payer, "SE4550000000058398257466", (note,), None))
    items = []
    for seq, (amount, name, iban, remittance, mcc) in enumerate(made):
        lag = rng.choices((0, 1, 2, 3), weights=(30, 40, 20, 10))[0]
        draw = rng.random()
        # Only what waits can be cancelled or rejected: a void item is pending first, then void.
        fate = "CNCL" if lag and draw < 0.04 else "RJCT" if lag and draw < 0.07 else "BOOK"
        key = f"{seed}|{day.isoformat()}|{seq}"
        items.append(
            Item(
                value_day=day,
                seq=seq,
                lag=lag,
                amount=amount,
                counterparty=name,
                counterparty_iban=iban,
                remittance=remittance,
                merchant_category_code=mcc,
                fate=fate,
                entry_reference=f"{day:%Y%m%d}{_digits(key, 12)}" if rng.random() < 0.9 else None,
                # A card authorisation waits without a reference; a pending transfer has one of its own.
                pending_reference=None if mcc else f"P{_digits(key + 'p', 14)}",
            )
        )
    return tuple(items)


@lru_cache(maxsize=200_000)
def _booked_total_through(seed: str, day: date) -> Decimal:
    """Σ of the amounts booked on or before `day` (over days, each cached)."""
    if day < HISTORY_ORIGIN:
        return Decimal(0)
    total = _booked_total_through(seed, day - timedelta(days=1))
    for lag in range(MAX_LAG + 1):
        made = day - timedelta(days=lag)
        if made >= HISTORY_ORIGIN:
            total += sum((i.amount for i in items_on(seed, made) if i.lag == lag and i.fate == "BOOK"), Decimal(0))
    return total


def booked_balance(account: AccountProfile, through: date) -> Decimal:
    """The opening balance plus every item booked on or before `through`."""
    day = HISTORY_ORIGIN
    while day < through:  # walk forward in steps so the recursion stays shallow
        _booked_total_through(account.seed, day)
        day += timedelta(days=200)
    return account.opening_balance + _booked_total_through(account.seed, through)


def status_on(item: Item, today: date) -> str | None:
    """PDNG, BOOK, CNCL or RJCT as seen on `today`; None before the item exists."""
    if item.value_day > today:
        return None
    if today < item.settle_day:
        return "PDNG"
    return item.fate


def items_made(account: AccountProfile, first: date, last: date) -> list[Item]:
    """Every item made from `first` to `last`, inclusive."""
    result: list[Item] = []
    day = max(first, HISTORY_ORIGIN)
    while day <= last:
        result.extend(items_on(account.seed, day))
        day += timedelta(days=1)
    return result


def pending_total(account: AccountProfile, today: date) -> Decimal:
    items = items_made(account, today - timedelta(days=MAX_LAG), today)
    return sum((item.amount for item in items if status_on(item, today) == "PDNG"), Decimal(0))


def transaction_id(account: AccountProfile, item: Item, status: str, session_id: str, per_session: bool) -> str:
    """The id for `GET …/transactions/{transaction_id}`: stable, or (at some banks) new in every session."""
    base = f"{account.seed}|{item.key}|{'PDNG' if status == 'PDNG' else 'settled'}"
    if per_session:
        base += f"|{session_id}"
    return hashlib.sha256(base.encode()).hexdigest()[:24]
