"""Banks' logos served from finsync's own origin (`GET /api/institutions/{id}/logo`).

The page's Content-Security-Policy allows images from itself only (`img-src 'self' data:`), so a logo at the
provider's CDN cannot be shown directly. finsync fetches it once from the URL the provider gave for that bank
(`Institution.logo`, never a URL from the request: the endpoint is no proxy), keeps it in `institution_logos`, and
serves it with a long `Cache-Control` and an ETag.

What is accepted: a 200 answer of at most `MAX_LOGO_BYTES` that is a PNG, JPEG, GIF or WebP (told by its first
bytes, since CDNs often say `application/octet-stream`) or an SVG that says so (`image/svg+xml`). SVG is accepted
because some banks' logos exist only as SVG; it is harmless in `<img>`, which never runs an SVG's scripts, and the
answer carries `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; sandbox` and `nosniff`,
so one opened as a page cannot run a script or load anything either.

The provider's URL is trusted as much as the provider's data, yet in production it must be https to a public
address, as webhook URLs are (`src/notifications/urls.py`, checked at every hop: redirects are followed by hand,
at most `MAX_REDIRECTS`, each one checked and the connection pinned to the address checked). A fetch that fails
(refused URL, error status, not an image, too large, too slow) is remembered for `RETRY_FAILED_AFTER`: until then
the logo answers 404 (or the logo fetched before, if any) without asking the CDN again.
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import httpx
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from src.institutions.exceptions import InstitutionNotFoundError, LogoNotFoundError
from src.models import Institution, InstitutionLogo
from src.notifications.urls import UnsafeWebhookUrlError, delivery_target
from src.settings import Environment, settings

log = logging.getLogger(__name__)

MAX_LOGO_BYTES = 256 * 1024
MAX_REDIRECTS = 3
FETCH_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
FETCH_DEADLINE_SECONDS = 8.0  # the whole fetch, redirects and a slow trickle of bytes included
REFRESH_AFTER = timedelta(days=30)  # a bank may change its logo; the provider's URL usually stays the same
RETRY_FAILED_AFTER = timedelta(hours=1)

SVG = "image/svg+xml"
# Said by CDNs that do not know what they serve: the first bytes decide (never SVG, which must say so).
_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})
_RASTER_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", SVG})


@dataclass(frozen=True)
class Logo:
    content: bytes
    content_type: str
    etag: str


class LogoUnavailableError(Exception):
    """A logo URL that gave no usable image; the message says why (for the log, never for the client)."""


def image_type(declared: str | None, body: bytes) -> str | None:
    """The type to serve `body` as, or None when it is not an image finsync serves."""
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if not (declared in LOGO_TYPES or declared in _GENERIC_TYPES):
        return None
    for signature, kind in _RASTER_SIGNATURES:
        if body.startswith(signature):
            return kind
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if declared == SVG and b"<svg" in body[:4096].lower():
        return SVG
    return None


_http: httpx.Client | None = None
_http_lock = threading.Lock()


def _client() -> httpx.Client:
    """One client for the process (its connection pool reused), made on first use."""
    global _http
    with _http_lock:
        if _http is None:
            _http = httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False, headers={"Accept": "image/*"})
        return _http


def fetch_logo(url: str, *, production: bool, http: httpx.Client | None = None) -> Logo:
    """The image at `url` (the provider's), checked as the module says; raises `LogoUnavailableError`."""
    client = http or _client()
    deadline = time.monotonic() + FETCH_DEADLINE_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        try:
            target = delivery_target(url, production=production)
        except UnsafeWebhookUrlError as exc:
            raise LogoUnavailableError(f"refused URL: {exc}") from exc
        try:
            with client.stream(
                "GET", target.url, headers=target.headers, extensions=target.extensions, timeout=FETCH_TIMEOUT
            ) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise LogoUnavailableError(f"answered {response.status_code}")
                declared = response.headers.get("content-type")
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > MAX_LOGO_BYTES:
                    raise LogoUnavailableError(f"{length} bytes, more than {MAX_LOGO_BYTES}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_LOGO_BYTES:
                        raise LogoUnavailableError(f"more than {MAX_LOGO_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise LogoUnavailableError("too slow")
        except httpx.HTTPError as exc:
            raise LogoUnavailableError(f"{type(exc).__name__}: {exc}") from exc
        content = bytes(body)
        kind = image_type(declared, content)
        if kind is None:
            raise LogoUnavailableError(f"not an image finsync serves ({declared})")
        return Logo(content, kind, f'"{hashlib.sha256(content).hexdigest()[:32]}"')
    raise LogoUnavailableError(f"more than {MAX_REDIRECTS} redirects")


class InstitutionLogoService:
    def get(self, session: Session, institution_id: str, *, http: httpx.Client | None = None) -> Logo:
        """The bank's logo: the stored one while fresh, else fetched (and stored) from the provider's URL. A bank
        finsync has not listed is 404 `institution_not_found` (nothing is asked of a provider: anyone may call
        this); a bank without a logo, or whose logo cannot be had, 404 `not_found`."""
        institution = session.get(Institution, institution_id)
        if institution is None:
            raise InstitutionNotFoundError(f"There is no institution {institution_id}.")
        if not institution.logo:
            raise LogoNotFoundError(f"{institution.name} has no logo.")
        now = datetime.now(UTC)
        # Read afresh: a row this session loaded before may have been written since by an upsert.
        stored = session.get(InstitutionLogo, institution_id, populate_existing=True)
        if stored is not None and stored.source_url != institution.logo:
            stored = None  # the provider names another URL now: what was stored is not its logo
        kept = _as_logo(stored)
        if kept is not None and stored is not None and stored.fetched_at and stored.fetched_at > now - REFRESH_AFTER:
            return kept
        if stored is not None and stored.failed_at is not None and stored.failed_at > now - RETRY_FAILED_AFTER:
            return _or_missing(kept, institution)
        try:
            logo = fetch_logo(institution.logo, production=settings.finsync_env is Environment.production, http=http)
        except LogoUnavailableError as exc:
            log.warning("bank logo unavailable", extra={"institution_id": institution_id, "reason": str(exc)})
            _store(session, institution, kept, fetched=False, now=now)
            return _or_missing(kept, institution)
        _store(session, institution, logo, fetched=True, now=now)
        return logo


def _as_logo(row: InstitutionLogo | None) -> Logo | None:
    if row is None or row.content is None or row.content_type is None or row.etag is None:
        return None
    return Logo(row.content, row.content_type, row.etag)


def _or_missing(kept: Logo | None, institution: Institution) -> Logo:
    if kept is None:
        raise LogoNotFoundError(f"The logo of {institution.name} is not available.")
    return kept


def _store(session: Session, institution: Institution, logo: Logo | None, *, fetched: bool, now: datetime) -> None:
    """Upsert the bank's row: a fetched logo (failure forgotten), or a failure (with the logo kept from before)."""
    values = {
        "source_url": institution.logo,
        "content": logo.content if logo else None,
        "content_type": logo.content_type if logo else None,
        "etag": logo.etag if logo else None,
        "failed_at": None if fetched else now,
    }
    if fetched:
        values["fetched_at"] = now
    statement = insert(InstitutionLogo).values(institution_id=institution.id, **values)
    session.execute(statement.on_conflict_do_update(index_elements=[InstitutionLogo.institution_id], set_=values))
    session.flush()


logo = InstitutionLogoService()
