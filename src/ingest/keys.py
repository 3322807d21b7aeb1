"""The transaction key: which raw item is which logical transaction, across fetches.

Banks are unreliable about ids: some blank them, some reissue them on every fetch, GoCardless's
`internalTransactionId` is unique only within one account, and two genuinely identical card payments on one day
may carry no id at all. So the key is not any single id. The rule:

1. Every item gets a *content fingerprint*: status (booked/pending), date, amount, currency, counterparty names
   and accounts, and remittance text, normalised (case, whitespace). Ids are left out on purpose.
2. Items are matched to the account's known transactions by their ids side by side — `transactionId`,
   `internalTransactionId`, `entryReference`, each compared only with the same field — first. A bank that keeps
   its ids keeps its keys even when it corrects a text or a date.
3. Items no id matched are matched by fingerprint: the n-th unmatched item with a fingerprint takes the n-th
   known key with that fingerprint. A bank that blanks or reissues ids still maps each item onto its old key.
4. Anything left is new: its key is `<fingerprint>.<n>`, n being the first number no known key uses. Two
   identical items without ids on one day become `.0` and `.1`: two rows, not one.

The known transactions are those of the *unified* account (every GoCardless account id it ever had), so a
re-authorised connection's new account ids continue the same keys.

Enable Banking (`ENABLEBANKING`) keys by the same four steps with its own fields: its ids are compared
`entry_reference` first, then `transaction_id`; and a `transaction_id` counts only where it is stable, which the
rule gets for free: some banks issue new ids in every session, and an id never seen before matches nothing, so the
item falls through to its fingerprint and keeps its key. The fingerprint reads Enable Banking's payload: the amount
is a magnitude signed by `credit_debit_indicator` (DBIT is money out), the date is `booking_date`, else
`value_date`, else `transaction_date`, and the text is `remittance_information` (a list).
"""

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

ID_SLOTS = ("transaction_id", "internal_transaction_id", "entry_reference")
_SPACE = re.compile(r"\s+")


def clean_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_norm(part) for part in value)
    return _SPACE.sub(" ", str(value)).strip().casefold()


def _amount(value: Any) -> str:
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return _norm(value)


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def fingerprint(status: str, payload: Mapping[str, Any]) -> str:
    """A content hash of a GoCardless transaction that leaves every id out."""
    amount = payload.get("transactionAmount") or {}
    parts = [
        status,
        str(payload.get("bookingDate") or payload.get("valueDate") or "")[:10],
        _amount(amount.get("amount") if isinstance(amount, Mapping) else None),
        _norm(amount.get("currency") if isinstance(amount, Mapping) else None).upper(),
    ]
    for name in ("creditorName", "debtorName", "ultimateCreditor", "ultimateDebtor"):
        parts.append(_norm(payload.get(name)))
    for account in ("creditorAccount", "debtorAccount"):
        value = payload.get(account)
        parts.append(_norm(value.get("iban") or value.get("bban")) if isinstance(value, Mapping) else "")
    parts.append(_norm(payload.get("remittanceInformationUnstructured")))
    parts.append(_norm(payload.get("remittanceInformationUnstructuredArray")))
    parts.append(_norm(payload.get("remittanceInformationStructured")))
    return _digest(parts)


