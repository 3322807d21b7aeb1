"""Real loopback servers that make Dagster look paused or slow, for tests of how long finsync waits on it.

- `SilentServer` accepts TCP connections and never answers: what a Dagster webserver stopped with SIGSTOP looks
  like from outside (the kernel completes the handshake and keeps what is sent; nothing comes back).
- `SlowProxy` stands in front of a live Dagster webserver and passes every request on at once, but holds each
  answer for `delay` seconds: Dagster does the work (a launch creates its run) while the caller may have stopped
  waiting. It counts the GraphQL operations it passed on, by name and in all (with no delay it is the jobs
  benchmark's counter of how often the API asked Dagster).
"""

import contextlib
import json
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
_OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")


class SilentServer:
    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        """How many connections were opened to it so far."""
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(connection)  # held open, never read from, never written to

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self._socket.close()
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            connection.close()


class SlowProxy:
    def __init__(self, upstream: str, *, delay: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self._lock = threading.Lock()
        self._operations: Counter[str] = Counter()
        self._http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=50, max_keepalive_connections=50))
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as finsync's client expects

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                delay = proxy.delay  # as it was when the request came in
                proxy._count(body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                try:
                    answer = proxy._http.request(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    )
                except httpx.HTTPError:
                    self.send_error(502)
                    return
                time.sleep(delay)
                with contextlib.suppress(OSError):  # the caller may have stopped waiting
                    self.send_response(answer.status_code)
                    for key, value in answer.headers.items():
                        if key.lower() not in _HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _count(self, body: bytes) -> None:
        try:
            match = _OPERATION.search(json.loads(body).get("query") or "")
        except (ValueError, AttributeError):
            return
        name = match.group(1) if match else "?"
        with self._lock:
            self._operations[name] += 1

    @property
    def graphql_requests(self) -> int:
        """How many GraphQL requests it passed on, whatever their operation."""
        with self._lock:
            return sum(self._operations.values())

    def operations(self, name: str) -> int:
        """How many GraphQL requests named `name` (e.g. FinsyncLaunchRun) it passed on."""
        with self._lock:
            return self._operations[name]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()
