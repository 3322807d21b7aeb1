"""How a run that ended without crashing is judged from its accounts (`src.ingest.verdict`)."""

from datetime import UTC, datetime

from src.ingest.verdict import AccountOutcome, account_label, judge
from src.models.enums import JobStatus, SyncOutcomeKind

SYNCED = AccountOutcome("Current", SyncOutcomeKind.synced, None, None)
LIMITED = AccountOutcome(
    "Savings", SyncOutcomeKind.rate_limited, "no transactions calls left", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
)
ENDED = AccountOutcome("Card", SyncOutcomeKind.reauth_required, "The consent for this connection has ended.", None)


def test_every_account_synced_is_completed_without_a_message() -> None:
    assert judge([SYNCED, SYNCED]).status is JobStatus.completed
    assert judge([SYNCED, SYNCED]).message is None


def test_no_account_synced_is_failed_with_each_accounts_reason() -> None:
    verdict = judge([LIMITED, ENDED])
    assert verdict.status is JobStatus.failed
    assert verdict.message is not None
    assert verdict.message.startswith("No account synced.")
    assert "Savings: the bank allows no more calls until 2026-12-01 00:00 UTC" in verdict.message
    assert "Card: The consent for this connection has ended." in verdict.message


def test_partly_synced_is_completed_and_says_which_did_not() -> None:
    verdict = judge([SYNCED, ENDED])
    assert verdict.status is JobStatus.completed
    assert verdict.message is not None
    assert verdict.message.startswith("1 of 2 accounts synced.")
    assert "Card:" in verdict.message
    assert "Current" not in verdict.message


def test_a_run_with_no_account_at_all_is_failed() -> None:
    verdict = judge([])
    assert verdict.status is JobStatus.failed
    assert verdict.message


def test_accounts_are_named_as_the_person_knows_them() -> None:
    assert account_label("Holiday fund", "Savings", "GB00X1234") == "Holiday fund"
    assert account_label(None, "Savings", None) == "Savings"
    assert account_label(None, None, "GB29NWBK60161331926819") == "Account ending 6819"
