"""`/api/webhooks`: a user's webhook endpoints (create, list, read, delete, test) and each one's delivery log.

How a receiver verifies a delivery's signature: src/notifications/signing.py."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from src.auth.dependencies import CurrentUser
from src.kit.dependencies import SessionDep
from src.kit.pagination import MAX_LIMIT, CursorQuery
from src.kit.responses import error_responses
from src.kit.schemas import Page
from src.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead, WebhookTestSent
from src.webhooks.service import webhook as webhook_service

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 409),
)
def create_webhook(body: WebhookCreate, session: SessionDep, user: CurrentUser) -> WebhookCreated:
    """Register an endpoint. The answer carries the signing `secret`, this once: no later read shows it. A URL
    finsync will not deliver to (production: not https, or a private or local address) is 422
    `webhook_url_refused` saying why; more than 10 webhooks is 409 `too_many_webhooks`."""
    created = webhook_service.create(
        session, user, url=body.url, description=body.description, events=list(body.events) if body.events else None
    )
    return WebhookCreated.from_created(created)


@router.get("", response_model=Page[WebhookRead], responses=error_responses(401))
def list_webhooks(session: SessionDep, user: CurrentUser) -> Page[WebhookRead]:
    """The caller's webhooks, oldest first (at most 10: one page)."""
    return Page[WebhookRead](
        items=[WebhookRead.from_endpoint(endpoint) for endpoint in webhook_service.list(session, user)],
        next_cursor=None,
    )


@router.get("/{webhook_id:uuid}", response_model=WebhookRead, responses=error_responses(401, 404))
def get_webhook(webhook_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> WebhookRead:
    """One webhook (without its secret)."""
    return WebhookRead.from_endpoint(webhook_service.get(session, user, webhook_id))


@router.delete(
    "/{webhook_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={204: {"description": "Deleted."}, **error_responses(401, 404)},
)
def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    """Delete a webhook: nothing more is sent to it, and its delivery log goes with it."""
    webhook_service.delete(session, user, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id:uuid}/test",
    response_model=WebhookTestSent,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404),
)
def test_webhook(webhook_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> WebhookTestSent:
    """Queue a `webhook.test` event to this webhook only. It is delivered within seconds, signed like every
    event; its attempts appear in the delivery log."""
    return WebhookTestSent(event_id=webhook_service.send_test(session, user, webhook_id))


@router.get(
    "/{webhook_id:uuid}/deliveries", response_model=Page[DeliveryRead], responses=error_responses(400, 401, 404)
)
def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: CursorQuery = None,
) -> Page[DeliveryRead]:
    """The webhook's delivery log, newest first: each attempt's time, the answer's status (or the error) and how
    long it took. A damaged cursor is 400 `invalid_cursor`."""
    page = webhook_service.deliveries(session, user, webhook_id, limit=limit, cursor=cursor)
    return Page[DeliveryRead](
        items=[DeliveryRead.from_delivery(row) for row in page.items], next_cursor=page.next_cursor
    )
