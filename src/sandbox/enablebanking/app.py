"""The Enable Banking sandbox application: the official routes, the consent page, the control surface, and the
guard in front of every official call that checks the JWT and the application's status, counts the call and
applies injected faults."""

import asyncio
import re

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox.enablebanking import api, consent, control, errors, jwt_auth, logos
from src.sandbox.enablebanking.config import EnableBankingConfig
from src.sandbox.enablebanking.state import EnableBankingState, Faults

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_OUTSIDE_THE_API = ("/_sandbox/", "/consent/", "/brands/")  # brand images need no JWT, as at Enable Banking
_GATEWAY = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _faulty(faults: Faults, method: str, path: str) -> bool:
    if not path.startswith(faults.path_prefix or "/accounts/"):
        return False
    return faults.methods is None or method in faults.methods


def _fault_error(status: int) -> Response:
    """What a failure looks like: the bank failing (400 ASPSP_ERROR, 408 ASPSP_TIMEOUT, 429 throttled) or Enable
    Banking's own front failing (500, or a gateway's 502/503/504)."""
    if status == 400:
        return errors.error("ASPSP_ERROR", "The ASPSP answered with an error")
    if status == 408:
        return errors.error("ASPSP_TIMEOUT")
    if status == 429:
        return errors.error("ASPSP_RATE_LIMIT_EXCEEDED", "The ASPSP refused the call")
    return errors.plain(status, _GATEWAY[status])


class ApiGuard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        state: EnableBankingState = request.app.state.enablebanking
        if path == "/" or path.startswith(_OUTSIDE_THE_API):
            response = await call_next(request)
            if request.method != "GET":
                state.save()
            return response
        endpoint = f"{request.method} {_UUID.sub('{id}', path)}"
        state.endpoint_calls[endpoint] = state.endpoint_calls.get(endpoint, 0) + 1
        authorization = request.headers.get("authorization")
        if not authorization:
            return errors.error("AUTHORIZATION_NOT_PROVIDED")
        try:
            jwt_auth.verify(authorization, state.config.application_id, state.config.public_key)
        except jwt_auth.TokenRefused as refused:
            return errors.error("UNAUTHORIZED_ACCESS", str(refused))
        if not state.active and not (request.method == "GET" and path == "/application"):
            return errors.application_inactive()
        faults = state.faults
        if _faulty(faults, request.method, path):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.error_count > 0:
                faults.error_count -= 1
                return _fault_error(faults.error_status)
            if faults.error_rate and state.rng.random() < faults.error_rate:
                return _fault_error(faults.error_status)
        response = await call_next(request)
        if request.method != "GET":
            state.save()
        return response


async def _not_found(request: Request, exc: Exception) -> Response:
    return errors.plain(404, "Not Found")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return errors.plain(405, "Method Not Allowed")


async def _root(request: Request) -> Response:
    return JSONResponse({"service": "finsync Enable Banking sandbox", "api": "/", "control": "/_sandbox/"})


def create_app(config: EnableBankingConfig | None = None) -> Starlette:
    app = Starlette(
        routes=[Route("/", _root), *api.ROUTES, *consent.ROUTES, *control.ROUTES, *logos.ROUTES],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.add_middleware(ApiGuard)
    app.state.enablebanking = EnableBankingState(config or EnableBankingConfig.from_env())
    return app
