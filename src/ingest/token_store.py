"""The GoCardless token pair kept in `gc_tokens`, shared by every process (the API, each Dagster run).

`token/new` allows 100 calls an hour for the whole company; one pair in the database means one call per
refresh-token lifetime, however many processes start. A PostgreSQL advisory lock makes "check, then obtain"
atomic across processes. The store is its own small unit of work: a token obtained must be kept even if the
caller's work later rolls back.

Both tokens are stored encrypted (src/db/encryption.py, FINSYNC_SECRET_KEY). A row written before encryption, or
under a key that is no longer the first, is re-encrypted the first time it is read, only if it still holds what was
read (another process may have stored a newer pair meanwhile). A row no configured key opens counts as no pair: the
next call obtains a new one and overwrites it.
"""

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.dialects.postgresql import insert

from src.db.encryption import SecretBox, UndecryptableSecretError, secret_box
from src.models import GcToken
from src.providers.gocardless.tokens import TokenPair
from src.settings import settings

log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x6663  # "fc": finsync's advisory-lock space for GoCardless tokens


def token_key(secret_id: str, base_url: str) -> str:
    """Which credentials a stored pair belongs to, without storing the secret id itself."""
    return hashlib.sha256(f"{base_url}\x1f{secret_id}".encode()).hexdigest()


class DatabaseTokenStore:
    def __init__(self, engine: Engine, key: str, box: SecretBox | None = None) -> None:
        self._engine = engine
        self._key = key
        self._lock_id = int(key[:7], 16)
        self._box = box if box is not None else secret_box(settings)

    def load(self) -> TokenPair | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(
                    GcToken.access_token, GcToken.refresh_token, GcToken.access_expires_at, GcToken.refresh_expires_at
                ).where(GcToken.key == self._key)
            ).first()
            if row is None:
                return None
            try:
                access, refresh = self._box.open(row.access_token), self._box.open(row.refresh_token)
            except UndecryptableSecretError:
                log.warning(
                    "the stored GoCardless token pair cannot be decrypted with FINSYNC_SECRET_KEY; "
                    "a new pair will be obtained (token key %s)",
                    self._key[:12],
                )
                return None
            if not (access.current and refresh.current):
                self._reseal(connection, row.access_token, row.refresh_token, access.value, refresh.value)
        return TokenPair(
            access=access.value,
            access_expires_at=row.access_expires_at,
            refresh=refresh.value,
            refresh_expires_at=row.refresh_expires_at,
        )

    def _reseal(
        self, connection: Connection, stored_access: str, stored_refresh: str, access: str, refresh: str
    ) -> None:
        connection.execute(
            update(GcToken)
            .where(
                GcToken.key == self._key,
                GcToken.access_token == stored_access,
                GcToken.refresh_token == stored_refresh,
            )
            .values(access_token=self._box.seal(access), refresh_token=self._box.seal(refresh))
        )
        connection.commit()

    def save(self, pair: TokenPair) -> None:
        values = {
            "key": self._key,
            "access_token": self._box.seal(pair.access),
            "access_expires_at": pair.access_expires_at,
            "refresh_token": self._box.seal(pair.refresh),
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


@dataclass(frozen=True)
class ResealReport:
    """What `reseal_token_pairs` did: pairs re-encrypted with the first key, pairs already so, pairs no key opens."""

    resealed: int
    current: int
    unreadable: int


def reseal_token_pairs(engine: Engine, box: SecretBox) -> ResealReport:
    """Re-encrypt every stored token pair with the box's first key (after a key rotation, or to encrypt rows
    written before encryption), in one transaction. Pairs no key opens are left for the next `token/new` to
    overwrite."""
    resealed = current = unreadable = 0
    with engine.begin() as connection:
        rows = connection.execute(
            select(GcToken.key, GcToken.access_token, GcToken.refresh_token).with_for_update()
        ).all()
        for row in rows:
            try:
                access, refresh = box.open(row.access_token), box.open(row.refresh_token)
            except UndecryptableSecretError:
                unreadable += 1
                continue
            if access.current and refresh.current:
                current += 1
                continue
            connection.execute(
                update(GcToken)
                .where(GcToken.key == row.key)
                .values(access_token=box.seal(access.value), refresh_token=box.seal(refresh.value))
            )
            resealed += 1
    return ResealReport(resealed=resealed, current=current, unreadable=unreadable)
