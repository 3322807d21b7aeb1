"""One structured line per request: method, path (never the query string: the bank callback's `ref` is a
capability), status and milliseconds. Tokens, cookies and bodies are never logged.

The path is the decoded one, so it can hold anything a client percent-encodes (`%0A`, `%1B`): the formatter
(`src.logging_setup`) escapes every control character, so a path cannot forge a record or drive a terminal.
A plain ASGI middleware: it sees the status as the response starts and never touches the body.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("src.api.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
