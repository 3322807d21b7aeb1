"""Setup tokens and Access URLs: the two secrets of SimpleFIN, kept out of every text finsync writes.

A setup token is a Base64-encoded claim URL. The Access URL the claim answers is `scheme://user:password@host/path`:
whoever holds it reads the person's bank data until they revoke it at the Bridge. `AccessUrl` keeps it whole only
for the request's Basic credentials and for storage (`secret()`, encrypted at rest by the caller); its `repr` and
`str` show the host alone.
"""

import base64
import binascii
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from src.providers.simplefin.errors import SetupTokenError

MAX_TOKEN_LENGTH = 4096


def claim_url_of(setup_token: str) -> str:
    """The claim URL a setup token holds; `SetupTokenError` when it is not one (the message never repeats it)."""
    text = "".join(setup_token.split())
    if not text or len(text) > MAX_TOKEN_LENGTH:
        raise SetupTokenError("That is not a SimpleFIN setup token: paste the token the SimpleFIN Bridge gave you.")
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SetupTokenError(
            "That is not a SimpleFIN setup token: paste the token the SimpleFIN Bridge gave you."
        ) from None
    parts = urlsplit(decoded)
    if parts.scheme not in ("http", "https") or not parts.hostname or "/claim/" not in parts.path:
        raise SetupTokenError("That is not a SimpleFIN setup token: it does not hold a claim address.")
    if parts.username or parts.password:
        raise SetupTokenError("That is not a SimpleFIN setup token: its claim address carries credentials.")
    return decoded


@dataclass(frozen=True)
class AccessUrl:
    """An Access URL split into the root every request goes to and the Basic credentials."""

    root: str
    username: str = field(repr=False)
    password: str = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> "AccessUrl":
        parts = urlsplit(text.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username:
            raise ValueError("not an Access URL")
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in (parts.hostname or "") and not netloc.startswith("["):
            netloc = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
        root = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        return cls(root=root, username=unquote(parts.username), password=unquote(parts.password or ""))

    @property
    def host(self) -> str:
        return urlsplit(self.root).hostname or ""

    def secret(self) -> str:
        """The Access URL whole, for encrypted storage only."""
        scheme, netloc, path, _, _ = urlsplit(self.root)
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return urlunsplit((scheme, f"{credentials}@{netloc}", path, "", ""))

    def __str__(self) -> str:
        return self.root

    def __repr__(self) -> str:
        return f"AccessUrl(root={self.root!r})"