def enablebanking_signed_amount(payload: Mapping[str, Any]) -> str:
    """The amount with its sign: a magnitude (some banks sign debits themselves) made negative for DBIT."""
    amount = payload.get("transaction_amount") or {}
    value = amount.get("amount") if isinstance(amount, Mapping) else None
    try:
        magnitude = abs(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return _norm(value)
    signed = -magnitude if str(payload.get("credit_debit_indicator") or "").upper() == "DBIT" else magnitude
    return format(signed.normalize(), "f")


def enablebanking_fingerprint(status: str, payload: Mapping[str, Any]) -> str:
    """A content hash of an Enable Banking transaction that leaves every id out."""
    amount = payload.get("transaction_amount") or {}
    parts = [
        status,
        str(payload.get("booking_date") or payload.get("value_date") or payload.get("transaction_date") or "")[:10],
        enablebanking_signed_amount(payload),
        _norm(amount.get("currency") if isinstance(amount, Mapping) else None).upper(),
    ]
    for party in ("creditor", "debtor"):
        value = payload.get(party)
        parts.append(_norm(value.get("name")) if isinstance(value, Mapping) else "")
    for account in ("creditor_account", "debtor_account"):
        value = payload.get(account)
        parts.append(_norm(value.get("iban") or value.get("other")) if isinstance(value, Mapping) else "")
    parts.append(_norm(payload.get("remittance_information")))
    return _digest(parts)


@dataclass(frozen=True)
class KeyRule:
    """A provider's key rule: its id fields in matching order, each as (the slot it is compared in, the payload
    field), and its fingerprint."""

    id_fields: tuple[tuple[str, str], ...]
    fingerprint: Callable[[str, Mapping[str, Any]], str]


GOCARDLESS = KeyRule(
    id_fields=(
        ("transaction_id", "transactionId"),
        ("internal_transaction_id", "internalTransactionId"),
        ("entry_reference", "entryReference"),
    ),
    fingerprint=fingerprint,
)
ENABLEBANKING = KeyRule(
    id_fields=(("entry_reference", "entry_reference"), ("transaction_id", "transaction_id")),
    fingerprint=enablebanking_fingerprint,
)


@dataclass(frozen=True)
class KnownTransaction:
    key: str
    fingerprint: str
    transaction_id: str | None = None
    internal_transaction_id: str | None = None
    entry_reference: str | None = None


@dataclass
class KeyIndex:
    """The keys an account already has, reachable by each id field and by fingerprint."""

    by_id: dict[tuple[str, str], str] = field(default_factory=dict)
    by_fingerprint: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    keys: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, known: Iterable[KnownTransaction]) -> "KeyIndex":
        index = cls()
        for row in sorted(known, key=lambda r: r.key):
            index.keys.add(row.key)
            index.by_fingerprint[row.fingerprint].append(row.key)
            for name, value in zip(
                ID_SLOTS, (row.transaction_id, row.internal_transaction_id, row.entry_reference), strict=True
            ):
                if value:
                    index.by_id.setdefault((name, value), row.key)
        return index


@dataclass(frozen=True)
class KeyedItem:
    status: str
    payload: Mapping[str, Any]
    fingerprint: str
    key: str


def assign_keys(
    items: Sequence[tuple[str, Mapping[str, Any]]], index: KeyIndex, rule: KeyRule = GOCARDLESS
) -> list[KeyedItem]:
    """Key every (status, payload) of one fetch of one account, in the fetch's order, by the provider's rule."""
    fingerprints = [rule.fingerprint(status, payload) for status, payload in items]
    keys: list[str | None] = [None] * len(items)
    claimed: set[str] = set()

    for position, (_, payload) in enumerate(items):  # pass 1: ids, each field against the same field
        for slot, name in rule.id_fields:
            value = clean_id(payload.get(name))
            known = index.by_id.get((slot, value)) if value else None
            if known is not None and known not in claimed:
                keys[position] = known
                claimed.add(known)
                break

    for position, fp in enumerate(fingerprints):  # pass 2: fingerprints, in order
        if keys[position] is None:
            known = next((key for key in index.by_fingerprint.get(fp, ()) if key not in claimed), None)
            if known is not None:
                keys[position] = known
                claimed.add(known)

    for position, fp in enumerate(fingerprints):  # pass 3: new keys
        if keys[position] is None:
            n = 0
            while f"{fp}.{n}" in index.keys or f"{fp}.{n}" in claimed:
                n += 1
            keys[position] = f"{fp}.{n}"
            claimed.add(f"{fp}.{n}")

    return [
        KeyedItem(status=status, payload=payload, fingerprint=fp, key=str(key))
        for (status, payload), fp, key in zip(items, fingerprints, keys, strict=True)
    ]
