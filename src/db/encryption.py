"""Provider secrets at rest: every credential finsync keeps in the database (GoCardless's access and refresh
tokens today) is stored encrypted, so that a database dump, a backup or a read-only SQL hole does not hand out
access to people's bank data.

The keys come from `FINSYNC_SECRET_KEY` (Settings): one or more Fernet keys, comma-separated. Fernet
(`cryptography`) is authenticated encryption (AES-128-CBC with HMAC-SHA256) with a versioned token format, so a
changed or truncated value is refused rather than decrypted into garbage. In development the key is generated once
into the data dir; production refuses to start without one.

Rotation: put a new key first and keep the old ones after it (`FINSYNC_SECRET_KEY=new,old`). Every key reads; only
the first writes. Rows are re-encrypted with the first key as they are read, and all at once by
`finsync secrets reencrypt`; once that has run, the old keys can be dropped from the list.

A stored value is `fernet:` followed by the Fernet token. A value without that prefix is plaintext written before
encryption existed: it is still read, and re-encrypted at its next read or write (no migration needed).
"""

from dataclasses import dataclass
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from src.settings import Settings

SEALED_PREFIX = "fernet:"


class UndecryptableSecretError(Exception):
    """A stored secret that none of the configured keys opens (its key was dropped from FINSYNC_SECRET_KEY, or
    the value was changed). Carries no part of the value."""


@dataclass(frozen=True)
class Opened:
    """A stored secret, decrypted: `value`, and whether it is stored the way it would be written now (encrypted
    with the first key). `current` is False for plaintext from before encryption and for an older key's value."""

    value: str
    current: bool

    def __repr__(self) -> str:  # never print a secret
        return f"Opened(current={self.current})"


class SecretBox:
    """Encrypts secrets before they are stored and decrypts them when read, with a list of keys: the first one
    encrypts, every one decrypts."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        fernets = [Fernet(key.encode()) for key in keys]
        self._writer = fernets[0]
        self._readers = MultiFernet(fernets)

    def seal(self, value: str) -> str:
        """The stored form of `value`: encrypted with the first key."""
        return SEALED_PREFIX + self._writer.encrypt(value.encode()).decode()

    def open(self, stored: str) -> Opened:
        """The secret behind a stored value; plaintext from before encryption is returned as it is."""
        if not stored.startswith(SEALED_PREFIX):
            return Opened(stored, current=False)
        token = stored.removeprefix(SEALED_PREFIX).encode()
        try:
            return Opened(self._writer.decrypt(token).decode(), current=True)
        except InvalidToken:
            pass
        try:
            return Opened(self._readers.decrypt(token).decode(), current=False)
        except InvalidToken:
            raise UndecryptableSecretError(
                "a stored secret cannot be decrypted with any key in FINSYNC_SECRET_KEY"
            ) from None


@cache
def _box_for(keys: tuple[str, ...]) -> SecretBox:
    return SecretBox(list(keys))


def secret_box(settings: Settings) -> SecretBox:
    """The box for the keys Settings names (FINSYNC_SECRET_KEY, or development's generated key)."""
    return _box_for(tuple(settings.get_secret_keys()))
