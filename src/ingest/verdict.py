"""What a finished sync run means for the person who asked: the job's status and message from its accounts.

Dagster saying SUCCESS only means the run did not crash. The job is `completed` only when at least one account
synced; when none did it is `failed` with the accounts' reasons; when some did not, it is `completed` and its
message says which and why. Dagster's own failure text is for the log, never for the page.
"""

from dataclasses import dataclass
from datetime import datetime

from src.models.enums import JobStatus, SyncOutcomeKind

INTERNAL_FAILURE_MESSAGE = "The sync stopped because of an internal error; finsync has logged the details."
NO_ACCOUNTS_MESSAGE = "The bank reported no accounts for this connection."

_REASONS = {
    SyncOutcomeKind.rate_limited: "the bank allows no more calls for now",
    SyncOutcomeKind.reauth_required: "the consent has ended; re-authorise the connection",
    SyncOutcomeKind.bank_error: "the bank answered with an error",
}


@dataclass(frozen=True)
class AccountOutcome:
    account: str  # how the person knows the account (its name, or the end of its IBAN)
    outcome: SyncOutcomeKind
    message: str | None
    retry_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    status: JobStatus
    message: str | None


def reason(outcome: AccountOutcome) -> str:
    """One readable reason for an account that did not sync."""
    if outcome.outcome is SyncOutcomeKind.rate_limited and outcome.retry_at is not None:
        return f"the bank allows no more calls until {outcome.retry_at:%Y-%m-%d %H:%M} UTC"
    return outcome.message or _REASONS.get(outcome.outcome, "it did not sync")


def judge(outcomes: list[AccountOutcome]) -> Verdict:
    """The job's status and message once its run ended without crashing."""
    if not outcomes:
        return Verdict(JobStatus.failed, NO_ACCOUNTS_MESSAGE)
    failed = [o for o in outcomes if o.outcome is not SyncOutcomeKind.synced]
    reasons = "; ".join(f"{o.account}: {reason(o)}" for o in failed)
    if len(failed) == len(outcomes):
        return Verdict(JobStatus.failed, f"No account synced. {reasons}.")
    if failed:
        synced = len(outcomes) - len(failed)
        return Verdict(JobStatus.completed, f"{synced} of {len(outcomes)} accounts synced. {reasons}.")
    return Verdict(JobStatus.completed, None)


def account_label(display_name: str | None, name: str | None, iban: str | None) -> str:
    if display_name or name:
        return str(display_name or name)
    if iban:
        return f"Account ending {iban[-4:]}"
    return "An account"
