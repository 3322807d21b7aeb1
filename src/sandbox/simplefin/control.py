"""`/_sandbox/…`: the control surface for tests and `make dev` (outside the protocol's paths, no credentials).

Reset; move the clock (pending items post, under new ids, as it moves); make a setup token without the page; inject
faults by path; revoke an Access URL or make its subscription unpaid; report a connection's or an account's problem
(`con.auth`, `act.failed`, …); offer v1 only; change the daily request thresholds; read or clear the counters.
"""

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox.common import advance_clock, bad, clock_payload, read_json
from src.sandbox.simplefin.api import setup_token, state_of
from src.sandbox.simplefin.catalogue import CUSTOMERS_BY_ID, DEFAULT_CUSTOMER, DEMO_USERNAME
from src.sandbox.simplefin.state import Faults, Problem

FAULT_STATUSES = frozenset({500, 502, 503, 504})
PROBLEM_CODES = frozenset({"con.", "con.auth", "act.", "act.failed", "act.missingdata"})


async def reset(request: Request) -> Response:
    state = state_of(request)
    state.reset()
    state.save()
    return JSONResponse({"ok": True, "now": state.now().isoformat()})


async def clock(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        advance_clock(state, await read_json(request))
        state.save()
    return JSONResponse(clock_payload(state, state.now().isoformat()))


async def tokens(request: Request) -> Response:
    """{customer}: a new single-use setup token, as the page makes one; `demo`: the reusable demo token."""
    state = state_of(request)
    body = await read_json(request)
    customer = str(body.get("customer", DEFAULT_CUSTOMER))
    if customer == DEMO_USERNAME:
        return JSONResponse({"token": setup_token(request, DEMO_USERNAME)}, status_code=201)
    if customer not in CUSTOMERS_BY_ID:
        return bad(f"unknown customer {customer}")
    token = state.new_token(customer)
    state.save()
    return JSONResponse({"token": setup_token(request, token.token)}, status_code=201)


async def faults(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.faults = Faults()
        return JSONResponse({"ok": True})
    body = await read_json(request)
    allowed = {"path_prefix", "error_status", "error_count", "error_rate", "latency_ms"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        return bad(f"unknown fault settings: {', '.join(unknown)}")
    if body.get("error_status", 500) not in FAULT_STATUSES:
        return bad(f"error_status must be one of {sorted(FAULT_STATUSES)}")
    state.faults = Faults(**body)
    return JSONResponse({"ok": True, "faults": asdict(state.faults)})


async def access(request: Request) -> Response:
    """{revoked, payment_required} for the Access URL of `username`."""
    state = state_of(request)
    grant = state.grants.get(request.path_params["username"])
    if grant is None:
        return bad("unknown Access URL", 404)
    body = await read_json(request)
    if "revoked" in body:
        grant.revoked = bool(body["revoked"])
    if "payment_required" in body:
        grant.payment_required = bool(body["payment_required"])
    state.save()
    return JSONResponse(
        {"username": grant.username, "revoked": grant.revoked, "payment_required": grant.payment_required}
    )


async def problems(request: Request) -> Response:
    """POST {code, conn_id | account_id}: report a problem; DELETE: clear them all."""
    state = state_of(request)
    if request.method == "DELETE":
        state.problems = []
        return JSONResponse({"ok": True})
    body = await read_json(request)
    code = str(body.get("code", ""))
    if code not in PROBLEM_CODES:
        return bad(f"code must be one of {sorted(PROBLEM_CODES)}")
    conn_id, account_id = body.get("conn_id"), body.get("account_id")
    if code.startswith("con.") != bool(conn_id) or code.startswith("act.") != bool(account_id):
        return bad("a con.* problem names a conn_id, an act.* problem an account_id")
    state.problems.append(Problem(code=code, conn_id=conn_id, account_id=account_id))
    return JSONResponse({"ok": True, "problems": [asdict(p) for p in state.problems]})


async def settings(request: Request) -> Response:
    """{versions: ["1.0"] | ["1.0", "2.0"], warn_after, block_after}."""
    state = state_of(request)
    body = await read_json(request)
    if "versions" in body:
        versions = [str(v) for v in body["versions"]]
        if "1.0" not in versions or not set(versions) <= {"1.0", "2.0"}:
            return bad('versions: ["1.0"] or ["1.0", "2.0"]')
        state.versions = versions
    for name in ("warn_after", "block_after"):
        if name in body:
            setattr(state, name, int(body[name]))
    state.save()
    return JSONResponse({"versions": state.versions, "warn_after": state.warn_after, "block_after": state.block_after})


async def counters(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.reset_counters()
        return JSONResponse({"ok": True})
    return JSONResponse(
        {
            "endpoints": state.endpoint_calls,
            "requests": {username: usage.requests for username, usage in state.usage.items()},
            "claims": state.claims,
        }
    )


ROUTES = [
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
    Route("/_sandbox/tokens", tokens, methods=["POST"]),
    Route("/_sandbox/faults", faults, methods=["POST", "DELETE"]),
    Route("/_sandbox/access/{username}", access, methods=["POST"]),
    Route("/_sandbox/problems", problems, methods=["POST", "DELETE"]),
    Route("/_sandbox/settings", settings, methods=["POST"]),
    Route("/_sandbox/counters", counters, methods=["GET", "DELETE"]),
]
