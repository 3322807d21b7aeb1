"""Every status and kind the data model knows, as Python enums stored as database-checked text.

Stored as VARCHAR with a named CHECK constraint rather than a native PostgreSQL enum: adding a value is then a
plain constraint swap in a migration, on PostgreSQL 15 and 18 alike.
"""

from enum import StrEnum

from sqlalchemy import Enum


class ConnectionStatus(StrEnum):
    pending = "pending"
    active = "active"
    rejected = "rejected"
    expired = "expired"
    suspended = "suspended"
    error = "error"


class AccountStatus(StrEnum):
    processing = "processing"
    active = "active"
    expired = "expired"
    suspended = "suspended"
    error = "error"


class TransactionStatus(StrEnum):
    booked = "booked"
    pending = "pending"
    void = "void"


class JobType(StrEnum):
    sync = "sync"


class JobEntityType(StrEnum):
    connection = "connection"


class JobStatus(StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"


UNFINISHED_JOB_STATUSES = (JobStatus.pending, JobStatus.running)


class JobTrigger(StrEnum):
    """Who started a sync: a person (Sync now, the first sync after connecting) or the background sync."""

    manual = "manual"
    scheduled = "scheduled"


class ConsentNoticeKind(StrEnum):
    """The announcements of a consent's end, each made once per consent end date (src/ingest/consents.py)."""

    expiring = "expiring"
    """The consent ends within EXPIRING_SOON_DAYS."""
    expiring_final = "expiring_final"
    """The consent ends within three days: the last reminder."""
    expired = "expired"
    """The consent has ended (expired, or revoked at the bank)."""


class SyncOutcomeKind(StrEnum):
    synced = "synced"
    rate_limited = "rate_limited"
    reauth_required = "reauth_required"
    bank_error = "bank_error"


class Provider(StrEnum):
    gocardless = "gocardless"
    enablebanking = "enablebanking"


class EbSessionStatus(StrEnum):
    """An Enable Banking session's status, as Enable Banking spells it (`eb_sessions.status`, verbatim)."""

    invalid = "INVALID"
    pending_authorization = "PENDING_AUTHORIZATION"
    returned_from_bank = "RETURNED_FROM_BANK"
    authorized = "AUTHORIZED"
    expired = "EXPIRED"
    closed = "CLOSED"
    revoked = "REVOKED"
    cancelled = "CANCELLED"


class EbTransactionStatus(StrEnum):
    """An Enable Banking transaction's `status` (ISO 20022 codes, verbatim in `eb_transactions.status`)."""

    booked = "BOOK"
    pending = "PDNG"
    hold = "HOLD"
    scheduled = "SCHD"
    cancelled = "CNCL"
    rejected = "RJCT"
    other = "OTHR"


class GcAccessState(StrEnum):
    """What GoCardless last said about access to an account's data."""

    ok = "ok"
    expired = "expired"
    suspended = "suspended"


class GcScope(StrEnum):
    """The per-account daily rate-limit scopes."""

    details = "details"
    balances = "balances"
    transactions = "transactions"


class GcTransactionStatus(StrEnum):
    booked = "booked"
    pending = "pending"


class GcRequisitionStatus(StrEnum):
    """A GoCardless requisition's status, as GoCardless spells it (stored verbatim in `gc_requisitions.status`)."""

    created = "CR"
    giving_consent = "GC"
    undergoing_authentication = "UA"
    rejected = "RJ"
    selecting_accounts = "SA"
    granting_access = "GA"
    linked = "LN"
    suspended = "SU"
    expired = "EX"


class GcAccountStatus(StrEnum):
    """A GoCardless account's own status (`gc_accounts.metadata->>'status'`, kept verbatim in the payload): what
    the unified account's status is derived from while access lasts."""

    discovered = "DISCOVERED"
    processing = "PROCESSING"
    ready = "READY"
    expired = "EXPIRED"
    suspended = "SUSPENDED"
    error = "ERROR"


def checked_enum(enum: type[StrEnum], name: str) -> Enum:
    """A text column limited to the enum's values by a CHECK constraint named `ck_<table>_<name>`."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
