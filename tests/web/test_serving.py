"""The web page is served at `/` with its static files, strict security headers, and nothing else of `src/`; its
files are compressed and, under versioned addresses, cached for a year."""

import gzip
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from src.api import web
from src.api.web import WEB_DIR, asset_version

IMMUTABLE = "public, max-age=31536000, immutable"
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
VERSIONED_IMPORT = re.compile(r"""\b(?:from|import)\s*\(?\s*["']\./([\w.-]+\.js)\?v=(\w+)["']""")
ANY_SIBLING_IMPORT = re.compile(r"""\b(?:from|import)\s*\(?\s*["']\./([\w.-]+\.js)[^"']*["']""")


def _static_addresses(html: str) -> dict[str, str]:
    """`name → address` of every `/static/` file the page refers to."""
    return {name: f"/static/{name}{query}" for name, query in re.findall(r'"/static/([\w.-]+)(\?v=\w+)?"', html)}


class TestPage:
    def test_root_serves_the_page_with_strict_headers(self, client: TestClient) -> None:
        response = client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert f'<script type="module" src="/static/app.js?v={asset_version("app.js")}"></script>' in response.text
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
        # An address without the version may be the one of an earlier content: never cached without asking.
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


class TestCaching:
    def test_the_page_refers_to_each_file_by_its_version_and_those_addresses_are_immutable(
        self, client: TestClient
    ) -> None:
        page = client.get("/")
        assert page.headers["cache-control"] == "no-cache"
        addresses = _static_addresses(page.text)
        assert set(addresses) == {"app.js", "style.css", "favicon.svg"}
        for name, address in addresses.items():
            assert address == f"/static/{name}?v={asset_version(name)}"
            response = client.get(address)
            assert response.status_code == 200
            assert response.headers["cache-control"] == IMMUTABLE
            assert response.content == client.get(f"/static/{name}").content

    def test_an_outdated_version_answers_the_current_file_without_caching_it(self, client: TestClient) -> None:
        response = client.get("/static/app.js?v=0123456789abcdef")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        assert response.content == client.get(f"/static/app.js?v={asset_version('app.js')}").content

    def test_every_module_the_page_loads_is_reached_through_versioned_imports(self, client: TestClient) -> None:
        """The browser resolves `./x.js` against the importing module's address without its query: unversioned
        imports would be asked again (or be stale) on every visit. Every import the page's modules make is versioned,
        and following them from app.js reaches every module, each immutable."""
        todo = [_static_addresses(client.get("/").text)["app.js"]]
        seen: set[str] = set()
        while todo:
            address = todo.pop()
            module = client.get(address)
            assert module.status_code == 200, address
            assert module.headers["cache-control"] == IMMUTABLE, address
            imports = ANY_SIBLING_IMPORT.findall(module.text)
            versioned = VERSIONED_IMPORT.findall(module.text)
            assert len(versioned) == len(imports), (address, imports)
            for name, version in versioned:
                assert version == asset_version(name)
                if name not in seen:
                    seen.add(name)
                    todo.append(f"/static/{name}?v={version}")
        reached = seen | {"app.js"}
        assert {"api.js", "connections.js", "words.js", "dom.js", "history.js"} <= reached
        assert reached == {path.name for path in WEB_DIR.glob("*.js")}

    def test_an_edit_deep_in_the_import_chain_gives_new_addresses_up_to_the_page(
        self, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No build step: an edit shows on reload. dom.js is imported by words.js, which app.js imports: all three get
        a new version (so the browser cannot keep an old app.js that imports the old words.js), the page's address
        of app.js changes, and a module that reaches none of them (totals.js) keeps its version and cache."""
        folder = tmp_path / "web"
        shutil.copytree(WEB_DIR, folder)
        monkeypatch.setattr(web, "_page_files", web._Assets(folder))
        before = {name: asset_version(name) for name in ("app.js", "words.js", "dom.js", "totals.js", "style.css")}
        page = client.get("/").text
        assert _static_addresses(page)["app.js"] == f"/static/app.js?v={before['app.js']}"

        (folder / "dom.js").write_text((folder / "dom.js").read_text() + "\n// edited\n")
        after = {name: asset_version(name) for name in before}
        assert after["dom.js"] != before["dom.js"]
        assert after["words.js"] != before["words.js"]
        assert after["app.js"] != before["app.js"]
        assert after["totals.js"] == before["totals.js"]
        assert after["style.css"] == before["style.css"]
        reloaded = client.get("/", headers={"If-None-Match": client.get("/").headers["etag"]})
        assert reloaded.status_code == 304
        assert _static_addresses(client.get("/").text)["app.js"] == f"/static/app.js?v={after['app.js']}"
        assert _static_addresses(page) != _static_addresses(client.get("/").text)
        words = client.get(f"/static/words.js?v={after['words.js']}").text
        assert f'"./dom.js?v={after["dom.js"]}"' in words
        assert client.get("/static/dom.js").text.endswith("// edited\n")


class TestCompression:
    @pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css", "/static/connections.js"])
    def test_text_goes_gzip_compressed_to_a_browser_that_accepts_it(self, client: TestClient, path: str) -> None:
        compressed = client.get(path, headers=GZIP)
        plain = client.get(path, headers=IDENTITY)
        assert compressed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert compressed.content == plain.content  # decoded by the client
        assert int(compressed.headers["content-length"]) < len(plain.content) / 2
        # Caches keep the two apart, listed once.
        for response in (compressed, plain):
            assert [item.strip().lower() for item in response.headers["vary"].split(",")] == ["accept-encoding"]
        assert compressed.headers["etag"] != plain.headers["etag"]

    def test_a_file_too_small_to_gain_goes_as_it_is_without_vary(self, client: TestClient) -> None:
        assert (WEB_DIR / "favicon.svg").stat().st_size < web.COMPRESS_MIN_BYTES
        response = client.get("/static/favicon.svg", headers=GZIP)
        assert "content-encoding" not in response.headers
        assert "vary" not in response.headers

    def test_304_answers_either_encodings_etag_and_keeps_vary(self, client: TestClient) -> None:
        address = _static_addresses(client.get("/").text)["app.js"]
        for headers in (GZIP, IDENTITY):
            etag = client.get(address, headers=headers).headers["etag"]
            for asking in (GZIP, IDENTITY):
                again = client.get(address, headers={**asking, "If-None-Match": etag})
                assert again.status_code == 304
                assert again.headers["vary"] == "Accept-Encoding"
                assert again.headers["cache-control"] == IMMUTABLE
        page_etag = client.get("/", headers=GZIP).headers["etag"]
        assert client.get("/", headers={**GZIP, "If-None-Match": f"W/{page_etag}"}).status_code == 304

    def test_the_compressed_body_is_plain_gzip(self, client: TestClient) -> None:
        with client.stream("GET", "/static/app.js", headers=GZIP) as response:
            raw = b"".join(response.iter_raw())
        assert gzip.decompress(raw) == (client.get("/static/app.js", headers=IDENTITY).content)

    def test_api_json_is_compressed_too(self, client: TestClient) -> None:
        response = client.get("/openapi.json", headers=GZIP)
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.json()["openapi"]
        assert "content-encoding" not in client.get("/openapi.json", headers=IDENTITY).headers

    def test_a_streamed_answer_still_arrives_chunk_by_chunk(self) -> None:
        """Compression must not hold a stream back until its end: each chunk is sent (compressed) when it is
        produced. Seen at the ASGI level, where the messages are."""
        import anyio
        from fastapi.responses import StreamingResponse

        from src.api.app import create_app

        app = create_app()
        chunks = [b"x" * 2000 + bytes([index]) for index in range(3)]

        async def stream() -> object:
            for chunk in chunks:
                yield chunk

        app.add_api_route("/_stream", lambda: StreamingResponse(stream(), media_type="text/plain"))
        sent: list[dict[str, object]] = []

        async def run() -> None:
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/_stream",
                "raw_path": b"/_stream",
                "query_string": b"",
                "headers": [(b"accept-encoding", b"gzip"), (b"host", b"test")],
                "http_version": "1.1",
                "scheme": "http",
                "server": ("test", 80),
                "client": ("127.0.0.1", 1),
                "root_path": "",
            }

            requested = False

            async def receive() -> dict[str, object]:
                nonlocal requested
                if not requested:
                    requested = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                await anyio.sleep_forever()  # the client stays connected
                raise AssertionError

            async def send(message: dict[str, object]) -> None:
                sent.append(message)

            await app(scope, receive, send)

        anyio.run(run)
        bodies = [message for message in sent if message["type"] == "http.response.body"]
        start = next(message for message in sent if message["type"] == "http.response.start")
        assert (b"content-encoding", b"gzip") in start["headers"]  # type: ignore[operator]
        decompressor = __import__("zlib").decompressobj(16 + 15)
        produced = [decompressor.decompress(message["body"]) for message in bodies]  # type: ignore[arg-type]
        # Each chunk decodes on arrival (a sync flush per chunk), not only once the stream has ended.
        assert [part for part in produced if part][: len(chunks)] == chunks


class TestSchema:
    def test_the_page_stays_out_of_the_openapi_document(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert "/" not in paths
        assert not any(path.startswith("/static") for path in paths)
        assert "/api/meta" in paths
