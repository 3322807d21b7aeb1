"""Every institution's logo URL answers with an image, as GoCardless's do.

Fixture: `sandbox` (tests/harness/sandbox.py), the sandbox server over HTTP, reset before each test. The URLs are
taken from the institution payloads exactly as a client receives them, never built by the test.
"""

import struct
import zlib
from collections.abc import Iterator

import httpx
import pytest

from src.sandbox.catalogue import SERVED_COUNTRIES
from tests.harness.sandbox import SandboxControl


@pytest.fixture
def api(sandbox: SandboxControl) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.token()}"}
    with httpx.Client(base_url=sandbox.api_url, headers=headers, timeout=10) as client:
        yield client


def _logo_urls(api: httpx.Client) -> dict[str, str]:
    """institution id → logo URL, from every served country's list and from each institution's own payload."""
    urls: dict[str, str] = {}
    for country in SERVED_COUNTRIES:
        response = api.get("/institutions/", params={"country": country})
        assert response.status_code == 200, response.text
        for institution in response.json():
            urls[institution["id"]] = institution["logo"]
    for institution_id, url in urls.items():
        detailed = api.get(f"/institutions/{institution_id}/")
        assert detailed.status_code == 200, detailed.text
        assert detailed.json()["logo"] == url
    return urls


def _png_size(body: bytes) -> tuple[int, int]:
    """Width and height of a PNG whose chunks all check out and whose pixels decompress to that size."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, {}
    while offset < len(body):
        (length,) = struct.unpack(">I", body[offset : offset + 4])
        kind, data = body[offset + 4 : offset + 8], body[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", body[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == crc, kind
        chunks[kind] = data
        offset += 12 + length
    assert list(chunks)[-1] == b"IEND"
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    return width, height


def test_every_institution_logo_answers_with_an_image(sandbox: SandboxControl, api: httpx.Client) -> None:
    urls = _logo_urls(api)
    assert len(urls) >= 10
    bodies = set()
    with httpx.Client(timeout=10) as browser:  # no Authorization: logos are public, as GoCardless's are
        for institution_id, url in urls.items():
            response = browser.get(url)
            assert response.status_code == 200, (institution_id, url)
            assert response.headers["content-type"] == "image/png"
            width, height = _png_size(response.content)
            assert width == height >= 32
            bodies.add(response.content)
    assert len(bodies) == len(urls), "each bank has a logo of its own"


def test_an_unknown_logo_is_not_found(sandbox: SandboxControl) -> None:
    response = httpx.get(f"{sandbox.base_url}/logos/NO_SUCH_BANK.png", timeout=10)
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
