"""The sandbox application: official routes, the consent page, the control surface, and the guard around
/api/v2/ that applies general rate limits, injected faults and counters to every call."""

import asyncio
import re

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox import api, consent, control, errors, limits
from src.sandbox.config import SandboxConfig
from src.sandbox.state import Faults, SandboxState

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _faults_for(state: SandboxState, path: str, account_id: str | None) -> Faults | None:
    if account_id is not None and account_id in state.account_faults:
        return state.account_faults[account_id]
    faults = state.global_faults
    prefix = faults.path_prefix or "/api/v2/accounts/"
    return faults if path.startswith(prefix) else None


def _fault_error(faults: Faults, scope: str | None) -> Response:
    summary = f"Couldn't update account {scope}" if scope else "Service unavailable"
    if faults.error_status == 500:
        return errors.error(500, summary, "Bank returned an error.", type_="UnknownRequestError")
    return errors.error(
        faults.error_status,
        summary,
        "Couldn't connect to the bank. Please try again later.",
        type_="ServiceError" if faults.error_status == 503 else "ConnectionError",
    )


class ApiGuard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if not path.startswith("/api/v2/"):
            return await call_next(request)
        state: SandboxState = request.app.state.sandbox
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            endpoint = f"{request.method} {_UUID.sub('{id}', path)}"
            state.endpoint_calls[endpoint] = state.endpoint_calls.get(endpoint, 0) + 1
            match = api.ACCOUNT_PATH.match(path)
            account_id = match.group(1) if match else None
            scope = match.group(2) if match else None
            if account_id is not None and account_id in state.accounts:
                state.counter(account_id, scope or "metadata").calls += 1
            allowed, headers, limit, reset, window = limits.take_general(state, limits.bucket_for(request.method, path))
            if not allowed:
                return limits.with_headers(errors.rate_limited(limit, limits.period_name(window), reset), headers)
            faults = _faults_for(state, path, account_id)
            if faults is not None and faults.latency_ms and request.method in {"GET", "DELETE"}:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults is not None and faults.burst_429 > 0:
                faults.burst_429 -= 1
                if account_id is not None and scope is not None:
                    state.counter(account_id, scope).rate_limited += 1
                    response: Response = errors.error(
                        429,
                        f"Couldn't update account {scope}",
                        "Daily request limit set by the Institution has been exceeded.",
                        type_="RateLimitError",
                    )
                else:
                    response = errors.rate_limited(limit, limits.period_name(window), reset)
                return limits.with_headers(response, headers)
            if faults is not None and faults.error_rate and state.rng.random() < faults.error_rate:
                return limits.with_headers(_fault_error(faults, scope), headers)
            response = await call_next(request)
            if faults is not None and faults.latency_ms and request.method in {"POST", "PUT"}:
                # After the change is made: a client that times out finds its object when it looks it up.
                await asyncio.sleep(faults.latency_ms / 1000)
            return limits.with_headers(response, headers)
        finally:
            state.in_flight -= 1


async def _not_found(request: Request, exc: Exception) -> Response:
    return errors.not_found()


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return errors.error(405, "Method not allowed", f'Method "{request.method}" not allowed.')


async def _root(request: Request) -> Response:
    return JSONResponse({"service": "finsync GoCardless sandbox", "api": "/api/v2/", "control": "/_sandbox/"})


def create_app(config: SandboxConfig | None = None) -> Starlette:
    app = Starlette(
        routes=[Route("/", _root), *api.ROUTES, *consent.ROUTES, *control.ROUTES],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.add_middleware(ApiGuard)
    app.state.sandbox = SandboxState(config or SandboxConfig.from_env())
    return app
