"""Institution logos at the URL each institution's payload names (`{public url}/logos/{id}.png`).

GoCardless serves a PNG for every institution; clients (our page, the official client's users) show it beside the
bank's name, so a URL that answers 404 is a divergence a client may trip on. Each logo is a small identicon drawn
from the institution id — the same picture on every run, different for each bank — written as a PNG with the
standard library only (the sandbox has no image dependency).

A client that shows logos must cope with a CDN that fails or answers something else: `POST /_sandbox/logos` makes
one institution's logo URL answer `missing` (404), `server_error` (500), `not_an_image` (an HTML page),
`oversized` (a PNG of 300 KiB) or `svg` (an SVG that carries a script) until the next reset or `DELETE`. Each
request to a logo URL is counted in `/_sandbox/counters` as `GET /logos/{id}.png`.
"""

import hashlib
import struct
import zlib
from functools import cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from src.sandbox import errors
from src.sandbox.api import state_of
from src.sandbox.catalogue import INSTITUTIONS_BY_ID
from src.sandbox.common import bad as _bad
from src.sandbox.common import read_json as _json

GRID = 5  # cells per side; the left half is mirrored, as identicons are
CELL = 12  # pixels per cell
MARGIN = 2  # pixels of background around the grid
SIZE = GRID * CELL + 2 * MARGIN
BACKGROUND = (0xF4, 0xF4, 0xF4)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _cells(digest: bytes) -> list[list[bool]]:
    """A symmetric GRID × GRID pattern from the digest's bits: the left columns and the middle one are drawn,
    the right ones mirror them."""
    half = (GRID + 1) // 2
    bits = int.from_bytes(digest[3:7], "big")
    cells = [[False] * GRID for _ in range(GRID)]
    for row in range(GRID):
        for column in range(half):
            on = bool(bits >> (row * half + column) & 1)
            cells[row][column] = cells[row][GRID - 1 - column] = on
    return cells


@cache
def logo_png(institution_id: str) -> bytes:
    """The PNG (8-bit RGB) for `institution_id`: its colour and pattern come from a hash of the id."""
    digest = hashlib.sha256(institution_id.encode()).digest()
    # A darkish colour, so the pattern stands out on the light background.
    foreground = tuple(40 + byte % 150 for byte in digest[:3])
    cells = _cells(digest)
    rows = []
    for y in range(SIZE):
        cell_row = (y - MARGIN) // CELL if MARGIN <= y < SIZE - MARGIN else None
        pixels = bytearray()
        for x in range(SIZE):
            cell_column = (x - MARGIN) // CELL if MARGIN <= x < SIZE - MARGIN else None
            on = cell_row is not None and cell_column is not None and cells[cell_row][cell_column]
            pixels.extend(foreground if on else BACKGROUND)
        rows.append(b"\x00" + bytes(pixels))  # filter type 0 (None) for each scanline
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit depth, truecolour, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


OVERSIZED = 300 * 1024
SVG_WITH_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
    '<script>parent.postMessage("logo script ran", "*")</script>'
    '<rect width="64" height="64" fill="#2a6f97"/></svg>'
)


def _answer(kind: str, institution_id: str) -> Response:
    """A logo URL failing or answering something else, as a CDN might."""
    if kind == "missing":
        return errors.not_found()
    if kind == "server_error":
        return Response("Internal Server Error", status_code=500, media_type="text/plain")
    if kind == "not_an_image":
        return Response("<!doctype html><title>Not here</title><p>Moved.</p>", media_type="text/html")
    if kind == "oversized":
        png = logo_png(institution_id)
        return Response(png + b"\x00" * (OVERSIZED - len(png)), media_type="image/png")
    return Response(SVG_WITH_SCRIPT, media_type="image/svg+xml")


LOGO_ANSWERS = ("missing", "server_error", "not_an_image", "oversized", "svg")


async def logo(request: Request) -> Response:
    state = state_of(request)
    state.endpoint_calls["GET /logos/{id}.png"] = state.endpoint_calls.get("GET /logos/{id}.png", 0) + 1
    institution_id = request.path_params["institution_id"]
    if institution_id not in INSTITUTIONS_BY_ID:
        return errors.not_found()
    answer = state.logo_answers.get(institution_id)
    if answer is not None:
        return _answer(answer, institution_id)
    return Response(
        logo_png(institution_id),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def logo_answers(request: Request) -> Response:
    """`POST {"institution_id": …, "answer": one of LOGO_ANSWERS}`; `DELETE`: every logo answers its PNG again."""
    state = state_of(request)
    if request.method == "DELETE":
        state.logo_answers.clear()
        return Response(status_code=204)
    body = await _json(request)
    institution_id, answer = body.get("institution_id"), body.get("answer")
    if institution_id not in INSTITUTIONS_BY_ID:
        return _bad(f"unknown institution {institution_id}", 404)
    if answer not in LOGO_ANSWERS:
        return _bad(f"answer must be one of {', '.join(LOGO_ANSWERS)}")
    state.logo_answers[institution_id] = answer
    return Response(status_code=204)


ROUTES = [
    Route("/logos/{institution_id}.png", logo, methods=["GET"]),
    Route("/_sandbox/logos", logo_answers, methods=["POST", "DELETE"]),
]
