"""Institution logos at the URL each institution's payload names (`{public url}/logos/{id}.png`).

GoCardless serves a PNG for every institution; clients (our page, the official client's users) show it beside the
bank's name, so a URL that answers 404 is a divergence a client may trip on. Each logo is a small identicon drawn
from the institution id — the same picture on every run, different for each bank — written as a PNG with the
standard library only (the sandbox has no image dependency).
"""

import hashlib
import struct
import zlib
from functools import cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from src.sandbox import errors
from src.sandbox.catalogue import INSTITUTIONS_BY_ID

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


async def logo(request: Request) -> Response:
    institution_id = request.path_params["institution_id"]
    if institution_id not in INSTITUTIONS_BY_ID:
        return errors.not_found()
    return Response(
        logo_png(institution_id),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


ROUTES = [Route("/logos/{institution_id}.png", logo, methods=["GET"])]
