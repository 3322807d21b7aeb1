"""The SimpleFIN sandbox application: the protocol's routes, the control surface, and the guard in front of the
protocol's calls that counts them and applies injected faults."""

import asyncio

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from src.sandbox.simplefin import api, control
from src.sandbox.simplefin.config import SimpleFinConfig
from src.sandbox.simplefin.state import SimpleFinState

_GATEWAY = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class ProtocolGuard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if not path.startswith("/simplefin/"):
            return await call_next(request)
        state: SimpleFinState = request.app.state.simplefin
        endpoint = (
            f"{request.method} {path if not path.startswith('/simplefin/claim/') else '/simplefin/claim/{token}'}"
        )
        state.endpoint_calls[endpoint] = state.endpoint_calls.get(endpoint, 0) + 1
        faults = state.faults
        if path.startswith(faults.path_prefix):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.error_count > 0:
                faults.error_count -= 1
                return PlainTextResponse(_GATEWAY[faults.error_status], faults.error_status)
            if faults.error_rate and state.rng.random() < faults.error_rate:
                return PlainTextResponse(_GATEWAY[faults.error_status], faults.error_status)
        return await call_next(request)


async def _root(request: Request) -> Response:
    return JSONResponse(
        {
            "service": "finsync SimpleFIN sandbox",
            "root": "/simplefin",
            "create": "/simplefin/create",
            "control": "/_sandbox/",
        }
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("Not Found", 404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("Method Not Allowed", 405)


def create_app(config: SimpleFinConfig | None = None) -> Starlette:
    app = Starlette(
        routes=[Route("/", _root), *api.ROUTES, *control.ROUTES],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.add_middleware(ProtocolGuard)
    app.state.simplefin = SimpleFinState(config or SimpleFinConfig.from_env())
    return app
