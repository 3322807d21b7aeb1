"""The GoCardless token pair kept in `gc_tokens`, shared by every process (the API, each Dagster run).

`token/new` allows 100 calls an hour for the whole company; one pair in the database means one call per
refresh-token lifetime, however many processes start. A PostgreSQL advisory lock makes "check, then obtain"
atomic across processes. The store is its own small unit of work: a token obtained must be kept even if the
caller's work later rolls back.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, select, text
from sqlalchemy.dialects.postgresql import insert

from src.models import GcToken
from src.providers.gocardless.tokens import TokenPair

_LOCK_NAMESPACE = 0x6663  # "fc": finsync's advisory-lock space for GoCardless tokens


def token_key(secret_id: str, base_url: str) -> str:
    """Which credentials a stored pair belongs to, without storing the secret id itself."""
    return hashlib.sha256(f"{base_url}\x1f{secret_id}".encode()).hexdigest()


class DatabaseTokenStore:
    def __init__(self, engine: Engine, key: str) -> None:
        self._engine = engine
        self._key = key
        self._lock_id = int(key[:7], 16)

    def load(self) -> TokenPair | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(GcToken).where(GcToken.key == self._key)).mappings().first()
        if row is None:
            return None
        return TokenPair(
            access=row["access_token"],
            access_expires_at=row["access_expires_at"],
            refresh=row["refresh_token"],
            refresh_expires_at=row["refresh_expires_at"],
        )

    def save(self, pair: TokenPair) -> None:
        values = {
            "key": self._key,
            "access_token": pair.access,
            "access_expires_at": pair.access_expires_at,
            "refresh_token": pair.refresh,
            "refresh_expires_at": pair.refresh_expires_at,
        }
        statement = insert(GcToken).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[GcToken.key],
            set_={name: statement.excluded[name] for name in values if name != "key"} | {"updated_at": text("now()")},
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": _LOCK_NAMESPACE, "id": self._lock_id})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": _LOCK_NAMESPACE, "id": self._lock_id}
                )
                connection.commit()
