"""The transaction key rule on its own: a table of fetch sequences and what each must keep."""

from collections.abc import Mapping
from typing import Any

import pytest

from src.ingest.keys import KeyIndex, KnownTransaction, assign_keys


def coffee(
    tid: str | None = None,
    *,
    internal: str | None = None,
    amount: str = "-3.20",
    day: str = "2026-03-02",
    text: str = "Card payment Café",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "bookingDate": day,
        "valueDate": day,
        "transactionAmount": {"amount": amount, "currency": "EUR"},
        "creditorName": "Café Zürich",
        "remittanceInformationUnstructured": text,
    }
    if tid is not None:
        payload["transactionId"] = tid
    if internal is not None:
        payload["internalTransactionId"] = internal
    return payload


def run_fetches(fetches: list[list[Mapping[str, Any]]]) -> list[list[str]]:
    """Key each fetch against everything the earlier fetches stored; return the keys of each fetch."""
    known: dict[str, KnownTransaction] = {}
    results = []
    for fetch in fetches:
        keyed = assign_keys([("booked", payload) for payload in fetch], KeyIndex.of(known.values()))
        for item in keyed:
            known[item.key] = KnownTransaction(
                key=item.key,
                fingerprint=item.fingerprint,
                transaction_id=(item.payload.get("transactionId") or None),
                internal_transaction_id=item.payload.get("internalTransactionId"),
                entry_reference=item.payload.get("entryReference"),
            )
        results.append([item.key for item in keyed])
    return results


CASES = {
    "stable ids": ([[coffee("a"), coffee("b", amount="-4.00")]] * 2, 2),
    "ids blanked later": ([[coffee("a"), coffee("b", amount="-4.00")], [coffee(""), coffee(None, amount="-4.00")]], 2),
    "ids reissued every fetch": (
        [[coffee("a1"), coffee("b1", amount="-4")], [coffee("a2"), coffee("b2", amount="-4")]],
        2,
    ),
    "text corrected, id kept": ([[coffee("a")], [coffee("a", text="Card payment Cafe Zurich")]], 1),
    "identical twins without ids": ([[coffee(), coffee()], [coffee(), coffee()]], 2),
    "twins with ids, then reissued": ([[coffee("a"), coffee("b")], [coffee("x"), coffee("y")]], 2),
    "internal id repeated in another context": ([[coffee(internal="i1"), coffee(internal="i1", amount="-9.99")]], 2),
    "a new item joins later": ([[coffee("a")], [coffee("a"), coffee("b", amount="-1.00")]], 2),
}


class TestKeyRule:
    @pytest.mark.parametrize("case", CASES)
    def test_each_logical_transaction_keeps_one_key(self, case: str) -> None:
        fetches, logical = CASES[case]
        keys = run_fetches(fetches)
        assert len({key for fetch in keys for key in fetch}) == logical
        assert all(len(set(fetch)) == len(fetch) for fetch in keys), "two items of one fetch shared a key"

    def test_keys_do_not_depend_on_ids(self) -> None:
        [[with_id]], [[without]] = run_fetches([[coffee("a")]]), run_fetches([[coffee()]])
        assert with_id == without
