"""Request bodies over MAX_REQUEST_BODY_BYTES get 413 in the error envelope, before they are read.

In-process (`api_client`) for the answers; a live uvicorn (tests/harness/live.py) on a database of its own for what
the in-process client cannot show: a body that really streams in chunks, and the server's memory (its peak
resident size, `VmHWM` in /proc) not growing by the size of the bodies it refused. The middleware alone is also
driven with a bare ASGI app and a `receive` that counts its calls: the only way to see that a declared length over
the limit is refused without reading anything.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from src.api.body_limit import BodyLimitMiddleware
from src.models import User
from src.settings import settings
from tests.harness.live import LiveApi

LIMIT = settings.max_request_body_bytes
MIB = 1024 * 1024


def _assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert str(LIMIT) in body["detail"]


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    block = b'{"email": "' + b"a" * size
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


class TestInProcess:
    def test_the_default_limit_is_one_mebibyte(self) -> None:
        assert settings.max_request_body_bytes == MIB

    def test_a_declared_body_over_the_limit(self, api_client: TestClient, db_session: Session) -> None:
        body = b'{"email": "x@example.com", "password": "' + b"p" * LIMIT + b'"}'
        response = api_client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
        _assert_413(response)
        assert db_session.scalar(select(func.count()).select_from(User)) == 0

    def test_a_body_at_the_limit_is_read(self, api_client: TestClient) -> None:
        body = b'{"email": "' + b"a" * (LIMIT - 13) + b'"}'
        assert len(body) == LIMIT
        response = api_client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    def test_a_form_body_over_the_limit(self, api_client: TestClient) -> None:
        response = api_client.post("/auth/token", data={"username": "x@example.com", "password": "p" * LIMIT})
        _assert_413(response)


class TestMiddleware:
    def test_a_declared_length_over_the_limit_is_refused_without_reading(self) -> None:
        reached: list[str] = []
        sent: list[dict[str, Any]] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            reached.append("app")

        async def receive() -> dict[str, Any]:
            reached.append("receive")
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/auth/register",
            "headers": [(b"content-length", str(100 * MIB).encode())],
        }
        asyncio.run(BodyLimitMiddleware(app, max_bytes=LIMIT)(scope, receive, send))
        assert reached == []
        assert sent[0]["status"] == 413
        assert b'"payload_too_large"' in sent[1]["body"]

    def test_a_stream_is_cut_at_the_first_chunk_past_the_limit(self) -> None:
        chunks = [b"x" * (LIMIT // 2)] * 10
        handed_out: list[int] = []
        sent: list[dict[str, Any]] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            while (await receive()).get("more_body"):
                pass

        async def receive() -> dict[str, Any]:
            handed_out.append(1)
            return {"type": "http.request", "body": chunks[len(handed_out) - 1], "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
        asyncio.run(BodyLimitMiddleware(app, max_bytes=LIMIT)(scope, receive, send))
        assert len(handed_out) == 3  # 0.5, 1.0 (at the limit: still fine), 1.5 MiB: refused
        assert sent[0]["status"] == 413


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc: this test needs Linux")


class TestLive:
    BODY = 64 * MIB

    def test_huge_bodies_declared_or_chunked_do_not_grow_the_server(self, live_api: LiveApi) -> None:
        with httpx.Client(base_url=live_api.base_url, timeout=60) as client:
            # Warm up: the paths below (routing, JSON, the error handler) are loaded before the baseline.
            client.post("/auth/register", json={"email": "warm@example.com", "password": "short"})
            client.post("/auth/register", content=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"})
            before = _peak_rss_bytes(live_api.process.pid)
            for _ in range(2):
                declared = client.post(
                    "/auth/register",
                    content=_chunks(self.BODY),
                    headers={"Content-Type": "application/json", "Content-Length": str(self.BODY)},
                )
                _assert_413(declared)
                chunked = client.post(
                    "/auth/register", content=_chunks(self.BODY), headers={"Content-Type": "application/json"}
                )
                assert chunked.request.headers.get("transfer-encoding") == "chunked"
                _assert_413(chunked)
            # The connection still serves requests after the refusals.
            assert client.get("/health").status_code == 200
        grown = _peak_rss_bytes(live_api.process.pid) - before
        assert grown < self.BODY // 4, f"the server's peak memory grew by {grown / MIB:.1f} MiB"
        assert " status=413 " in live_api.logs()
