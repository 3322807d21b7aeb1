"""The reference web page: `GET /` answers `src/web/index.html`, `GET /static/<file>` the files beside it.

Files are read at request time with `Cache-Control: no-cache` (the browser revalidates with the ETag), so an edit
shows on reload without a build step or a restart. Only flat names with a known extension are served: a name
cannot hold a slash, so no request reaches outside `src/web/`. The folder is found from this module's location,
not the working directory, so it works the same from a checkout and from the Docker image (which copies `src/`).
The routes stay out of the OpenAPI document: they are not part of the API its generated clients speak.
"""

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request, Response

from src.exceptions import NotFoundError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

# The page needs nothing but itself: no inline script or style, no other origin, no framing (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison: a list of tags, `W/` prefixes (added by compressing proxies) ignored, `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def serve_file(path: Path, request: Request, content_type: str | None = None) -> Response:
    """A file (of a known extension unless `content_type` is given), its ETag from its modification time and size,
    and the security headers."""
    content_type = content_type or _CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        raise NotFoundError("There is nothing at this address.")
    stat = path.stat()
    return _respond(path.read_bytes, content_type, f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"', request)


def serve_bytes(content: bytes, content_type: str, request: Request) -> Response:
    """Content made in code (a page, a script), its ETag from its digest, and the security headers."""
    return _respond(lambda: content, content_type, f'"{hashlib.sha256(content).hexdigest()[:32]}"', request)


def _respond(read: Callable[[], bytes], content_type: str, etag: str, request: Request) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": etag}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(read(), media_type=content_type, headers=headers)


@router.api_route("/", methods=["GET", "HEAD"])
def index(request: Request) -> Response:
    return serve_file(WEB_DIR / "index.html", request)


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static_file(name: str, request: Request) -> Response:
    if not _STATIC_NAME.match(name) or ".." in name:
        raise NotFoundError("There is nothing at this address.")
    return serve_file(WEB_DIR / name, request)
