"""The SimpleFIN protocol as the Bridge serves it: `/info`, `/create`, `/claim/:token` and `/accounts`, under the
root `/simplefin` (shared/specs/simplefin-protocol-v1.md and simplefin-protocol-v2-draft.md).

- `/create` is the Bridge's page where a person makes a setup token: here a test customer is picked instead of
  logging in. The token is the claim URL in Base64; the demo token (claim code `demo`) can be claimed again and
  again and gives `…://demo:demo@host/simplefin`.
- `POST /claim/:token` answers the Access URL as plain text, once; a used or unknown token answers 403.
- `/accounts` wants HTTP Basic credentials from an Access URL: wrong or revoked ones answer 403, an unpaid
  subscription 402. `start-date` is inclusive and `end-date` exclusive (epoch seconds; pending items by when they
  happened); a range over 90 days is capped to the 90 days before `end-date` with a `gen.api` message, as the Bridge
  does, and no `start-date` means those 90 days. `pending=1` adds pending items; `account` (repeatable) and
  `balances-only=1` narrow the answer. `version=2` gets the v2 shape (`errlist`, `connections`, `conn_id`) when the
  server offers it; otherwise, and by default, v1 (`errors`, `org`). Each Access URL's requests are counted per day:
  past `warn_after` the answer carries a warning, past `block_after` it is refused with 403.
"""

import base64
import html
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from src.sandbox.common import page
from src.sandbox.simplefin import history
from src.sandbox.simplefin.catalogue import CUSTOMERS, CUSTOMERS_BY_ID, DEFAULT_CUSTOMER, DEMO_USERNAME
from src.sandbox.simplefin.state import Grant, SimpleFinState

MAX_RANGE = timedelta(days=90)
CAPPED_MESSAGE = "Requested date range exceeds limit of 90 days and was capped."
WARNING_MESSAGE = (
    "You have made more requests today than the SimpleFIN Bridge allows: 24 or fewer a day are expected. "
    "Access will be disabled if this continues."
)
BLOCKED_MESSAGE = "Access disabled: too many requests today."


def state_of(request: Request) -> SimpleFinState:
    state: SimpleFinState = request.app.state.simplefin
    return state


def root_url(request: Request) -> str:
    """Where this server's `/simplefin` root is reached from outside."""
    public = state_of(request).config.public_url or str(request.base_url)
    return public.rstrip("/") + "/simplefin"


def setup_token(request: Request, code: str) -> str:
    return base64.b64encode(f"{root_url(request)}/claim/{code}".encode()).decode()


def access_url(request: Request, grant: Grant) -> str:
    parts = urlsplit(root_url(request))
    netloc = f"{grant.username}:{grant.password}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


async def info(request: Request) -> Response:
    return JSONResponse({"versions": state_of(request).versions})


async def create(request: Request) -> Response:
    """The Bridge's token page: pick a test customer, get a setup token to paste into the app."""
    state = state_of(request)
    demo = html.escape(setup_token(request, DEMO_USERNAME))
    if request.method == "POST":
        form = await request.form()
        customer = str(form.get("customer", DEFAULT_CUSTOMER))
        if customer not in CUSTOMERS_BY_ID:
            return page("SimpleFIN Bridge (sandbox)", "<p>Unknown test customer.</p>", status=400)
        token = setup_token(request, state.new_token(customer).token)
        state.save()
        body = (
            "<h1>Your SimpleFIN Token</h1>"
            "<p>Copy it and paste it into the app that asked for it. It works once.</p>"
            f'<p><code id="setup-token">{html.escape(token)}</code></p>'
        )
        return page("SimpleFIN Bridge (sandbox)", body)
    options = "".join(
        f'<label><input type="radio" name="customer" value="{c.id}"{" checked" if c.id == DEFAULT_CUSTOMER else ""}>'
        f" {html.escape(c.name)} <small>({len(c.accounts)} accounts)</small></label>"
        for c in CUSTOMERS
    )
    body = (
        '<h1>SimpleFIN Bridge</h1><p class="bank">finsync sandbox: no real bank is reached.</p>'
        f'<form method="post"><fieldset><legend>Connect as</legend>{options}</fieldset>'
        '<p><button type="submit" value="approve">Create a SimpleFIN Token</button></p></form>'
        f'<p class="note">Reusable demo token: <code id="demo-token">{demo}</code></p>'
    )
    return page("SimpleFIN Bridge (sandbox)", body)


async def claim(request: Request) -> Response:
    state = state_of(request)
    grant = state.claim(request.path_params["token"])
    if grant is None:
        return PlainTextResponse("Forbidden: this token does not exist or has already been claimed.", 403)
    state.save()
    return PlainTextResponse(access_url(request, grant))


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return username, password


class _BadRequest(Exception):
    """A query the Bridge would refuse (400), with the sentence it answers."""


def _epoch_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise _BadRequest(f"Bad request: {name} must be a Unix timestamp.") from None


