"""Deterministic account histories.

Every account is seeded by (institution, customer, account index). Each calendar day's items come from a random
generator seeded by (seed, day) alone, so any window of days gives byte-identical lists whatever was asked
before, and a balance is the opening balance plus the booked items of every day since the origin.

An item is *made* on its value day and *books* `lag` days later: on the sandbox's today T it is booked when
value day + lag ≤ T (booking date = value day + lag) and pending when value day ≤ T < value day + lag. Pending
items carry a different id (or none), so a pending item books later under a new id, as banks do.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from src.sandbox.catalogue import CUSTOMERS_BY_ID, INSTITUTIONS_BY_ID, SECOND_CURRENCY
from src.sandbox.common import digits as _digits
from src.sandbox.common import iban as _iban
from src.sandbox.common import money as _money

HISTORY_ORIGIN = date(2024, 1, 1)

# (name, IBAN-ish account or None, min, max, sign, remittance) — many names are not ASCII on purpose.
_MERCHANTS: tuple[tuple[str, float, float, str], ...] = (
    ("Café Zürich", 2.5, 9.0, "Card payment Café Zürich"),
    ("Żabka", 3.0, 35.0, "ZAKUP KARTĄ Żabka"),
    ("Müller Drogerie", 4.0, 60.0, "Kartenzahlung Müller"),
    ("Société des Transports", 1.8, 45.0, "TRANSPORT Navigo"),
    ("Nordsjö Fisk AB", 8.0, 80.0, "Kortköp Nordsjö Fisk"),
    ("東京ラーメン", 9.0, 28.0, "Card payment Tokyo Ramen"),
    ("Grocer & Sons", 12.0, 140.0, "Groceries"),
    ("Alderaan Coffee", 2.0, 7.5, "PAYMENT Alderaan Coffe"),
    ("Streamly", 9.99, 9.99, "Monthly subscription"),
    ("Łódź Books", 6.0, 55.0, "Books and stationery"),
    ("Ελληνική Ταβέρνα", 15.0, 90.0, "Dinner"),
    ("Fuel Station 24", 30.0, 95.0, "Fuel"),
)
_PAYERS: tuple[tuple[str, float, float, str], ...] = (
    ("Mon Mothma", 20.0, 120.0, "For the support of Restoration of the Republic foundation"),
    ("José Álvarez", 10.0, 60.0, "Dinner split"),
    ("Zoë Ångström", 5.0, 40.0, "Thanks!"),
)


@dataclass(frozen=True)
class AccountProfile:
    seed: str
    institution_id: str
    customer_id: str
    index: int
    iban: str
    bban: str
    currency: str
    owner_name: str
    name: str
    product: str
    opening_balance: Decimal
    remittance_as_array: bool


@dataclass(frozen=True)
class Item:
    """One transaction as the bank made it (before the sandbox's today decides booked or pending)."""

    value_day: date
    seq: int
    lag: int
    amount: Decimal
    counterparty: str
    counterparty_iban: str | None
    remittance: str
    has_transaction_id: bool
    blank_transaction_id: bool
    entry_reference: str | None
    pending_id: str | None
    ultimate: str | None
    with_time: bool

    @property
    def booking_day(self) -> date:
        return self.value_day + timedelta(days=self.lag)


@lru_cache(maxsize=4096)
def profile(institution_id: str, customer_id: str, index: int) -> AccountProfile:
    institution = INSTITUTIONS_BY_ID[institution_id]
    customer = CUSTOMERS_BY_ID.get(customer_id)
    owner = customer.name if customer is not None else customer_id.title()
    seed = f"{institution_id}/{customer_id}/{index}"
    country = institution.countries[0] if institution.countries[0] != "XX" else "GB"
    bban = institution.bic[:4] + _digits(seed, 14)
    currency = institution.currency if index == 0 else SECOND_CURRENCY.get(institution.currency, "EUR")
    rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
    opening = Decimal(rng.randrange(50_000, 900_000)) / 100
    names = ("Main Account", "Savings", "Travel Card")
    products = ("Checkings", "Savings", "Card")
    return AccountProfile(
        seed=seed,
        institution_id=institution_id,
        customer_id=customer_id,
        index=index,
        iban=_iban(country, bban),
        bban=bban,
        currency=currency,
        owner_name=owner,
        name=names[index % 3] if index < 3 else f"Account {index + 1}",
        product=products[index % 3],
        opening_balance=opening,
        remittance_as_array=institution.remittance_as_array,
    )


@lru_cache(maxsize=200_000)
def items_on(seed: str, day: date) -> tuple[Item, ...]:
    """The items made on `day` for the account seeded `seed`; the same inputs give the same items, always."""
    rng = random.Random(f"{seed}|{day.isoformat()}")  # noqa: S311
    made: list[tuple[Decimal, str, str | None, str, str | None]] = []
    if day.day == 25:
        made.append((_money(rng, 2600, 4200), "Acme Payroll Ltd", "GB29NWBK60161331926819", "SALARY", None))
    if day.day == 1:
        made.append(
            (-_money(rng, 650, 1400), "Łukasz Nowak Nieruchomości", "PL61109010140000071219812874", "Rent", None)
        )
    for _ in range(rng.choices((0, 1, 2, 3, 4), weights=(12, 30, 30, 18, 10))[0]):
        name, low, high, remittance = rng.choice(_MERCHANTS)
        ultimate = "Marketplace Payments Ltd" if rng.random() < 0.05 else None
        made.append((-_money(rng, low, high), name, None, remittance, ultimate))
    if rng.random() < 0.12:
        name, low, high, remittance = rng.choice(_PAYERS)
        made.append((_money(rng, low, high), name, "GL3343697694912188", remittance, None))
    if made and rng.random() < 0.03:
        made.append(made[-1])  # a genuine twin: same payee, same amount, same day
    items = []
    for seq, (amount, name, iban, remittance, ultimate) in enumerate(made):
        draw = rng.random()
        items.append(
            Item(
                value_day=day,
                seq=seq,
                lag=rng.choices((0, 1, 2, 3), weights=(35, 40, 15, 10))[0],
                amount=amount,
                counterparty=name,
                counterparty_iban=iban,
                remittance=remittance,
                has_transaction_id=draw >= 0.05,
                blank_transaction_id=0.05 <= draw < 0.07,
                entry_reference=f"ER{_digits(seed + day.isoformat() + str(seq), 10)}" if rng.random() < 0.4 else None,
                pending_id=f"PDNG{_digits(seed + day.isoformat() + str(seq) + 'p', 12)}"
                if rng.random() < 0.3
                else None,
                ultimate=ultimate,
                with_time=rng.random() < 0.5,
            )
        )
    return tuple(items)


@lru_cache(maxsize=200_000)
def _booked_total_through(seed: str, day: date) -> Decimal:
    """Σ of the amounts booked on or before `day` (recursive over days, each cached)."""
    if day < HISTORY_ORIGIN:
        return Decimal(0)
    total = _booked_total_through(seed, day - timedelta(days=1))
    for lag in range(0, 4):
        made = day - timedelta(days=lag)
        if made < HISTORY_ORIGIN:
            continue
        total += sum((item.amount for item in items_on(seed, made) if item.lag == lag), Decimal(0))
    return total


def booked_balance(account: AccountProfile, through: date) -> Decimal:
    """Opening balance plus every item booked on or before `through`."""
    # Walk forward from the origin in chunks so the recursion stays shallow.
    day = HISTORY_ORIGIN
    while day < through:
        _booked_total_through(account.seed, day)
        day += timedelta(days=200)
    return account.opening_balance + _booked_total_through(account.seed, through)


def items_between(account: AccountProfile, first: date, last: date) -> list[Item]:
    """Items made from `first` - 3 days to `last` (an item's booking can trail its value day by 3)."""
    start = max(HISTORY_ORIGIN, first - timedelta(days=3))
    result: list[Item] = []
    day = start
    while day <= last:
        result.extend(items_on(account.seed, day))
        day += timedelta(days=1)
    return result


def transaction_ids(account: AccountProfile, item: Item) -> tuple[str, str]:
    """(transactionId, internalTransactionId) of the booked item.

    internalTransactionId depends on the day and position only, as GoCardless's are unique per account but not
    across accounts: two accounts with an item at the same position on the same day share it.
    """
    # (value day, position) is unique within an account, whatever day the item books on.
    transaction_id = f"{item.value_day:%Y%m%d}{_digits(account.seed, 6)}{item.seq:02d}-1"
    internal = hashlib.md5(f"{item.value_day.isoformat()}:{item.seq}".encode(), usedforsecurity=False).hexdigest()
    return transaction_id, internal
