"""Webhook endpoints: the `/api/webhooks` a user registers to be told of syncs, consents and rate limits."""
