"""Every institution's logo URL answers with an image, as GoCardless's do.

Fixture: `sandbox` (tests/harness/sandbox.py), the sandbox server over HTTP, reset before each test. The URLs are
taken from the institution payloads exactly as a client receives them, never built by the test.
"""

import struct
import zlib
from collections.abc import Iterator

import httpx
import pytest

from src.sandbox.catalogue import SANDBOX_INSTITUTION_ID, SERVED_COUNTRIES
from tests.harness.enablebanking import EnableBankingSandboxControl
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


def test_a_logo_url_can_be_made_to_fail_or_answer_something_else(sandbox: SandboxControl, api: httpx.Client) -> None:
    """`/_sandbox/logos` for the clients' tests: one bank's logo fails, the others still answer; DELETE restores."""
    url = _logo_urls(api)[SANDBOX_INSTITUTION_ID]
    answers = {"missing": 404, "server_error": 500, "not_an_image": 200, "oversized": 200, "svg": 200}
    for answer, status in answers.items():
        httpx.post(
            f"{sandbox.base_url}/_sandbox/logos",
            json={"institution_id": SANDBOX_INSTITUTION_ID, "answer": answer},
            timeout=10,
        ).raise_for_status()
        response = httpx.get(url, timeout=10)
        assert response.status_code == status, answer
    assert response.headers["content-type"] == "image/svg+xml"
    httpx.delete(f"{sandbox.base_url}/_sandbox/logos", timeout=10).raise_for_status()
    assert httpx.get(url, timeout=10).headers["content-type"] == "image/png"
    assert sandbox.counters()["endpoints"]["GET /logos/{id}.png"] == len(answers) + 1


def test_every_enable_banking_bank_logo_is_an_svg_served_without_a_jwt(
    enablebanking_sandbox: EnableBankingSandboxControl,
) -> None:
    with enablebanking_sandbox.api() as signed:
        response = signed.get("/aspsps")
    assert response.status_code == 200, response.text
    aspsps = response.json()["aspsps"]
    assert len(aspsps) >= 5
    bodies = set()
    for aspsp in aspsps:
        assert aspsp["logo"].startswith(f"{enablebanking_sandbox.base_url}/brands/{aspsp['country']}/")
        logo = httpx.get(aspsp["logo"], timeout=10)  # no Authorization, as a browser asks
        assert logo.status_code == 200, aspsp["logo"]
        assert logo.headers["content-type"] == "image/svg+xml"
        assert logo.text.startswith("<svg")
        bodies.add(logo.text)
    assert len(bodies) == len(aspsps), "each bank has a logo of its own"
    missing = httpx.get(f"{enablebanking_sandbox.base_url}/brands/FI/No%20such%20bank/", timeout=10)
    assert missing.status_code == 404
