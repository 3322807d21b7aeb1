"""Connections as the API shows and accepts them.

Services answer domain objects; the read schema builds itself from them here (`ConnectionRead.from_view`), and
endpoints call that: the one place a connection takes its API shape.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import Field

from src.kit.schemas import WITHOUT_NUL, Schema
from src.models.enums import ConnectionStatus, Provider
from src.providers.gocardless.ids import INSTITUTION_ID_PATTERN

if TYPE_CHECKING:
    from src.connections.service import ConnectionView


class ConnectionCreate(Schema):
    institution_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=INSTITUTION_ID_PATTERN,
        examples=["SANDBOXFINANCE_SFIN0000"],
        description="An institution id from `GET /api/institutions` (either provider): letters and digits, then "
        "also `_`, `.` or `-`.",
    )
    friendly_name: str | None = Field(default=None, max_length=100, pattern=WITHOUT_NUL, examples=["Everyday bank"])
    allow_duplicate: bool = Field(
        default=False,
        description="Connect this bank although the user already has a connection to it (answered 409 "
        "`connection_exists` otherwise, naming the existing connection to re-authorise). Accounts already known "
        "by IBAN stay one account either way.",
    )


class ConnectionUpdate(Schema):
    friendly_name: str | None = Field(default=None, max_length=100, pattern=WITHOUT_NUL)


class InstitutionSummary(Schema):
    id: str
    name: str
    logo: str | None = None


class ConnectionRead(Schema):
    id: uuid.UUID
    provider: Provider = Field(description="The bank-data provider this connection goes through.")
    institution: InstitutionSummary
    friendly_name: str | None
    status: ConnectionStatus
    created_at: datetime
    expires_at: datetime | None = Field(description="When the bank access granted by the user ends.")
    days_left: int | None = Field(description="Whole days until `expires_at` (0 on the last day).")
    expiring_soon: bool = Field(description="Active and within EXPIRING_SOON_DAYS of expiry: offer re-authorising.")
    last_synced_at: datetime | None
    account_count: int

    @classmethod
    def from_view(cls, view: "ConnectionView") -> "ConnectionRead":
        connection, institution = view.connection, view.institution
        return cls(
            id=connection.id,
            provider=connection.provider,
            institution=InstitutionSummary(id=institution.id, name=institution.name, logo=institution.logo),
            friendly_name=connection.friendly_name,
            status=view.status,
            created_at=connection.created_at,
            expires_at=connection.expires_at,
            days_left=view.days_left,
            expiring_soon=view.expiring_soon,
            last_synced_at=connection.last_synced_at,
            account_count=view.account_count,
        )


class ConnectionLink(Schema):
    """A connection waiting for the user's consent at the bank: send the user to `link`."""

    connection: ConnectionRead
    link: str = Field(description="The bank's consent page; the user comes back to the callback.")
    paste_redirect: bool = Field(
        default=False,
        description="Enable Banking only: finsync's public address is not https, so the bank may be unable to send "
        "the person back; offer to paste the address the bank sent them to (`POST "
        "/api/connections/callback/enablebanking`).",
    )


class PastedRedirect(Schema):
    """The address the bank sent the person back to, pasted from their browser."""

    redirect_url: str = Field(
        min_length=1,
        max_length=4096,
        pattern=WITHOUT_NUL,
        examples=["http://127.0.0.1:8000/api/connections/callback/enablebanking?code=…&state=…"],
    )


class CallbackRead(Schema):
    """How a consent ended, as the callback's redirect carries it."""

    status: str = Field(description="`active`, `rejected` or `error`.")
    connection_id: uuid.UUID | None = None
    error: str | None = None
    job_id: uuid.UUID | None = Field(default=None, description="The first sync, started when the bank linked.")
