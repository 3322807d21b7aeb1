"""The web page is served at `/` with its static files, strict security headers, and nothing else of `src/`."""

import re

import pytest
from fastapi.testclient import TestClient

from src.api.web import WEB_DIR


class TestPage:
    def test_root_serves_the_page_with_strict_headers(self, client: TestClient) -> None:
        response = client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/static/app.js"></script>' in response.text
        csp = response.headers["content-security-policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-cache"

    def test_an_unchanged_file_answers_304_to_its_etag(self, client: TestClient) -> None:
        etag = client.get("/").headers["etag"]
        again = client.get("/", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""

    def test_a_weak_or_listed_etag_from_a_proxy_also_answers_304(self, client: TestClient) -> None:
        etag = client.get("/static/app.js").headers["etag"]
        assert client.get("/static/app.js", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
        assert client.get("/static/app.js", headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
        assert client.get("/static/app.js", headers={"If-None-Match": '"other"'}).status_code == 200

    def test_head_answers_like_get_without_a_body(self, client: TestClient) -> None:
        response = client.head("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.content == b""

    def test_the_page_needs_no_inline_script_or_style(self) -> None:
        """The CSP forbids inline script and style: the page must not rely on either."""
        html = (WEB_DIR / "index.html").read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, tag
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)


class TestStatic:
    @pytest.mark.parametrize(
        ("path", "content_type"),
        [
            ("/static/app.js", "text/javascript"),
            ("/static/api.js", "text/javascript"),
            ("/static/style.css", "text/css"),
            ("/static/favicon.svg", "image/svg+xml"),
        ],
    )
    def test_assets_are_served_with_their_content_type(self, client: TestClient, path: str, content_type: str) -> None:
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache"

    @pytest.mark.parametrize(
        "path",
        [
            "/static/..%2f..%2fsettings.py",
            "/static/..%2fapi%2fapp.py",
            "/static/../api/app.py",
            "/static/%2e%2e/%2e%2e/settings.py",
            "/static/__init__.py",
            "/static/missing.js",
            "/static/.hidden.js",
            "/static/web/app.js",
        ],
    )
    def test_nothing_outside_the_page_files_is_served(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "import" not in response.text

    def test_the_folder_is_found_from_the_module_not_the_working_directory(
        self, client: TestClient, tmp_path: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(str(tmp_path))
        assert client.get("/static/style.css").status_code == 200


class TestSchema:
    def test_the_page_stays_out_of_the_openapi_document(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert "/" not in paths
        assert not any(path.startswith("/static") for path in paths)
        assert "/api/meta" in paths
