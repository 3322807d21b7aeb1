"""The sandbox application: official routes, the consent page, the control surface, and the guard around
/api/v2/ that applies general rate limits, injected faults and counters to every call."""

import asyncio
import re

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox import api, consent, control, errors, limits, logos
from src.sandbox.config import SandboxConfig
from src.sandbox.state import Faults, SandboxState

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _faults_for(state: SandboxState, method: str, path: str, account_id: str | None) -> Faults | None:
    if account_id is not None and account_id in state.account_faults:
        faults = state.account_faults[account_id]
    else:
        faults = state.global_faults
        if not path.startswith(faults.path_prefix or "/api/v2/accounts/"):
            return None
    if faults.methods is not None and method not in faults.methods:
        return None
    return faults


_GATEWAY_SUMMARIES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def _fault_error(faults: Faults, scope: str | None) -> Response:
    status = faults.error_status
    # A bank-side failure exists only on the calls that reach the bank (details, balances, transactions), and only
    # as the spec declares it: 500 UnknownRequestError or 503 ServiceError.
    if scope is not None and status == 500:
        return errors.error(
            500,
            f"Couldn't update account {scope}",
            "Request to Institution returned an error",
            type_="UnknownRequestError",
        )
    if scope is not None and status == 503:
        return errors.error(
            503, f"Couldn't update account {scope}", "Institution service unavailable", type_="ServiceError"
        )
    # Anything else is GoCardless's own front failing: no bank `type`.
    return errors.error(
        status, _GATEWAY_SUMMARIES[status], "The service is temporarily unavailable. Please try again later."
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
            faults = _faults_for(state, request.method, path, account_id)
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
            if faults is not None and faults.error_count > 0:
                faults.error_count -= 1
                return limits.with_headers(_fault_error(faults, scope), headers)
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
        routes=[Route("/", _root), *api.ROUTES, *consent.ROUTES, *control.ROUTES, *logos.ROUTES],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.add_middleware(ApiGuard)
    app.state.sandbox = SandboxState(config or SandboxConfig.from_env())
    return app
