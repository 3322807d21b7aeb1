"""Request bodies larger than MAX_REQUEST_BODY_BYTES are refused with 413 in the error envelope, before they are
read: a body is held in memory whole before it is parsed, so four 100 MB bodies once took the API from about
100 MB to 900 MB.

A declared `Content-Length` over the limit is answered at once, without reading a byte of the body (the server
discards what the client still sends). A body without a length (chunked) is counted as it arrives, and refused as
soon as the count passes the limit; at most one more chunk than the limit is ever held. A plain ASGI middleware:
it wraps `receive` and needs no buffering of its own.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.kit.error_envelope import error_response


class RequestBodyTooLargeError(HTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so FastAPI's body parsing
    lets it through to the one error handler, which renders it as 413 `payload_too_large`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=too_large_detail(max_bytes))


def too_large_detail(max_bytes: int) -> str:
    return f"The request body is larger than the {max_bytes} bytes this API accepts."


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed length before the app sees it
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            if received > self.max_bytes:
                raise RequestBodyTooLargeError(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestBodyTooLargeError(self.max_bytes)
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except RequestBodyTooLargeError:
            # Read outside FastAPI's body parsing (a raw `request.stream()`): answer here unless a response began.
            if response_started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "payload_too_large", too_large_detail(self.max_bytes))
        await response(scope, receive, send)
