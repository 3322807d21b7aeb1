"""`/_sandbox/…`: the control surface for tests and `make dev` (outside the official paths, no JWT).

Reset; move the clock (pending items book as it moves); inject faults by path and method; approve or deny an
authorization without a browser; link a session in one call; expire or revoke a session; make the application
inactive; change a bank's switches or the daily allowance; read or clear the counters.
"""

from dataclasses import asdict
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox.common import advance_clock, clock_payload, new_id
from src.sandbox.common import bad as _bad
from src.sandbox.common import read_json as _json
from src.sandbox.enablebanking import consent
from src.sandbox.enablebanking.api import state_of
from src.sandbox.enablebanking.catalogue import CUSTOMERS_BY_ID, DEFAULT_CUSTOMER, SWITCHES
from src.sandbox.enablebanking.state import Authorization, Faults, iso, psu_id_hash

FAULT_STATUSES = frozenset({400, 408, 429, 500, 502, 503, 504})


async def reset(request: Request) -> Response:
    state = state_of(request)
    state.reset()
    return JSONResponse({"ok": True, "now": iso(state.now())})


async def clock(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _json(request)
        advance_clock(state, body)
    return JSONResponse(clock_payload(state, iso(state.now())))


async def faults(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.faults = Faults()
        return JSONResponse({"ok": True})
    body = await _json(request)
    allowed = {"path_prefix", "methods", "error_status", "error_count", "error_rate", "latency_ms"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        return _bad(f"unknown fault settings: {', '.join(unknown)}")
    if body.get("error_status", 500) not in FAULT_STATUSES:
        return _bad(f"error_status must be one of {sorted(FAULT_STATUSES)}")
    state.faults = Faults(**body)
    return JSONResponse({"ok": True, "faults": asdict(state.faults)})


def _authorization(request: Request) -> Authorization | Response:
    authorization = state_of(request).authorizations.get(request.path_params["id"])
    if authorization is None:
        return _bad("unknown authorization", 404)
    if authorization.status != "PENDING_AUTHORIZATION":
        return _bad(f"the authorization is {authorization.status}", 409)
    return authorization


async def authorization_action(request: Request) -> Response:
    """approve {customer}: {redirect, code, state}; deny: {redirect}. The redirect is where a browser would go."""
    state = state_of(request)
    authorization = _authorization(request)
    if isinstance(authorization, Response):
        return authorization
    body = await _json(request)
    if request.path_params["action"] == "approve":
        customer = str(body.get("customer", DEFAULT_CUSTOMER))
        if customer not in CUSTOMERS_BY_ID:
            return _bad(f"unknown customer {customer}")
        redirect = consent.approve(state, authorization, customer)
        return JSONResponse({"redirect": redirect, "code": authorization.code, "state": authorization.state})
    if request.path_params["action"] == "deny":
        return JSONResponse({"redirect": consent.deny(authorization)})
    return _bad("unknown action", 404)


async def link(request: Request) -> Response:
    """An authorized session in one call (scene-setting for tests): {aspsp: {name, country}, customer,
    valid_days}. Returns what `POST /sessions` would have (session_id, accounts with uids, …)."""
    state = state_of(request)
    body = await _json(request)
    aspsp_ref = body.get("aspsp") or {"name": "Mock ASPSP", "country": "FI"}
    aspsp = state.catalogue.find(str(aspsp_ref.get("name")), str(aspsp_ref.get("country")))
    if aspsp is None:
        return _bad(f"unknown ASPSP {aspsp_ref}")
    customer = str(body.get("customer", DEFAULT_CUSTOMER))
    if customer not in CUSTOMERS_BY_ID or CUSTOMERS_BY_ID[customer].accounts == 0:
        return _bad(f"unknown customer, or one without accounts: {customer}")
    now = state.now()
    valid_days = float(body.get("valid_days", aspsp.maximum_consent_validity / 86_400))
    authorization = Authorization(
        id=new_id(),
        aspsp=aspsp.key,
        state=str(body.get("state", "sandbox-link")),
        redirect_url=str(body.get("redirect_url", "http://127.0.0.1/callback")),
        valid_until=now + timedelta(days=valid_days),
        psu_type="personal",
        psu_id_hash=psu_id_hash(new_id()),
        created=now,
    )
    state.authorizations[authorization.id] = authorization
    state.approve(authorization, customer)
    session = state.open_session(authorization, CUSTOMERS_BY_ID[customer].accounts)
    return JSONResponse(
        {
            "session_id": session.id,
            "authorization_id": authorization.id,
            "accounts": [account.uid for account in session.accounts],
            "aspsp": {"name": aspsp.name, "country": aspsp.country},
            "valid_until": iso(session.valid_until),
        },
        status_code=201,
    )


async def session_action(request: Request) -> Response:
    """expire (its valid_until passes: EXPIRED_SESSION) · revoke (the person withdrew consent at the bank)."""
    state = state_of(request)
    session = state.sessions.get(request.path_params["id"])
    if session is None:
        return _bad("unknown session", 404)
    action = request.path_params["action"]
    if action == "expire":
        session.valid_until = state.now() - timedelta(seconds=1)
    elif action == "revoke":
        session.status_override = "REVOKED"
    else:
        return _bad("unknown action", 404)
    return JSONResponse({"ok": True, "status": session.status(state.now())})


async def application(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _json(request)
        state.active = bool(body.get("active", True))
    return JSONResponse({"active": state.active})


async def aspsp_switches(request: Request) -> Response:
    """{name, country, <switch>: value, …}: change a bank's behaviour (catalogue.SWITCHES)."""
    state = state_of(request)
    body = await _json(request)
    name, country = str(body.pop("name", "")), str(body.pop("country", ""))
    if state.catalogue.find(name, country) is None:
        return _bad(f"unknown ASPSP {name!r} in {country!r}", 404)
    unknown = sorted(set(body) - SWITCHES)
    if unknown:
        return _bad(f"unknown switches: {', '.join(unknown)}")
    if "required_psu_headers" in body:
        body["required_psu_headers"] = tuple(body["required_psu_headers"] or ())
    aspsp = state.catalogue.switch(name, country, **body)
    return JSONResponse({"ok": True, "aspsp": asdict(aspsp)})


async def limits(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _json(request)
        if "account_daily" in body:
            state.account_daily_limit = int(body["account_daily"])
    return JSONResponse({"account_daily": state.account_daily_limit})


async def counters(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.reset_counters()
        return JSONResponse({"ok": True})
    return JSONResponse(
        {
            "endpoints": dict(state.endpoint_calls),
            "accounts": {
                uid: {endpoint: asdict(counter) for endpoint, counter in endpoints.items()}
                for uid, endpoints in state.counters.items()
            },
        }
    )


ROUTES = [
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
    Route("/_sandbox/faults", faults, methods=["POST", "DELETE"]),
    Route("/_sandbox/authorizations/{id}/{action}", authorization_action, methods=["POST"]),
    Route("/_sandbox/link", link, methods=["POST"]),
    Route("/_sandbox/sessions/{id}/{action}", session_action, methods=["POST"]),
    Route("/_sandbox/application", application, methods=["GET", "POST"]),
    Route("/_sandbox/aspsps", aspsp_switches, methods=["POST"]),
    Route("/_sandbox/limits", limits, methods=["GET", "POST"]),
    Route("/_sandbox/counters", counters, methods=["GET", "DELETE"]),
]
