"""`GET /api/institutions/{id}/logo`: a bank's logo from finsync's own origin, fetched over real HTTP from the URL
its provider gave.

Fixtures: `api` is the app in-process with its GoCardless calls going to the GoCardless sandbox (`sandbox`, reset
before each test), whose institution payloads name logo URLs it serves itself (`/logos/{id}.png`, a PNG) and whose
`/_sandbox/logos` makes one bank's logo URL fail or answer something else; `/_sandbox/counters` counts the logo
requests the sandbox received. `eb_api` adds the Enable Banking sandbox, whose banks' logos are SVGs. The banks
are listed through `GET /api/institutions` first, as the page does, so the logo URLs are the providers' own.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from src.institutions.logos import MAX_LOGO_BYTES, fetch_logo
from src.models import InstitutionLogo
from src.sandbox.logos import logo_png
from src.settings import Environment, settings
from tests.harness.enablebanking import EnableBankingSandboxServer, sandbox_enablebanking_client
from tests.harness.sandbox import SandboxControl

BANK = "SANDBOXFINANCE_SFIN0000"
OTHER_BANK = "THISTLE_THSTGB2L"
LOGO_CALLS = "GET /logos/{id}.png"


def _list(api: TestClient, headers: dict[str, str], country: str = "GB") -> list[dict[str, Any]]:
    response = api.get("/api/institutions", params={"country": country}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _logo_calls(sandbox: SandboxControl) -> int:
    calls: int = sandbox.counters()["endpoints"].get(LOGO_CALLS, 0)
    return calls


def _answer(sandbox: SandboxControl, institution_id: str, answer: str) -> None:
    response = httpx.post(
        f"{sandbox.base_url}/_sandbox/logos", json={"institution_id": institution_id, "answer": answer}, timeout=10
    )
    assert response.status_code == 204, response.text


@pytest.fixture
def listed(api: TestClient, headers: dict[str, str], sandbox: SandboxControl) -> None:
    """GB's banks listed (as the page does before it shows logos), the sandbox's counters zeroed after."""
    _list(api, headers)
    sandbox.reset_counters()


@pytest.mark.usefixtures("listed")
class TestServedFromOurOrigin:
    def test_the_banks_png_with_long_caching_and_no_sign_in(self, api: TestClient, sandbox: SandboxControl) -> None:
        response = api.get(f"/api/institutions/{BANK}/logo")  # no Authorization: an <img> sends none
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.content == logo_png(BANK)
        assert response.headers["cache-control"] == "public, max-age=604800"
        assert response.headers["etag"].startswith('"')
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert _logo_calls(sandbox) == 1

    def test_a_second_read_is_served_from_the_store_without_asking_the_provider(
        self, api: TestClient, sandbox: SandboxControl
    ) -> None:
        first = api.get(f"/api/institutions/{BANK}/logo")
        second = api.get(f"/api/institutions/{BANK}/logo")
        again = api.get(f"/api/institutions/{BANK}/logo", headers={"If-None-Match": first.headers["etag"]})
        assert (first.status_code, second.status_code, again.status_code) == (200, 200, 304)
        assert second.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert _logo_calls(sandbox) == 1

    def test_each_bank_has_its_own(self, api: TestClient) -> None:
        ours = api.get(f"/api/institutions/{BANK}/logo")
        other = api.get(f"/api/institutions/{OTHER_BANK}/logo")
        assert ours.status_code == other.status_code == 200
        assert ours.content != other.content
        assert ours.headers["etag"] != other.headers["etag"]


@pytest.mark.usefixtures("listed")
class TestRefused:
    def test_a_bank_finsync_has_not_listed_is_not_found_and_nothing_is_asked(
        self, api: TestClient, sandbox: SandboxControl
    ) -> None:
        response = api.get("/api/institutions/NO_SUCH_BANK_XX/logo")
        assert response.status_code == 404
        assert response.json()["code"] == "institution_not_found"
        assert sandbox.counters()["endpoints"] == {}

    def test_an_id_that_cannot_be_one_is_refused_at_the_edge(self, api: TestClient) -> None:
        response = api.get("/api/institutions/..%2F..%2Fhealth/logo")
        assert response.status_code in {404, 422}
        assert api.get("/api/institutions/-x/logo").status_code == 422

    @pytest.mark.parametrize("answer", ["missing", "server_error", "not_an_image", "oversized"])
    def test_a_logo_url_that_gives_no_image_is_not_found(
        self, api: TestClient, sandbox: SandboxControl, answer: str
    ) -> None:
        _answer(sandbox, BANK, answer)
        response = api.get(f"/api/institutions/{BANK}/logo")
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        assert _logo_calls(sandbox) == 1

    def test_a_failure_is_remembered_for_an_hour_then_tried_again(
        self, api: TestClient, sandbox: SandboxControl, db_session: Session
    ) -> None:
        _answer(sandbox, BANK, "server_error")
        assert api.get(f"/api/institutions/{BANK}/logo").status_code == 404
        httpx.delete(f"{sandbox.base_url}/_sandbox/logos", timeout=10).raise_for_status()  # the CDN is back
        assert api.get(f"/api/institutions/{BANK}/logo").status_code == 404
        assert _logo_calls(sandbox) == 1  # not asked again so soon
        db_session.execute(
            update(InstitutionLogo)
            .where(InstitutionLogo.institution_id == BANK)
            .values(failed_at=datetime.now(UTC) - timedelta(hours=1, minutes=1))
        )
        response = api.get(f"/api/institutions/{BANK}/logo")
        assert response.status_code == 200
        assert response.content == logo_png(BANK)
        assert _logo_calls(sandbox) == 2

    def test_a_stored_logo_outlives_a_failed_refresh(
        self, api: TestClient, sandbox: SandboxControl, db_session: Session
    ) -> None:
        assert api.get(f"/api/institutions/{BANK}/logo").status_code == 200
        db_session.execute(
            update(InstitutionLogo)
            .where(InstitutionLogo.institution_id == BANK)
            .values(fetched_at=datetime.now(UTC) - timedelta(days=31))
        )
        _answer(sandbox, BANK, "missing")
        response = api.get(f"/api/institutions/{BANK}/logo")
        assert response.status_code == 200
        assert response.content == logo_png(BANK)
        assert _logo_calls(sandbox) == 2  # the refresh was tried, and failed

    def test_an_svg_is_served_so_that_it_cannot_run_a_script(self, api: TestClient, sandbox: SandboxControl) -> None:
        """Served as an image only: in <img> an SVG's script never runs, and opened on its own the policy forbids
        scripts and every load (`sandbox` makes it an opaque origin too)."""
        _answer(sandbox, BANK, "svg")
        response = api.get(f"/api/institutions/{BANK}/logo")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/svg+xml"
        policy = {part.strip() for part in response.headers["content-security-policy"].split(";")}
        assert {"default-src 'none'", "sandbox"} <= policy
        assert not any(part.startswith("script-src") for part in policy)
        assert response.headers["x-content-type-options"] == "nosniff"

    def test_in_production_a_logo_url_must_be_https_to_a_public_address(
        self, api: TestClient, sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The sandbox's logo URLs are http on loopback: in production they are refused without a request."""
        monkeypatch.setattr(settings, "finsync_env", Environment.production)
        assert api.get(f"/api/institutions/{BANK}/logo").status_code == 404
        assert _logo_calls(sandbox) == 0


