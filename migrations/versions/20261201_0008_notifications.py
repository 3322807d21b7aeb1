"""Notifications: users' webhook endpoints (signing secret sealed at rest), the durable outbox every webhook and
e-mail passes through, and each endpoint's delivery log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 07:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBSCRIBABLE_EVENTS = (
    "sync.completed",
    "sync.failed",
    "consent.expiring",
    "consent.expired",
    "connection.rate_limited",
)
EVENTS = (*SUBSCRIBABLE_EVENTS, "webhook.test")
CHANNELS = ("webhook", "email")
PENDING = sa.text("delivered_at IS NULL AND gave_up_at IS NULL")


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _event_type(table: str) -> list[sa.Column | sa.CheckConstraint]:  # type: ignore[type-arg]
    return [
        sa.Column("event_type", sa.String(length=23), nullable=False),
        sa.CheckConstraint(f"event_type IN ({_listed(EVENTS)})", name=op.f(f"ck_{table}_event_type")),
    ]


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("events", postgresql.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            f"events <@ ARRAY[{_listed(SUBSCRIBABLE_EVENTS)}]::varchar[]", name=op.f("ck_webhook_endpoints_events")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_webhook_endpoints_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(op.f("ix_webhook_endpoints_user_id"), "webhook_endpoints", ["user_id"])

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        *_event_type("notification_outbox"),
        sa.Column("channel", sa.String(length=7), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("gave_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"channel IN ({_listed(CHANNELS)})", name=op.f("ck_notification_outbox_channel")),
        sa.CheckConstraint(
            "(channel = 'webhook' AND endpoint_id IS NOT NULL) OR (channel = 'email' AND recipient IS NOT NULL)",
            name=op.f("ck_notification_outbox_destination"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_notification_outbox_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("event_id", "endpoint_id", name=op.f("uq_notification_outbox_event_id_endpoint_id")),
    )
    op.create_index(op.f("ix_notification_outbox_user_id"), "notification_outbox", ["user_id"])
    op.create_index("ix_notification_outbox_due", "notification_outbox", ["next_attempt_at"], postgresql_where=PENDING)
    op.create_index(
        "ix_notification_outbox_endpoint_pending",
        "notification_outbox",
        ["endpoint_id", "id"],
        postgresql_where=PENDING,
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        *_event_type("webhook_deliveries"),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["notification_outbox.id"],
            name=op.f("fk_webhook_deliveries_outbox_id_notification_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_outbox_id"), "webhook_deliveries", ["outbox_id"])
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_attempted_at", "webhook_deliveries", ["endpoint_id", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("notification_outbox")
    op.drop_table("webhook_endpoints")
