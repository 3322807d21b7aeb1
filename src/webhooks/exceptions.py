"""The webhooks domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, ConflictError, NotFoundError


class WebhookNotFoundError(NotFoundError):
    """Also another user's webhook: ids reveal nothing."""

    code = "webhook_not_found"


class WebhookUrlRefusedError(AppError):
    """A URL finsync will not deliver to (its detail says why: not https in production, a private address, …)."""

    status_code = 422
    code = "webhook_url_refused"


class TooManyWebhooksError(ConflictError):
    code = "too_many_webhooks"