async def accounts(request: Request) -> Response:
    state = state_of(request)
    credentials = _credentials(request)
    grant = state.authenticate(*credentials) if credentials else None
    if grant is None or grant.revoked:
        return PlainTextResponse("Forbidden: authentication failed.", 403)
    if grant.payment_required:
        return PlainTextResponse("Payment required.", 402)
    now = state.now()
    count = state.count_request(grant.username, now.date())
    if count > state.block_after:
        return PlainTextResponse(f"Forbidden: {BLOCKED_MESSAGE}", 403)
    try:
        start, end = _epoch_param(request, "start-date"), _epoch_param(request, "end-date")
    except _BadRequest as refused:
        return PlainTextResponse(str(refused), 400)
    version = "2" if request.query_params.get("version") == "2" and "2.0" in state.versions else "1"
    messages: list[tuple[str, str, dict[str, str]]] = []  # (code, message, ids)
    if count > state.warn_after:
        messages.append(("gen.", WARNING_MESSAGE, {}))
    end_at = datetime.fromtimestamp(end, UTC) if end is not None else now
    start_at = datetime.fromtimestamp(start, UTC) if start is not None else end_at - MAX_RANGE
    if end_at - start_at > MAX_RANGE:
        start_at = end_at - MAX_RANGE
        messages.append(("gen.api", CAPPED_MESSAGE, {}))
    wanted = set(request.query_params.getlist("account"))
    pending = request.query_params.get("pending") == "1"
    balances_only = request.query_params.get("balances-only") == "1"

    customer = CUSTOMERS_BY_ID[grant.customer_id]
    failing_connections = {p.conn_id: p for p in state.problems if p.code.startswith("con.")}
    failing_accounts = {p.account_id: p for p in state.problems if p.code.startswith("act.")}
    listed: list[history.Account] = []
    for account in history.accounts_of(customer):
        if wanted and account.id not in wanted:
            continue
        if account.conn_id in failing_connections:
            continue
        if account.id in failing_accounts:
            continue
        listed.append(account)
    names = {account.conn_id: account.org.name for account in history.accounts_of(customer)}
    for conn, problem in failing_connections.items():
        if conn in names:
            message = f"Connection to {names[conn]} may need attention: authentication failed."
            messages.append((problem.code, message, {"conn_id": conn}))
    for account in history.accounts_of(customer):
        account_problem = failing_accounts.get(account.id)
        if account_problem is not None:
            message = f"Failed to get account information for {account.spec.name}. Try again later."
            messages.append((account_problem.code, message, {"account_id": account.id}))

    rendered = [
        _account(account, now, start_at, end_at, pending=pending, balances_only=balances_only, version=version)
        for account in listed
    ]
    if version == "2":
        connections: dict[str, dict[str, Any]] = {}
        for account in history.accounts_of(customer):
            connections.setdefault(
                account.conn_id,
                {
                    "conn_id": account.conn_id,
                    "name": f"{account.org.name} - {customer.name}",
                    "org_id": account.org.org_id,
                    "org_name": account.org.name,
                    "org_url": f"https://{account.org.domain}",
                    "sfin_url": root_url(request),
                },
            )
        errlist = [{"code": code, "msg": message, **ids} for code, message, ids in messages]
        return JSONResponse({"errlist": errlist, "connections": list(connections.values()), "accounts": rendered})
    for account_payload, account in zip(rendered, listed, strict=True):
        account_payload["org"] = {
            "domain": account.org.domain,
            "name": account.org.name,
            "sfin-url": root_url(request),
            "id": account.org.org_id,
        }
    return JSONResponse({"errors": [message for _, message, _ in messages], "accounts": rendered})


def _account(
    account: history.Account,
    now: datetime,
    start_at: datetime,
    end_at: datetime,
    *,
    pending: bool,
    balances_only: bool,
    version: str,
) -> dict[str, Any]:
    today = now.date()
    posted_balance = history.balance(account, today)
    payload: dict[str, Any] = {
        "id": account.id,
        "name": account.spec.name,
        "currency": account.spec.currency,
        "balance": _amount(posted_balance),
        "available-balance": _amount(posted_balance + history.pending_total(account, now)),
        "balance-date": history.epoch(now),
    }
    if version == "2":
        payload["conn_id"] = account.conn_id
    if not balances_only:
        payload["transactions"] = _transactions(account, now, start_at, end_at, pending=pending)
    return payload


def _transactions(
    account: history.Account, now: datetime, start_at: datetime, end_at: datetime, *, pending: bool
) -> list[dict[str, Any]]:
    today = now.date()
    oldest = today - timedelta(days=account.org.history_days)
    first = max(start_at.date() - timedelta(days=history.MAX_LAG), oldest)
    start, end = history.epoch(start_at), history.epoch(end_at)
    result: list[tuple[int, dict[str, Any]]] = []
    for item in history.items_between(account, first, min(end_at.date(), today)):
        status = history.status_at(item, now)
        if status is None or (status == "pending" and not pending) or item.post_day < oldest:
            continue
        at = history.posted_epoch(item) if status == "posted" else history.epoch(item.transacted_at)
        if not start <= at < end:
            continue
        row: dict[str, Any] = {
            "id": history.transaction_id(account, item, status, today),
            "posted": history.posted_epoch(item) if status == "posted" else 0,
            "amount": _amount(item.amount),
            "description": item.description,
            "transacted_at": history.epoch(item.transacted_at),
        }
        if status == "pending":
            row["pending"] = True
        if item.payee is not None:
            row["payee"] = item.payee
        if item.memo is not None:
            row["memo"] = item.memo
        result.append((at, row))
    result.sort(key=lambda pair: (pair[0], pair[1]["id"]))
    return [row for _, row in result]


def _amount(value: Any) -> str:
    return f"{value:.2f}"


ROUTES = [
    Route("/simplefin/info", info, methods=["GET"]),
    Route("/simplefin/create", create, methods=["GET", "POST"]),
    Route("/simplefin/claim/{token}", claim, methods=["POST"]),
    Route("/simplefin/accounts", accounts, methods=["GET"]),
]
