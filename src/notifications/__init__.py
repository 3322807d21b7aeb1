"""Notifications: webhooks and e-mail from a durable, transactional outbox.

Callers announce an event with `enqueue` inside their own transaction; the Dagster sensor
(`src/orchestration/notifications.py`) runs `deliver_due`, which signs and POSTs each webhook (`signing.py`: the
recipe a receiver follows to verify) and sends each e-mail over SMTP (`mail.py`), in order per endpoint, with
capped exponential backoff. `urls.py` decides which URLs may receive webhooks. Not a domain: no endpoints here
(the API's `/api/webhooks` is `src/webhooks/`); it imports only models, the database, Settings and logging.
"""

from src.models.notifications import EventType
from src.notifications.delivery import DeliveryReport, deliver_due
from src.notifications.outbox import enqueue, enqueue_test
from src.notifications.signing import new_signing_secret, verify_signature
from src.notifications.urls import UnsafeWebhookUrlError, validate_webhook_url

__all__ = [
    "DeliveryReport",
    "EventType",
    "UnsafeWebhookUrlError",
    "deliver_due",
    "enqueue",
    "enqueue_test",
    "new_signing_secret",
    "validate_webhook_url",
    "verify_signature",
]
