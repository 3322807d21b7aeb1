"""The GoCardless client every part of finsync uses, configured from Settings.

No credentials → the sandbox (its default credentials, or SANDBOX_SECRET_ID/KEY when set); the token pair is
kept in the database so that all processes share it.
"""

import os

from sqlalchemy import Engine

from src.ingest.token_store import DatabaseTokenStore, token_key
from src.providers.gocardless.client import GoCardlessClient
from src.settings import Settings

SANDBOX_DEFAULT_SECRET_ID = "sandbox-secret-id"  # noqa: S105 - public test credentials
SANDBOX_DEFAULT_SECRET_KEY = "sandbox-secret-key"  # noqa: S105


def gocardless_credentials(settings: Settings) -> tuple[str, str]:
    if settings.gocardless_secret_id is not None and settings.gocardless_secret_key is not None:
        return settings.gocardless_secret_id.get_secret_value(), settings.gocardless_secret_key.get_secret_value()
    return (
        os.environ.get("SANDBOX_SECRET_ID", SANDBOX_DEFAULT_SECRET_ID),
        os.environ.get("SANDBOX_SECRET_KEY", SANDBOX_DEFAULT_SECRET_KEY),
    )


def build_gocardless_client(settings: Settings, engine: Engine, *, max_connections: int = 20) -> GoCardlessClient:
    secret_id, secret_key = gocardless_credentials(settings)
    base_url = str(settings.gocardless_base_url)
    return GoCardlessClient(
        base_url=base_url,
        secret_id=secret_id,
        secret_key=secret_key,
        token_store=DatabaseTokenStore(engine, token_key(secret_id, base_url)),
        max_connections=max_connections,
    )
