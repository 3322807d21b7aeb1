"""The official API: `/application`, `/aspsps`, `/auth`, `/sessions`, `/accounts/{uid}/…` and (refused) `/payments`,
with the paths, payloads, statuses and error bodies of Enable Banking's OpenAPI document.

The JWT, the application's status, faults and endpoint counters are handled before these handlers run
(`app.ApiGuard`); what is left here is each operation's own rules.
"""

import ipaddress
import json
import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox.common import new_id
from src.sandbox.enablebanking import errors, history, payloads
from src.sandbox.enablebanking.catalogue import CUSTOMERS_BY_ID, Aspsp
from src.sandbox.enablebanking.history import AccountProfile
from src.sandbox.enablebanking.state import Authorization, Cursor, EnableBankingState, Session, iso, psu_id_hash

PAGE_SIZE = 10
DEFAULT_HISTORY_DAYS = 90  # the "meaningful default" window when no date_from is given
TRANSACTION_STATUSES = frozenset({"BOOK", "CNCL", "HOLD", "OTHR", "PDNG", "RJCT", "SCHD"})
PSU_HEADERS = (
    "Psu-Ip-Address",
    "Psu-User-Agent",
    "Psu-Referer",
    "Psu-Accept",
    "Psu-Accept-Charset",
    "Psu-Accept-Encoding",
    "Psu-Accept-language",
    "Psu-Geo-Location",
)
_GEO = re.compile(r"-?\d{1,2}\.\d{1,6},-?\d{1,3}\.\d{1,6}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_LANGUAGE = re.compile(r"[a-z]{2}")
ACCOUNT_PATH = re.compile(r"^/accounts/([^/]+)/(details|balances|transactions)(?:/([^/]+))?$")


def state_of(request: Request) -> EnableBankingState:
    state: EnableBankingState = request.app.state.enablebanking
    return state


def public_url(request: Request) -> str:
    configured = state_of(request).config.public_url
    return (configured or str(request.base_url)).rstrip("/")


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _wrong(detail: Any) -> JSONResponse:
    return errors.error("WRONG_REQUEST_PARAMETERS", detail)


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# -- /application, /aspsps ------------------------------------------------------------------------------------------
async def application(request: Request) -> Response:
    state = state_of(request)
    countries = sorted({aspsp.country for aspsp in state.catalogue.aspsps.values()})
    return JSONResponse(
        {
            "name": "finsync sandbox application",
            "description": "The Enable Banking sandbox of finsync",
            "kid": state.config.application_id,
            "environment": "SANDBOX",
            "redirect_urls": list(state.config.redirect_urls or ()),
            "active": state.active,
            "countries": countries,
            "services": ["AIS"],
        }
    )


async def aspsps(request: Request) -> Response:
    state = state_of(request)
    country = request.query_params.get("country")
    psu_type = request.query_params.get("psu_type")
    service = request.query_params.get("service")
    if country is not None and not _COUNTRY.fullmatch(country):
        return _wrong({"country": "must match ^[A-Z]{2}$"})
    if psu_type is not None and psu_type not in {"personal", "business"}:
        return _wrong({"psu_type": "must be personal or business"})
    if service is not None and service not in {"AIS", "PIS"}:
        return _wrong({"service": "must be AIS or PIS"})
    listed = [
        payloads.aspsp_data(aspsp, public_url(request))
        for aspsp in state.catalogue.aspsps.values()
        if (country is None or aspsp.country == country) and service != "PIS"
    ]
    return JSONResponse({"aspsps": listed})


# -- the consent: /auth, /sessions ----------------------------------------------------------------------------------
def redirect_allowed(state: EnableBankingState, url: str) -> bool:
    """The registered URLs when the application lists some; otherwise any http(s) URL on a loopback host."""
    if state.config.redirect_urls is not None:
        return url in state.config.redirect_urls
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


async def start_authorization(request: Request) -> Response:
    state = state_of(request)
    body = await _json_body(request)
    if body is None:
        return _wrong("The body must be a JSON object")
    access = body.get("access")
    aspsp_ref = body.get("aspsp")
    missing = [name for name in ("access", "aspsp", "state", "redirect_url") if body.get(name) is None]
    if missing:
        return _wrong({name: "field required" for name in missing})
    if not isinstance(access, dict) or not isinstance(aspsp_ref, dict):
        return _wrong("access and aspsp must be objects")
    valid_until = _aware(access.get("valid_until"))
    if valid_until is None:
        return _wrong({"access.valid_until": "an RFC 3339 date-time with an offset is required"})
    if not isinstance(body["state"], str) or not isinstance(body["redirect_url"], str):
        return _wrong("state and redirect_url must be strings")
    psu_type = body.get("psu_type", "personal")
    if psu_type not in {"personal", "business"}:
        return _wrong({"psu_type": "must be personal or business"})
    language = body.get("language")
    if language is not None and not (isinstance(language, str) and _LANGUAGE.fullmatch(language)):
        return _wrong({"language": "must match ^[a-z]{2}$"})
    if body.get("credentials") is not None and not body.get("auth_method"):
        return _wrong("credentials can only be used together with auth_method")
    aspsp = state.catalogue.find(str(aspsp_ref.get("name")), str(aspsp_ref.get("country")))
    if aspsp is None:
        return errors.error(
            "WRONG_ASPSP_PROVIDED", f"No ASPSP {aspsp_ref.get('name')!r} in {aspsp_ref.get('country')!r}"
        )
    if not redirect_allowed(state, body["redirect_url"]):
        return errors.error("REDIRECT_URI_NOT_ALLOWED", f"{body['redirect_url']} is not registered for the application")
    now = state.now()
    if valid_until <= now:
        return _wrong("valid_until must be in the future")
    if valid_until > now + timedelta(seconds=aspsp.maximum_consent_validity):
        return errors.error(
            "WRONG_REQUEST_PARAMETERS",
            {"access.valid_until": valid_until.isoformat()},
            message=f"ASPSP does not support consent validity more than {aspsp.maximum_consent_validity} seconds "
            "in the future",
        )
    authorization = Authorization(
        id=new_id(),
        aspsp=aspsp.key,
        state=body["state"],
        redirect_url=body["redirect_url"],
        valid_until=valid_until,
        psu_type=psu_type,
        psu_id_hash=psu_id_hash(str(body.get("psu_id") or new_id())),
        created=now,
        balances=access.get("balances", True) is not False,
        transactions=access.get("transactions", True) is not False,
    )
    state.authorizations[authorization.id] = authorization
    return JSONResponse(
        {
            "url": f"{public_url(request)}/consent/{authorization.id}",
            "authorization_id": authorization.id,
            "psu_id_hash": authorization.psu_id_hash,
        }
    )


def _profiles(state: EnableBankingState, session: Session) -> tuple[Aspsp, list[AccountProfile]]:
    aspsp = state.catalogue.aspsps[session.aspsp]
    return aspsp, [history.profile(aspsp, session.customer_id, account.position) for account in session.accounts]


async def authorize_session(request: Request) -> Response:
    state = state_of(request)
    body = await _json_body(request)
    if body is None or not isinstance(body.get("code"), str):
        return _wrong({"code": "field required"})
    authorization = state.authorizations.get(state.codes.get(body["code"], ""))
    if authorization is None:
        return errors.error("WRONG_AUTHORIZATION_CODE")
    if authorization.status == "AUTHORIZED":
        return errors.error("ALREADY_AUTHORIZED")
    issued = authorization.code_issued or state.now()
    if state.now() - issued > timedelta(minutes=10):
        return errors.error("EXPIRED_AUTHORIZATION_CODE")
    customer = CUSTOMERS_BY_ID[authorization.customer_id or ""]
    if customer.accounts == 0:
        return errors.error("NO_ACCOUNTS_ADDED")
    session = state.open_session(authorization, customer.accounts)
    aspsp, profiles = _profiles(state, session)
    return JSONResponse(
        {
            "session_id": session.id,
            "accounts": [
                payloads.account_resource(aspsp, profile, account.uid)
                for account, profile in zip(session.accounts, profiles, strict=True)
            ],
            "aspsp": {"name": aspsp.name, "country": aspsp.country},
            "psu_type": session.psu_type,
            "access": payloads.access(iso(session.valid_until), session.balances, session.transactions),
        }
    )


def _session(request: Request) -> Session | Response:
    state = state_of(request)
    session_id = request.path_params["session_id"]
    if not is_uuid(session_id):
        return _wrong({"session_id": "value is not a valid uuid"})
    session = state.sessions.get(session_id)
    if session is None:
        return errors.error("SESSION_DOES_NOT_EXIST")
    return session


async def get_session(request: Request) -> Response:
    state = state_of(request)
    session = _session(request)
    if isinstance(session, Response):
        return session
    _, profiles = _profiles(state, session)
    hashes = [profile.identification_hash for profile in profiles]
    return JSONResponse(payloads.session_response(session, session.status(state.now()), hashes))


async def delete_session(request: Request) -> Response:
    """Ends the session (CLOSED); its accounts answer CLOSED_SESSION from now on. Closing it twice is refused."""
    state = state_of(request)
    session = _session(request)
    if isinstance(session, Response):
        return session
    if session.status(state.now()) == "CLOSED":
        return errors.error("WRONG_SESSION_STATUS", "The session is already closed")
    session.status_override = "CLOSED"
    session.closed = state.now()
    return JSONResponse({"message": "OK"})


# -- account data -------------------------------------------------------------------------------------------------
_REFUSED_STATUSES = {"EXPIRED": "EXPIRED_SESSION", "CLOSED": "CLOSED_SESSION", "REVOKED": "REVOKED_SESSION"}


def _psu_problem(request: Request, aspsp: Aspsp) -> Response | None:
    """A bank's `required_psu_headers` are all sent or none is; what is sent must be well formed."""
    sent = {name for name in PSU_HEADERS if request.headers.get(name)}
    required = set(aspsp.required_psu_headers)
    if sent and required - sent:
        missing = sorted(required - sent)[0]
        return errors.error("PSU_HEADER_NOT_PROVIDED", f"PSU header {missing} is not provided")
    address = request.headers.get("Psu-Ip-Address")
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return errors.error("PSU_HEADER_INVALID", f"PSU header Psu-Ip-Address is not an IP address: {address!r}")
    geo = request.headers.get("Psu-Geo-Location")
    if geo and not _GEO.fullmatch(geo):
        return errors.error("PSU_HEADER_INVALID", "PSU header Psu-Geo-Location must be 'lat,lon'")
    return None


class AccountCall:
    """An account call that passed the common checks: the session, the bank, the account's history."""

    def __init__(self, session: Session, aspsp: Aspsp, profile: AccountProfile, uid: str, attended: bool) -> None:
        self.session, self.aspsp, self.profile, self.uid, self.attended = session, aspsp, profile, uid, attended


def _account_call(request: Request, endpoint: str) -> AccountCall | Response:
    """Checks every account call shares, in the API's order: the id, the session's status, the PSU headers."""
    state = state_of(request)
    uid = request.path_params["account_id"]
    if not is_uuid(uid):
        return _wrong({"account_id": "value is not a valid uuid"})
    if uid not in state.accounts:
        return errors.error("ACCOUNT_DOES_NOT_EXIST")
    session_id, position = state.accounts[uid]
    session = state.sessions[session_id]
    counter = state.counter(uid, endpoint)
    counter.calls += 1
    refused = _REFUSED_STATUSES.get(session.status(state.now()))
    if refused is not None:
        return errors.error(refused)
    aspsp = state.catalogue.aspsps[session.aspsp]
    problem = _psu_problem(request, aspsp)
    if problem is not None:
        return problem
    attended = bool(request.headers.get("Psu-Ip-Address"))
    if attended:
        counter.attended += 1
    profile = history.profile(aspsp, session.customer_id, position)
    return AccountCall(session, aspsp, profile, uid, attended)


def _spend_allowance(state: EnableBankingState, call: AccountCall, endpoint: str) -> Response | None:
    """The bank's four unattended calls a day per account and endpoint (PSD2 RTS art. 36(5)); a call with
    `Psu-Ip-Address` has the person present and is not counted. Only calls that reach the bank are counted: one
    Enable Banking refuses itself (a malformed query) is not."""
    if call.attended or state.take_allowance(call.uid, endpoint):
        return None
    state.counter(call.uid, endpoint).rate_limited += 1
    return errors.error(
        "ASPSP_RATE_LIMIT_EXCEEDED",
        f"The ASPSP allows {state.account_daily_limit} calls a day to {endpoint} of this account without the PSU "
        f"present; it resets in {state.seconds_to_midnight()} seconds",
    )


async def account_details(request: Request) -> Response:
    call = _account_call(request, "details")
    if isinstance(call, Response):
        return call
    refused = _spend_allowance(state_of(request), call, "details")
    if refused is not None:
        return refused
    state_of(request).counter(call.uid, "details").ok += 1
    return JSONResponse(payloads.account_resource(call.aspsp, call.profile, call.uid))


async def account_balances(request: Request) -> Response:
    state = state_of(request)
    call = _account_call(request, "balances")
    if isinstance(call, Response):
        return call
    refused = _spend_allowance(state, call, "balances")
    if refused is not None:
        return refused
    state.counter(call.uid, "balances").ok += 1
    return JSONResponse(payloads.balances(call.profile, state.today(), iso(state.now())))


def _date(value: str | None, name: str) -> date | Response | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return _wrong({name: "value is not a valid date"})


def _listing(
    state: EnableBankingState, call: AccountCall, query: tuple[str | None, ...]
) -> list[tuple[date, history.Item, str]] | Response:
    """The whole listing a query asks for, newest first: (listing date, item, status on today)."""
    date_from_text, date_to_text, status_filter, strategy = query
    today = state.today()
    date_from, date_to = _date(date_from_text, "date_from"), _date(date_to_text, "date_to")
    if isinstance(date_from, Response):
        return date_from
    if isinstance(date_to, Response):
        return date_to
    if date_to is not None and date_from is None:
        return errors.error("DATE_TO_WITHOUT_DATE_FROM")
    if date_from is not None and date_from > today:
        return errors.error("DATE_FROM_IN_FUTURE")
    if date_from is not None and date_to is not None and date_from > date_to:
        return errors.error("WRONG_DATE_INTERVAL")
    if status_filter is not None and status_filter not in TRANSACTION_STATUSES:
        return _wrong({"transaction_status": f"must be one of {', '.join(sorted(TRANSACTION_STATUSES))}"})
    if strategy not in {None, "default", "longest"}:
        return _wrong({"strategy": "must be default or longest"})
    earliest = today - timedelta(days=call.aspsp.history_days - 1)
    if call.aspsp.ignores_dates:
        first, last = earliest, today
    else:
        if date_from is not None and date_from < earliest and call.aspsp.refuses_older_history:
            return errors.error(
                "WRONG_TRANSACTIONS_PERIOD",
                {"date_from": earliest.isoformat(), "message": f"The ASPSP keeps {call.aspsp.history_days} days"},
            )
        if strategy == "longest":
            first, last = earliest, today
        else:
            first = date_from or today - timedelta(days=DEFAULT_HISTORY_DAYS - 1)
            last = min(date_to or today, today)
        first = max(first, earliest)
    listed = []
    for item in history.items_made(call.profile, first - timedelta(days=history.MAX_LAG), last):
        status = history.status_on(item, today)
        if status is None or (status_filter is not None and status != status_filter):
            continue
        shown_on = item.settle_day if status == "BOOK" else item.value_day
        if first <= shown_on <= last:
            listed.append((shown_on, item, status))
    listed.sort(key=lambda row: (row[0], row[1].value_day, row[1].seq), reverse=True)
    return listed


async def account_transactions(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    key = params.get("continuation_key")
    call = _account_call(request, "transactions")
    if isinstance(call, Response):
        return call
    if key is not None:
        cursor = state.cursors.get(key)
        if cursor is None or cursor.uid != call.uid or cursor.session_id != call.session.id:
            return errors.error("WRONG_CONTINUATION_KEY")
        query, offset = cursor.query, cursor.offset
    else:
        query = (
            params.get("date_from"),
            params.get("date_to"),
            params.get("transaction_status"),
            params.get("strategy"),
        )
        offset = 0
    listed = _listing(state, call, query)
    if isinstance(listed, Response):
        return listed
    if key is None:  # a listing is one fetch from the bank: only its first page counts against the allowance
        refused = _spend_allowance(state, call, "transactions")
        if refused is not None:
            return refused
    state.counter(call.uid, "transactions").ok += 1
    if key is None and call.aspsp.empty_first_page:
        page: list[tuple[date, history.Item, str]] = []
        next_offset: int | None = 0
    else:
        page = listed[offset : offset + PAGE_SIZE]
        next_offset = offset + PAGE_SIZE if offset + PAGE_SIZE < len(listed) else None
    next_key = None
    if next_offset is not None:
        next_key = state.new_cursor(Cursor(call.session.id, call.uid, query, next_offset))
    return JSONResponse(
        {
            "transactions": [
                payloads.transaction(call.aspsp, call.profile, item, status, call.session.id)
                for _, item, status in page
            ],
            # The document: "Null if there are no more pages".
            "continuation_key": next_key,
        }
    )


async def account_transaction(request: Request) -> Response:
    state = state_of(request)
    call = _account_call(request, "transactions")
    if isinstance(call, Response):
        return call
    wanted = request.path_params["transaction_id"]
    today = state.today()
    first = today - timedelta(days=call.aspsp.history_days - 1 + history.MAX_LAG)
    for item in history.items_made(call.profile, first, today):
        status = history.status_on(item, today)
        if status is None:
            continue
        shown = payloads.transaction(call.aspsp, call.profile, item, status, call.session.id)
        if shown["transaction_id"] == wanted:
            state.counter(call.uid, "transactions").ok += 1
            return JSONResponse(shown)
    return errors.error("TRANSACTION_DOES_NOT_EXIST")


async def payments(request: Request) -> Response:
    """The sandbox application has the AIS service only: payments are refused as for any such application."""
    return errors.error("ACCESS_DENIED", "The application has no PIS service")


ROUTES = [
    Route("/application", application, methods=["GET"]),
    Route("/aspsps", aspsps, methods=["GET"]),
    Route("/auth", start_authorization, methods=["POST"]),
    Route("/sessions", authorize_session, methods=["POST"]),
    Route("/sessions/{session_id}", get_session, methods=["GET"]),
    Route("/sessions/{session_id}", delete_session, methods=["DELETE"]),
    Route("/accounts/{account_id}/details", account_details, methods=["GET"]),
    Route("/accounts/{account_id}/balances", account_balances, methods=["GET"]),
    Route("/accounts/{account_id}/transactions", account_transactions, methods=["GET"]),
    Route("/accounts/{account_id}/transactions/{transaction_id}", account_transaction, methods=["GET"]),
    Route("/payments", payments, methods=["POST"]),
    Route("/payments/{payment_id}", payments, methods=["GET", "DELETE"]),
    Route("/payments/{payment_id}/transactions/{transaction_id}", payments, methods=["GET"]),
]
