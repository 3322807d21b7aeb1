"""What a SimpleFIN Account Set says, typed, in either protocol version.

Amounts are numeric strings kept exact (Decimal); times are epoch seconds made UTC datetimes; `posted = 0` means
pending whatever `pending` says. The currency is the account's own (an ISO 4217 code, or a custom currency's URL),
never assumed. Errors of both versions become `Problem`s: v2's `errlist` items (`msg`, or `message` as the draft's
own sample writes it) and v1's `errors` strings (code `gen.`); an unknown subcode counts as its bare prefix, as the
protocol asks. Every account and transaction keeps the object it was read from (`raw`), for the raw tables.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from src.providers.simplefin.errors import UpstreamServerError

_NUMERIC = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$")
KNOWN_CODES = frozenset({"gen.", "gen.api", "gen.auth", "con.", "con.auth", "act.", "act.failed", "act.missingdata"})


def amount(value: Any, what: str) -> Decimal:
    if isinstance(value, str) and _NUMERIC.match(value):
        return Decimal(value.strip())
    raise UpstreamServerError(f"SimpleFIN answered {what} that is not a numeric string")


def moment(value: Any) -> datetime | None:
    """An epoch timestamp as an aware UTC datetime; 0 or absent is None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class Problem:
    code: str  # a known code, or the bare prefix of an unknown one
    message: str
    conn_id: str | None = None
    account_id: str | None = None

    @classmethod
    def from_v2(cls, item: dict[str, Any]) -> "Problem":
        code = str(item.get("code") or "gen.")
        if code not in KNOWN_CODES:
            code = code.split(".", 1)[0] + "."
            code = code if code in KNOWN_CODES else "gen."
        message = str(item.get("msg") or item.get("message") or "")
        return cls(code, message, item.get("conn_id"), item.get("account_id"))


@dataclass(frozen=True)
class Transaction:
    id: str
    posted: datetime | None  # None: pending (posted 0)
    amount: Decimal
    description: str
    transacted_at: datetime | None
    pending: bool
    payee: str | None
    memo: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, item: dict[str, Any]) -> "Transaction":
        posted = moment(item.get("posted"))
        return cls(
            id=str(item["id"]),
            posted=posted,
            amount=amount(item.get("amount"), "a transaction amount"),
            description=str(item.get("description") or ""),
            transacted_at=moment(item.get("transacted_at")),
            pending=bool(item.get("pending")) or posted is None,
            payee=item.get("payee") if isinstance(item.get("payee"), str) else None,
            memo=item.get("memo") if isinstance(item.get("memo"), str) else None,
            raw=item,
        )


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    currency: str
    balance: Decimal
    available_balance: Decimal | None
    balance_date: datetime | None
    conn_id: str | None  # v2
    org: dict[str, Any] | None  # v1
    transactions: tuple[Transaction, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, item: dict[str, Any]) -> "Account":
        available = item.get("available-balance")
        return cls(
            id=str(item["id"]),
            name=str(item.get("name") or ""),
            currency=str(item.get("currency") or ""),
            balance=amount(item.get("balance"), "a balance"),
            available_balance=None if available is None else amount(available, "an available balance"),
            balance_date=moment(item.get("balance-date")),
            conn_id=item.get("conn_id"),
            org=item.get("org") if isinstance(item.get("org"), dict) else None,
            transactions=tuple(Transaction.parse(t) for t in item.get("transactions") or ()),
            raw={key: value for key, value in item.items() if key != "transactions"},
        )


@dataclass(frozen=True)
class Connection:
    conn_id: str
    name: str
    org_id: str
    org_name: str | None
    org_url: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class AccountSet:
    version: int
    accounts: tuple[Account, ...]
    connections: tuple[Connection, ...]
    problems: tuple[Problem, ...]

    @classmethod
    def parse(cls, body: Any, version: int) -> "AccountSet":
        if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
            raise UpstreamServerError("SimpleFIN answered something that is not an Account Set")
        try:
            accounts = tuple(Account.parse(a) for a in body["accounts"])
        except (KeyError, TypeError, AttributeError):
            raise UpstreamServerError("SimpleFIN answered an account or transaction without its id") from None
        if isinstance(body.get("errlist"), list):
            problems = tuple(Problem.from_v2(e) for e in body["errlist"] if isinstance(e, dict))
            version = 2
        else:
            problems = tuple(Problem("gen.", str(e)) for e in body.get("errors") or ())
            version = 1
        connections = tuple(
            Connection(
                conn_id=str(c.get("conn_id")),
                name=str(c.get("name") or ""),
                org_id=str(c.get("org_id") or ""),
                org_name=c.get("org_name"),
                org_url=c.get("org_url"),
                raw=c,
            )
            for c in body.get("connections") or ()
            if isinstance(c, dict)
        )
        return cls(version=version, accounts=accounts, connections=connections, problems=problems)
