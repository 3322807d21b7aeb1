"""The reference web page: `GET /` answers `src/web/index.html`, `GET /static/<file>` the files beside it.

Files are read at request time, so an edit shows on reload without a build step or a restart. The page itself is
`Cache-Control: no-cache` (the browser revalidates it with its ETag); the scripts, styles and icon it refers to are
named with a content version, `/static/app.js?v=<digest>`, and a versioned address is cached for a year
(`immutable`): a reload asks for the page and nothing else, and an edit gives the edited file a new address.

The versions are computed when the files change, from their contents (see `_Assets`). An ES module's imports are
resolved by the browser against the module's own address without its query, so the served modules have their
`./x.js` imports rewritten to versioned addresses too, and a module's version covers every module it reaches: an
edit deep in the import chain changes the address of each module that leads to it, up to the page's `app.js`.
An unversioned or outdated address (`?v=` of an earlier content) still answers the current file, `no-cache`.

Text is sent gzip-compressed to a browser that accepts it (compressed once per content, level 9, and kept), with
`Vary: Accept-Encoding` and an ETag per encoding; `If-None-Match` answers 304 for either. Brotli would save a
further ~15% on these files, but browsers ask for it only over HTTPS (where a TLS proxy in front usually compresses)
and it needs a compiled package; gzip is in the standard library.

Only flat names with a known extension are served: a name cannot hold a slash, so no request reaches outside
`src/web/`. The folder is found from this module's location, not the working directory, so it works the same from a
checkout and from the Docker image (which copies `src/`). The routes stay out of the OpenAPI document: they are not
part of the API its generated clients speak.
"""

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
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

# Smaller bodies go as they are: gzip's own header and trailer would eat most of the saving. The API's JSON uses the
# same threshold (GZipMiddleware in src/api/app.py).
COMPRESS_MIN_BYTES = 1024
_COMPRESSIBLE = ("text/", "application/json", "application/javascript", "image/svg+xml")

# A versioned address never changes its content: caches keep it a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"

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

# `import … from "./x.js"`, `export … from "./x.js"`, `import "./x.js"` and `import("./x.js")`: the sibling modules.
_JS_IMPORT = re.compile(r"""(\b(?:from|import)\s*\(?\s*)(["'])\./([A-Za-z0-9][A-Za-z0-9_.-]*\.js)\2""")
# `src="/static/x"` and `href="/static/x"` in the page.
_HTML_ASSET = re.compile(r"""(\b(?:src|href)=)(["'])/static/([A-Za-z0-9][A-Za-z0-9_.-]*)\2""")


@dataclass(frozen=True)
class Asset:
    """A file as it is served (imports or asset addresses rewritten) and its content version."""

    body: bytes
    version: str
    digest: str  # of the body: the ETag


class _Assets:
    """The served form of every page file, rebuilt when a file's modification time or size changes (a `stat` of a
    dozen files per request; reading and hashing only after an edit)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._assets: dict[str, Asset] = {}

    def _stat(self) -> tuple[tuple[str, int, int], ...]:
        stamp = []
        for path in sorted(self._folder.iterdir()):
            if path.suffix in _CONTENT_TYPES and _STATIC_NAME.match(path.name):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                stamp.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(stamp)

    def current(self) -> dict[str, Asset]:
        stamp = self._stat()
        with self._lock:
            if stamp != self._stamp:
                self._assets = _build(self._folder, [name for name, _, _ in stamp])
                self._stamp = stamp
            return self._assets


def _build(folder: Path, names: list[str]) -> dict[str, Asset]:
    raw: dict[str, bytes] = {}
    for name in names:
        try:
            raw[name] = (folder / name).read_bytes()
        except FileNotFoundError:
            continue
    imports = {
        name: {match[2] for match in _JS_IMPORT.findall(content.decode()) if match[2] in raw}
        for name, content in raw.items()
        if name.endswith(".js")
    }

    def reached(name: str) -> list[str]:
        """The module and every module it imports, directly or not (a cycle ends where it started)."""
        seen = {name}
        todo = [name]
        while todo:
            for imported in imports.get(todo.pop(), ()):
                if imported not in seen:
                    seen.add(imported)
                    todo.append(imported)
        return sorted(seen)

    versions = {}
    for name in raw:
        digest = hashlib.sha256()
        for part in reached(name):
            digest.update(f"{part}\0{len(raw[part])}\0".encode())
            digest.update(raw[part])
        versions[name] = digest.hexdigest()[:16]

    def versioned(match: re.Match[str], prefix: str) -> str:
        lead, quote, name = match.groups()
        if name not in versions:
            return match.group(0)
        return f"{lead}{quote}{prefix}{name}?v={versions[name]}{quote}"

    assets = {}
    for name, content in raw.items():
        if name.endswith(".js"):
            text = _JS_IMPORT.sub(lambda match: versioned(match, "./"), content.decode())
            content = text.encode()
        elif name.endswith(".html"):
            text = _HTML_ASSET.sub(lambda match: versioned(match, "/static/"), content.decode())
            content = text.encode()
        # A module's served text depends only on the contents its version covers: same address, same bytes.
        assets[name] = Asset(content, versions[name], hashlib.sha256(content).hexdigest()[:32])
    return assets


_page_files = _Assets(WEB_DIR)


def _matches(if_none_match: str | None, etags: set[str]) -> bool:
    """RFC 9110's weak comparison: a list of tags, `W/` prefixes (added by compressing proxies) ignored, `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or not tags.isdisjoint(etags)


