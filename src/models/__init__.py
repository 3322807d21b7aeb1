"""Every table of the data model, re-exported so that Alembic (and callers) see the full metadata."""

from src.db.base import Base
from src.models.accounts import Account, BalanceSnapshot
from src.models.connections import Connection, ConsentNotice
from src.models.enablebanking import (
    EbAccount,
    EbAccountLimit,
    EbAspsp,
    EbAspspList,
    EbAuthorization,
    EbBalance,
    EbSession,
    EbTransaction,
)
from src.models.gocardless import (
    GcAccount,
    GcAccountLimit,
    GcAgreement,
    GcBalance,
    GcInstitution,
    GcInstitutionList,
    GcRequisition,
    GcToken,
    GcTransaction,
)
from src.models.institutions import Institution, InstitutionLogo
from src.models.jobs import Job, SyncOutcome
from src.models.notifications import NotificationOutbox, WebhookDelivery, WebhookEndpoint
from src.models.transactions import Transaction
from src.models.users import RefreshToken, User

__all__ = [
    "Account",
    "BalanceSnapshot",
    "Base",
    "Connection",
    "ConsentNotice",
    "EbAccount",
    "EbAccountLimit",
    "EbAspsp",
    "EbAspspList",
    "EbAuthorization",
    "EbBalance",
    "EbSession",
    "EbTransaction",
    "GcAccount",
    "GcAccountLimit",
    "GcAgreement",
    "GcBalance",
    "GcInstitution",
    "GcInstitutionList",
    "GcRequisition",
    "GcToken",
    "GcTransaction",
    "Institution",
    "InstitutionLogo",
    "Job",
    "NotificationOutbox",
    "RefreshToken",
    "SyncOutcome",
    "Transaction",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
