"""Webhook endpoints and their delivery log as the API shows and accepts them.

The signing secret appears in one answer only, the creation's (`WebhookCreated`); every other read leaves it out.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from src.kit.schemas import WITHOUT_NUL, Schema
from src.models.notifications import EventType, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from src.webhooks.service import CreatedWebhook

# An http(s) URL without blanks or NUL, as OpenAPI states it; the rest of the rules (`validate_webhook_url`) cannot be
# written in JSON Schema: a host, no credentials, and in production https to public addresses.
WEBHOOK_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00]+$"

# The events an endpoint may subscribe to (`SUBSCRIBABLE_EVENTS`; a test holds the two equal).
WebhookEvent = Literal[
    "sync.completed", "sync.failed", "consent.expiring", "consent.expired", "connection.rate_limited"
]


class WebhookCreate(Schema):
    url: str = Field(
        min_length=1,
        max_length=2048,
        pattern=WEBHOOK_URL,
        examples=["https://example.com/finsync/webhook"],
        description="Where events are POSTed: an http(s) URL without spaces. In production: https, to a host whose "
        "every address is public; any other URL is 422 `webhook_url_refused` saying why.",
    )
    description: str | None = Field(default=None, max_length=200, pattern=WITHOUT_NUL, examples=["Home automation"])
    events: list[WebhookEvent] | None = Field(
        default=None,
        min_length=1,
        description="The events to send; omitted or null: every event.",
        examples=[["sync.failed", "consent.expiring"]],
    )


class WebhookRead(Schema):
    id: uuid.UUID
    url: str
    description: str | None
    events: list[WebhookEvent] | None = Field(description="The events sent; null: every event.")
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def from_endpoint(cls, endpoint: WebhookEndpoint) -> "WebhookRead":
        return cls.model_validate(endpoint, from_attributes=True)


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret, shown this once: keep it to verify `Finsync-Signature` (HMAC-SHA256 of "
        '`f"{t}.{body}"`).'
    )

    @classmethod
    def from_created(cls, created: "CreatedWebhook") -> "WebhookCreated":
        read = WebhookRead.from_endpoint(created.endpoint)
        return cls(**read.model_dump(), secret=created.secret)


class WebhookTestSent(Schema):
    event_id: uuid.UUID = Field(description="The test event's id (`Finsync-Event-Id`), to find it in the log.")


class DeliveryRead(Schema):
    id: int
    event_id: uuid.UUID
    event_type: EventType
    attempted_at: datetime
    status_code: int | None = Field(description="The endpoint's answer; null when none came.")
    error: str | None = Field(description="Why the attempt failed; null when it was delivered.")
    duration_ms: int

    @classmethod
    def from_delivery(cls, delivery: WebhookDelivery) -> "DeliveryRead":
        return cls.model_validate(delivery, from_attributes=True)