def _accepts_gzip(accept_encoding: str | None) -> bool:
    """The same test as the app's GZipMiddleware (`gzip` named at all, its weight not read): the page's files and
    the API's answers decide alike (browsers never send `gzip;q=0`)."""
    return "gzip" in (accept_encoding or "")


_gzipped_cache: dict[str, bytes] = {}
_gzipped_lock = threading.Lock()


def _gzipped(etag: str, content: bytes) -> bytes:
    """The gzip form of a content, made once per ETag (a few recent ones kept: the page's files and the docs')."""
    with _gzipped_lock:
        cached = _gzipped_cache.get(etag)
    if cached is not None:
        return cached
    compressed = gzip.compress(content, compresslevel=9, mtime=0)
    with _gzipped_lock:
        if len(_gzipped_cache) >= 128:
            _gzipped_cache.clear()
        _gzipped_cache[etag] = compressed
    return compressed


def serve_file(path: Path, request: Request, content_type: str | None = None) -> Response:
    """A file (of a known extension unless `content_type` is given), its ETag from its modification time and size,
    and the security headers."""
    content_type = content_type or _CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        raise NotFoundError("There is nothing at this address.")
    stat = path.stat()
    return _respond(path.read_bytes, stat.st_size, content_type, f"{stat.st_mtime_ns:x}-{stat.st_size:x}", request)


def serve_bytes(content: bytes, content_type: str, request: Request) -> Response:
    """Content made in code (a page, a script), its ETag from its digest, and the security headers."""
    tag = hashlib.sha256(content).hexdigest()[:32]
    return _respond(lambda: content, len(content), content_type, tag, request)


def _respond(
    read: Callable[[], bytes],
    size: int,
    content_type: str,
    tag: str,
    request: Request,
    cache_control: str = "no-cache",
) -> Response:
    """`tag` names the content; each encoding has its own ETag (`"<tag>"`, `"<tag>-gzip"`), and either answers 304:
    the browser's copy, in whichever encoding, is still the content.

    `Vary: Accept-Encoding` goes with every answer whose content is sent compressed to some browsers, including a
    304; an uncompressed 200 of such a content gets it from the app's GZipMiddleware (which adds it to any body over
    the same threshold: set here too, it would be listed twice)."""
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control}
    varies = content_type.startswith(_COMPRESSIBLE) and size >= COMPRESS_MIN_BYTES
    use_gzip = varies and _accepts_gzip(request.headers.get("accept-encoding"))
    identity_tag, gzip_tag = f'"{tag}"', f'"{tag}-gzip"'
    headers["ETag"] = gzip_tag if use_gzip else identity_tag
    if _matches(request.headers.get("if-none-match"), {identity_tag, gzip_tag}):
        if varies:
            headers["Vary"] = "Accept-Encoding"
        return Response(status_code=304, headers=headers)
    content = read()
    if use_gzip:
        headers["Vary"] = "Accept-Encoding"
        headers["Content-Encoding"] = "gzip"
        content = _gzipped(tag, content)
    return Response(content, media_type=content_type, headers=headers)


def _serve_page_file(name: str, request: Request, version: str | None = None) -> Response:
    asset = _page_files.current().get(name)
    if asset is None:
        raise NotFoundError("There is nothing at this address.")
    content_type = _CONTENT_TYPES[Path(name).suffix]
    # Only the current version is immutable: an old address may answer new content, which must not stick.
    cache_control = IMMUTABLE if version == asset.version else "no-cache"
    return _respond(lambda: asset.body, len(asset.body), content_type, asset.digest, request, cache_control)


@router.api_route("/", methods=["GET", "HEAD"])
def index(request: Request) -> Response:
    return _serve_page_file("index.html", request)


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static_file(name: str, request: Request, v: str | None = None) -> Response:
    if not _STATIC_NAME.match(name) or ".." in name:
        raise NotFoundError("There is nothing at this address.")
    return _serve_page_file(name, request, v)


def asset_version(name: str) -> str:
    """The current content version of a page file (for tests and tools that build its address)."""
    asset = _page_files.current().get(name)
    if asset is None:
        raise KeyError(name)
    return asset.version