class TestFetch:
    """The fetch alone, against the sandbox's answers (no database)."""

    def test_the_size_cap_is_checked_on_the_bytes_too(self, sandbox: SandboxControl) -> None:
        """A server that sends no Content-Length (chunked) is cut at the cap as it streams."""
        _answer(sandbox, BANK, "oversized")

        def chunked(request: httpx.Request) -> httpx.Response:
            body = httpx.get(str(request.url), timeout=10).content
            assert len(body) > MAX_LOGO_BYTES
            return httpx.Response(200, headers={"Content-Type": "image/png"}, content=iter([body]))

        with httpx.Client(transport=httpx.MockTransport(chunked)) as client, pytest.raises(Exception, match="more"):
            fetch_logo(f"{sandbox.base_url}/logos/{BANK}.png", production=False, http=client)

    def test_a_redirect_is_followed_and_each_hop_checked(self, sandbox: SandboxControl) -> None:
        target = f"{sandbox.base_url}/logos/{BANK}.png"
        seen: list[str] = []

        def redirect_once(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            if request.url.path == "/brand":
                return httpx.Response(302, headers={"Location": target})
            real = httpx.get(str(request.url), timeout=10)
            return httpx.Response(200, headers={"Content-Type": real.headers["content-type"]}, content=real.content)

        with httpx.Client(transport=httpx.MockTransport(redirect_once)) as client:
            logo = fetch_logo(f"{sandbox.base_url}/brand", production=False, http=client)
            assert logo.content == logo_png(BANK)
            assert seen == [f"{sandbox.base_url}/brand", target]
            with pytest.raises(Exception, match="refused URL"):
                fetch_logo("https://127.0.0.1/brand", production=True, http=client)


@pytest.fixture
def eb_api(api: TestClient, enablebanking_sandbox_server: EnableBankingSandboxServer) -> Iterator[TestClient]:
    from src.kit.dependencies import get_enablebanking

    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        api.app.dependency_overrides[get_enablebanking] = lambda: client  # type: ignore[attr-defined]
        yield api


def test_an_enable_banking_banks_svg_logo_is_served(
    eb_api: TestClient, headers: dict[str, str], enablebanking_sandbox_server: EnableBankingSandboxServer
) -> None:
    """Enable Banking's sandbox serves each bank's logo (its initials, as SVG) at the URL its `/aspsps` names."""
    banks = [bank for bank in _list(eb_api, headers, "FI") if bank["provider"] == "enablebanking"]
    assert banks
    assert all(bank["logo"].startswith(enablebanking_sandbox_server.base_url) for bank in banks)
    response = eb_api.get(f"/api/institutions/{banks[0]['id']}/logo")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in response.content
    assert b">MA</text>" in response.content
