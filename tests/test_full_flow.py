"""The whole connect flow over real HTTP, as a browser and a frontend would do it: a live API process (uvicorn) on
its own database, the sandbox server, the sandbox's consent page submitted as an HTML form. Then re-authorising
keeps the same accounts. The API's log is read at the end: a line per request, and no secret in it."""

import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.harness.live import LiveApi
from tests.harness.sandbox import SandboxControl

PASSWORD = "a long and secret passphrase"


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.method = ""
        self.customers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.method = str(values.get("method", "get")).lower()
        if tag == "input" and values.get("name") == "customer" and values.get("value"):
            self.customers.append(str(values["value"]))


@pytest.fixture
def live_api(tmp_path: Path, isolated_database_url: str, sandbox: SandboxControl) -> Iterator[LiveApi]:
    api = LiveApi(
        tmp_path / "api.log",
        env={"DATABASE_URL": isolated_database_url, "GOCARDLESS_BASE_URL": sandbox.base_url},
    )
    try:
        yield api
    finally:
        api.stop()


class Browser:
    """Counts every request made to the API, to compare with the API's log lines."""

    def __init__(self, api: LiveApi) -> None:
        self.api = api
        self.http = httpx.Client(timeout=30)
        self.api_requests = 0

    def call(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        if url.startswith(self.api.base_url):
            self.api_requests += 1
        return self.http.request(method, url, **kwargs)  # type: ignore[arg-type]

    def consent(self, link: str, customer: str) -> dict[str, list[str]]:
        """Open the bank's page, approve as `customer`, follow the bank's redirect to our callback, and return
        the query our callback put on the way back to the frontend."""
        page = self.call("GET", link)
        assert page.status_code == 200
        form = _Form()
        form.feed(page.text)
        assert form.method == "post"
        assert customer in form.customers
        bank = self.call("POST", link, data={"customer": customer, "action": "approve"}, follow_redirects=False)
        callback = bank.headers["location"]
        assert callback.startswith(f"{self.api.base_url}/api/connections/callback?ref=")
        back = self.call("GET", callback, follow_redirects=False)
        assert back.status_code == 303
        return parse_qs(urlsplit(back.headers["location"]).query)


class TestFullFlow:
    def test_register_connect_approve_then_reauthorise(
        self, live_api: LiveApi, sandbox: SandboxControl, isolated_database_url: str
    ) -> None:
        browser = Browser(live_api)
        base = live_api.base_url
        assert (
            browser.call(
                "POST", f"{base}/auth/register", json={"email": "flow@example.com", "password": PASSWORD}
            ).status_code
            == 201
        )
        token = browser.call(
            "POST", f"{base}/auth/token", data={"username": "flow@example.com", "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}

        banks = browser.call("GET", f"{base}/api/institutions", params={"country": "GB"}, headers=headers).json()
        assert "SANDBOXFINANCE_SFIN0000" in [bank["id"] for bank in banks["items"]]
        created = browser.call(
            "POST", f"{base}/api/connections", json={"institution_id": "SANDBOXFINANCE_SFIN0000"}, headers=headers
        ).json()
        connection_id = created["connection"]["id"]
        outcome = browser.consent(created["link"], "alice")
        assert outcome["status"] == ["active"]
        assert outcome["connection_id"] == [connection_id]

        connection = browser.call("GET", f"{base}/api/connections/{connection_id}", headers=headers).json()
        assert connection["status"] == "active"
        accounts = browser.call(
            "GET", f"{base}/api/accounts", params={"connection_id": connection_id}, headers=headers
        ).json()["items"]
        assert len(accounts) == 2
        first_ids = sorted(account["id"] for account in accounts)

        engine = create_engine(isolated_database_url)
        with engine.begin() as db:  # the agreement runs out
            db.execute(text("UPDATE connections SET expires_at = now() - interval '1 hour'"))
        engine.dispose()
        renewed = browser.call("POST", f"{base}/api/connections/{connection_id}/reauthorise", headers=headers).json()
        assert browser.consent(renewed["link"], "alice")["status"] == ["active"]
        accounts = browser.call(
            "GET", f"{base}/api/accounts", params={"connection_id": connection_id}, headers=headers
        ).json()["items"]
        assert sorted(account["id"] for account in accounts) == first_ids
        assert (
            browser.call("GET", f"{base}/api/connections/{connection_id}", headers=headers).json()["status"] == "active"
        )

        # The access line is written once the answer has gone out: the last one may trail the answer a little.
        deadline = time.monotonic() + 10
        while True:
            logs = live_api.logs()
            request_lines = [
                line
                for line in logs.splitlines()
                if re.search(r" src\.api\.access \"?request", line) and "path=/health " not in line  # the harness's
            ]
            if len(request_lines) >= browser.api_requests or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert request_lines, "the API logged no request: the secret search below would prove nothing"
        assert len(request_lines) == browser.api_requests
        for secret in (PASSWORD, token["access_token"], token["refresh_token"], sandbox.secret_key, sandbox.secret_id):
            assert secret not in logs
        assert "ref=" not in logs  # the callback's capability stays out of the logs
