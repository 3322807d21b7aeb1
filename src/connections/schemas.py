"""Connections as the API shows and accepts them.

Services answer domain objects; the read schema builds itself from them here (`ConnectionRead.from_view`), and
endpoints call that: the one place a connection takes its API shape.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import Field

from src.kit.schemas import WITHOUT_NUL, Schema
from src.models.enums import ConnectionStatus, GcScope, Provider
from src.providers.gocardless.ids import INSTITUTION_ID_PATTERN

if TYPE_CHECKING:
    from src.connections.service import ConnectionView
    from src.ingest.quota import ConnectionPlan


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


class ScopeAllowance(Schema):
    """One scope of an account at the bank: the calls left and when they come back (src/ingest/quota.py)."""

    scope: GcScope = Field(description="`details`, `balances` or `transactions`: banks count each separately.")
    limit: int = Field(description="Calls the bank allows per day for this scope.")
    remaining: int = Field(description="Calls left until `resets_at`.")
    resets_at: datetime | None = Field(description="When the calls come back (null: the full allowance is there).")
    next_call_at: datetime = Field(
        description="When the background sync may read this scope next (now or earlier: at its next run)."
    )


class AccountAllowanceRead(Schema):
    account_id: uuid.UUID | None = Field(description="The account (null until its first sync has derived it).")
    scopes: list[ScopeAllowance]


class BackgroundSyncRead(Schema):
    """What the background sync will do for an active connection. Banks allow about four reads a day per account
    and scope; the background sync spreads them and keeps one for the person's Sync now (GoCardless)."""

    next_sync_at: datetime = Field(description="When the background sync will next read this connection.")
    accounts: list[AccountAllowanceRead]

    @classmethod
    def from_plan(cls, plan: "ConnectionPlan") -> "BackgroundSyncRead":
        return cls(
            next_sync_at=plan.next_sync_at,
            accounts=[
                AccountAllowanceRead(
                    account_id=account.account_id,
                    scopes=[
                        ScopeAllowance(
                            scope=scope,
                            limit=state.limit,
                            remaining=state.remaining,
                            resets_at=state.resets_at,
                            next_call_at=state.next_call_at,
                        )
                        for scope, state in account.scopes.items()
                    ],
                )
                for account in plan.accounts.values()
            ],
        )


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
    background_sync: BackgroundSyncRead | None = Field(
        default=None, description="Active connections: calls left per account and scope, and the next background sync."
    )

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
            background_sync=BackgroundSyncRead.from_plan(view.plan) if view.plan is not None else None,
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
