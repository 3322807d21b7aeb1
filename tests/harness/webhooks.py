"""A real webhook receiver for the notification tests: an HTTP server on a loopback port, in a thread.

It records every request it answered while up, as a receiver would keep it (the raw body, the headers), and can be taken
down two ways: `down = True` answers 503 (a receiver that is up but failing), `stop()` closes the port (connection
refused) until `start()` opens it again on the same port. `delay` holds each answer (to make deliverers overlap);
`status` is the answer while up (a redirect, say).
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.harness.sandbox import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def event_id(self) -> str:
        return self.headers["finsync-event-id"]


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    down: bool = False
    delay: float = 0.0
    status: int = 204  # the answer while up (a redirect, say, to see it is not followed)
    received: list[Received] = field(default_factory=list)
    refused: int = 0  # requests answered 503 while down
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    if receiver.down:
                        receiver.refused += 1
                        status = 503
                    else:
                        headers = {name.lower(): value for name, value in self.headers.items()}
                        receiver.received.append(Received(self.path, headers, body))
                        status = receiver.status
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url("/redirected"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self, path: str | None = None) -> list[str]:
        with self._lock:
            return [item.event_id for item in self.received if path is None or item.path == path]
