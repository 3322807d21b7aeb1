"""A tiny counting HTTP proxy on loopback: forwards every request to one upstream (Dagster's webserver) and counts
the POST /graphql requests it passed on, so a benchmark can tell how often the API asked Dagster."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._graphql = 0
        self._http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=50, max_keepalive_connections=50))
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the API's client expects

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command == "POST" and self.path.split("?")[0] == "/graphql":
                    with proxy._lock:
                        proxy._graphql += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                try:
                    answer = proxy._http.request(
                        self.command, proxy.upstream + self.path, content=body, headers=headers
                    )
                except httpx.HTTPError:
                    self.send_error(502)
                    return
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

    @property
    def graphql_requests(self) -> int:
        with self._lock:
            return self._graphql

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()
