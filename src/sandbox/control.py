"""`/_sandbox/…`: the control surface for tests and `make dev` (outside the official paths).

Reset; move the clock; inject faults globally or per account; expire, revoke or suspend an account's access;
hide a transaction; choose how an account's ids behave; approve or deny a requisition without a browser; read
call counters and the most requests seen in flight; change any limit or token lifetime.
"""

from dataclasses import asdict
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox.api import link_accounts, requisition_payload, state_of
from src.sandbox.catalogue import CUSTOMERS_BY_ID, DEFAULT_CUSTOMER, INSTITUTIONS_BY_ID, SANDBOX_INSTITUTION_ID
from src.sandbox.common import advance_clock, clock_payload, new_id
from src.sandbox.common import bad as _bad
from src.sandbox.common import read_json as _json
from src.sandbox.config import GENERAL_LIMITS
from src.sandbox.state import SCOPES, Agreement, Faults, Requisition, iso


async def reset(request: Request) -> Response:
    state = state_of(request)
    state.reset()
    state.save()
    return JSONResponse({"ok": True, "now": iso(state.now())})


async def clock(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _json(request)
        advance_clock(state, body)
        state.save()
    return JSONResponse(clock_payload(state, iso(state.now())))


async def faults(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.global_faults = Faults()
        state.account_faults.clear()
        return JSONResponse({"ok": True})
    body = await _json(request)
    allowed = {"latency_ms", "error_rate", "error_status", "burst_429", "error_count", "path_prefix", "methods"}
    unknown = sorted(set(body) - allowed - {"account_id"})
    if unknown:
        return _bad(f"unknown fault settings: {', '.join(unknown)}")
    values = {key: body[key] for key in allowed if key in body}
    if values.get("error_status", 503) not in {500, 502, 503, 504}:
        return _bad("error_status must be 500, 502, 503 or 504")
    account_id = body.get("account_id")
    if account_id is not None:
        if account_id not in state.accounts:
            return _bad(f"unknown account {account_id}", 404)
        state.account_faults[account_id] = Faults(**values)
    else:
        state.global_faults = Faults(**values)
    return JSONResponse({"ok": True})


async def account_action(request: Request) -> Response:
    state = state_of(request)
    account = state.accounts.get(request.path_params["id"])
    if account is None:
        return _bad("unknown account", 404)
    action = request.path_params["action"]
    body = await _json(request)
    if action == "expire":
        kind = body.get("kind", "access_expired")
        if kind == "agreement":
            requisition = state.requisitions[account.requisition_id]
            agreement = state.agreements.get(requisition.agreement)
            if agreement is not None:
                agreement.accepted = state.now() - timedelta(days=agreement.access_valid_for_days, seconds=1)
        elif kind in {"access_expired", "inactive"}:
            account.access = kind
        else:
            return _bad("kind must be agreement, access_expired or inactive")
    elif action == "suspend":
        account.access = "suspended"
    elif action == "restore":
        account.access = "ok"
    elif action == "hide":
        transaction_id = body.get("transaction_id")
        if not transaction_id:
            return _bad("transaction_id (a transactionId, internalTransactionId or entryReference) is required")
        account.hidden.append(str(transaction_id))
    elif action == "unhide":
        account.hidden.clear()
    elif action == "id-mode":
        mode = body.get("mode")
        if mode not in {"stable", "reissued", "blank"}:
            return _bad("mode must be stable, reissued or blank")
        account.id_mode = mode
    elif action == "bank-limit":
        limit = body.get("limit")
        account.bank_daily_limit = None if limit is None else int(limit)
    else:
        return _bad(f"unknown action {action}", 404)
    state.save()
    return JSONResponse(
        {"ok": True, "account": {"id": account.id, "access": account.access, "id_mode": account.id_mode}}
    )


async def requisition_action(request: Request) -> Response:
    state = state_of(request)
    requisition = state.requisitions.get(request.path_params["id"])
    if requisition is None:
        return _bad("unknown requisition", 404)
    body = await _json(request)
    if request.path_params["action"] == "approve":
        customer = body.get("customer", DEFAULT_CUSTOMER)
        if customer not in CUSTOMERS_BY_ID and not body.get("account_count"):
            return _bad(f"unknown customer {customer}")
        link_accounts(state, requisition, customer, body.get("account_count"))
    elif request.path_params["action"] == "deny":
        requisition.status = "RJ"
        state.save()
    else:
        return _bad("unknown action", 404)
    return JSONResponse(requisition_payload(request, requisition))


async def link(request: Request) -> Response:
    """Create an accepted agreement and a linked requisition in one call (scene-setting for tests)."""
    state = state_of(request)
    body = await _json(request)
    institution_id = body.get("institution_id", SANDBOX_INSTITUTION_ID)
    institution = INSTITUTIONS_BY_ID.get(institution_id)
    if institution is None:
        return _bad(f"unknown institution {institution_id}")
    agreement = Agreement(
        id=new_id(),
        created=state.now(),
        institution_id=institution_id,
        max_historical_days=int(body.get("max_historical_days", 90)),
        access_valid_for_days=int(body.get("access_valid_for_days", 90)),
        access_scope=list(body.get("access_scope", SCOPES)),
    )
    state.agreements[agreement.id] = agreement
    requisition_id = new_id()
    requisition = Requisition(
        id=requisition_id,
        created=state.now(),
        redirect=body.get("redirect", "http://127.0.0.1/callback"),
        institution_id=institution_id,
        agreement=agreement.id,
        reference=body.get("reference", requisition_id),
    )
    state.requisitions[requisition.id] = requisition
    link_accounts(state, requisition, body.get("customer", DEFAULT_CUSTOMER), body.get("account_count"))
    return JSONResponse(requisition_payload(request, requisition), status_code=201)


async def counters(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.reset_counters()
        return JSONResponse({"ok": True})
    return JSONResponse(
        {
            "max_in_flight": state.max_in_flight,
            "in_flight": state.in_flight,
            "endpoints": dict(state.endpoint_calls),
            "accounts": {
                account_id: {scope: asdict(counter) for scope, counter in scopes.items()}
                for account_id, scopes in state.counters.items()
            },
        }
    )


async def limits_(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _json(request)
        if "account_daily" in body:
            state.account_daily_limit = int(body["account_daily"])
        for bucket, value in dict(body.get("general", {})).items():
            if bucket not in GENERAL_LIMITS:
                return _bad(f"unknown general limit {bucket}")
            limit, window = (value, state.general_limits[bucket][1]) if isinstance(value, int) else tuple(value)
            state.general_limits[bucket] = (int(limit), int(window))
            state.windows.pop(bucket, None)
        if "access_lifetime" in body:
            state.access_lifetime = int(body["access_lifetime"])
        if "refresh_lifetime" in body:
            state.refresh_lifetime = int(body["refresh_lifetime"])
    return JSONResponse(
        {
            "account_daily": state.account_daily_limit,
            "general": {bucket: list(value) for bucket, value in state.general_limits.items()},
            "access_lifetime": state.access_lifetime,
            "refresh_lifetime": state.refresh_lifetime,
        }
    )


ROUTES = [
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
    Route("/_sandbox/faults", faults, methods=["POST", "DELETE"]),
    Route("/_sandbox/accounts/{id}/{action}", account_action, methods=["POST"]),
    Route("/_sandbox/requisitions/{id}/{action}", requisition_action, methods=["POST"]),
    Route("/_sandbox/link", link, methods=["POST"]),
    Route("/_sandbox/counters", counters, methods=["GET", "DELETE"]),
    Route("/_sandbox/limits", limits_, methods=["GET", "POST"]),
]
