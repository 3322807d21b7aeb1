"""Headers an attacker could use: the `Host` header is never echoed in a redirect, and `/docs` is Swagger UI from
finsync itself under the page's Content-Security-Policy.

`api_client` is the app in-process. The browser test loads `/docs` from a live uvicorn (tests/harness/live.py) in
headless Chromium (Debian's package, as in tests/e2e; skipped where it is missing, failed in CI) and records every
request the page makes and every CSP violation it reports.
"""

import os
import re
import shutil

import pytest
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from src.api.redirects import RelativeSlashRedirect
from src.api.web import CONTENT_SECURITY_POLICY
from tests.harness.live import LiveApi

FORGED_HOST = "evil.example"
ASSET_REFERENCE = re.compile(r'(?:src|href)="([^"]*)"')


class TestSlashRedirects:
    @pytest.mark.parametrize(
        ("path", "location"),
        [
            ("/api/connections/", "/api/connections"),
            ("/api/institutions/?country=GB&q=a%20b", "/api/institutions?country=GB&q=a%20b"),
            ("/health/", "/health"),
            ("/docs/", "/docs"),
        ],
    )
    def test_a_forged_host_is_never_echoed(self, api_client: TestClient, path: str, location: str) -> None:
        response = api_client.get(path, headers={"Host": FORGED_HOST}, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == location
        assert FORGED_HOST not in response.text

    def test_the_relative_redirect_leads_to_the_resource(self, api_client: TestClient) -> None:
        assert api_client.get("/health/").json()["status"] == "ok"

    @pytest.mark.parametrize("path", ["/\\evil.example/health/", "/no-such-page/", "/health%2F"])
    def test_no_redirect_to_nothing(self, api_client: TestClient, path: str) -> None:
        response = api_client.get(path, headers={"Host": FORGED_HOST}, follow_redirects=False)
        assert response.status_code == 404
        assert "location" not in response.headers

    @pytest.mark.parametrize("path", ["//evil.example/x/", "/\\evil.example/x/", "//evil.example/x"])
    def test_never_a_location_that_names_another_host(self, path: str) -> None:
        """With a route that matches any path, only the guard stands between such a path and a redirect to
        `//evil.example/x`, which a browser reads as another host."""
        router = Router(routes=[Route("/{rest:path}", endpoint=PlainTextResponse("any"))])
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b""}
        assert RelativeSlashRedirect(router, router.not_found)._target(scope) is None
        assert (
            RelativeSlashRedirect(router, router.not_found)._target({**scope, "path": "/x/", "raw_path": b"/x/"})
            == "/x"
        )


class TestDocs:
    def test_the_page_references_only_same_origin_assets_that_answer(self, api_client: TestClient) -> None:
        page = api_client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        # Nothing inline for the policy to refuse.
        assert "<script>" not in page.text
        assert "style=" not in page.text
        references = ASSET_REFERENCE.findall(page.text)
        assert len(references) == 4
        for reference in references:
            assert reference.startswith("/"), reference
            assert not reference.startswith("//"), reference
            asset = api_client.get(reference)
            assert asset.status_code == 200, reference
            assert asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert asset.headers["x-content-type-options"] == "nosniff"
        bundle = api_client.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert len(bundle.content) > 500_000  # the real Swagger UI, not a stub

    def test_assets_revalidate_with_their_etag(self, api_client: TestClient) -> None:
        for path in ("/docs", "/docs/start.js", "/docs/assets/swagger-ui.css"):
            etag = api_client.get(path).headers["etag"]
            assert api_client.get(path, headers={"If-None-Match": etag}).status_code == 304

    @pytest.mark.parametrize(
        "path",
        [
            "/redoc",
            "/docs/oauth2-redirect",
            "/docs/assets/index.html",
            "/docs/assets/swagger-initializer.js",
            "/docs/assets/..%2F..%2F__init__.py",
            "/docs/assets/%2e%2e",
        ],
    )
    def test_nothing_else_is_served(self, api_client: TestClient, path: str) -> None:
        assert api_client.get(path).status_code == 404

    def test_the_openapi_document_stays_where_swagger_ui_reads_it(self, api_client: TestClient) -> None:
        assert '"/openapi.json"' in api_client.get("/docs/start.js").text
        assert api_client.get("/openapi.json").status_code == 200


def _chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "Chromium is not installed (`apt-get install chromium`, or set CHROMIUM_PATH): the /docs test needs it."
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class TestDocsInABrowser:
    def test_swagger_ui_runs_under_the_policy_from_finsync_alone(self, live_api: LiveApi) -> None:
        from playwright.sync_api import sync_playwright

        executable = _chromium()
        requested: list[str] = []
        violations: list[str] = []
        errors: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox"])
            try:
                page = browser.new_page()
                page.on("request", lambda request: requested.append(request.url))
                page.on(
                    "console",
                    lambda message: (
                        violations.append(message.text) if "Content Security Policy" in message.text else None
                    ),
                )
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"{live_api.base_url}/docs")
                page.wait_for_selector(".opblock", timeout=30_000)
                operations = page.locator(".opblock").count()
                # Try it out on GET /health: Swagger UI's own call to the API is allowed by `connect-src 'self'`.
                health = page.locator("#operations-health-health_check")
                health.locator(".opblock-summary").click()
                health.locator(".try-out__btn").click()
                health.locator(".execute").click()
                status = health.locator(".live-responses-table tbody .response-col_status").first.inner_text()
            finally:
                browser.close()
        assert operations >= 10
        assert status.strip() == "200"
        assert violations == []
        assert errors == []
        assert requested
        assert [url for url in requested if not url.startswith(live_api.base_url + "/")] == []
