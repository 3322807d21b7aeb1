"""The official API under /api/v2/: paths, payloads, status codes and error bodies of GoCardless's spec."""

import email.policy
import json
import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from src.sandbox import errors, history, limits
from src.sandbox.catalogue import CUSTOMERS_BY_ID, INSTITUTIONS, INSTITUTIONS_BY_ID
from src.sandbox.common import new_id
from src.sandbox.state import SCOPES, Account, Agreement, Requisition, SandboxState, iso

KNOWN_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XX",
    ]
)
INSTITUTION_FILTERS = {
    "access_scopes_supported": None,
    "account_selection_supported": "account_selection",
    "business_accounts_supported": "business_accounts",
    "card_accounts_supported": "card_accounts",
    "corporate_accounts_supported": "corporate_accounts",
    "pending_transactions_supported": "pending_transactions",
    "private_accounts_supported": "private_accounts",
    "read_debtor_account_supported": None,
    "read_refund_account_supported": None,
    "separate_continuous_history_consent_supported": "separate_continuous_history_consent",
    "ssn_verification_supported": None,
}
LANGUAGES = frozenset(
    [
        "EN",
        "DE",
        "FR",
        "ES",
        "IT",
        "NL",
        "PL",
        "SV",
        "DA",
        "FI",
        "NO",
        "PT",
        "ET",
        "LV",
        "LT",
        "BG",
        "CS",
        "EL",
        "HU",
        "RO",
        "SK",
        "SL",
        "HR",
    ]
)
ACCOUNT_PATH = re.compile(r"^/api/v2/accounts/([^/]+)/(?:(details|balances|transactions)/)?$")


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def public_url(request: Request) -> str:
    state = state_of(request)
    if state.config.public_url:
        return state.config.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def read_body(request: Request) -> dict[str, Any] | None:
    """JSON, form-urlencoded or multipart, as the spec accepts; None when the body cannot be parsed."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or not content_type:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    fields = await read_form(request)
    if fields is None:
        return None
    grouped: dict[str, list[str]] = {}
    for key, value in fields:
        grouped.setdefault(key, []).append(value)
    return {key: values if len(values) > 1 or key == "access_scope" else values[0] for key, values in grouped.items()}


async def read_form(request: Request) -> list[tuple[str, str]] | None:
    """The fields of a form-urlencoded or multipart body; None when it is neither or cannot be parsed.

    Parsed with the standard library: Starlette's `request.form()` needs python-multipart, which finsync does not
    ship, and without it every form post answered 500.
    """
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            return parse_qsl(raw.decode(), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return None
    if content_type.startswith("multipart/form-data"):
        header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
        message = BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
        if not message.is_multipart():
            return None
        fields: list[tuple[str, str]] = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields.append((name, payload.decode(part.get_content_charset() or "utf-8", "replace")))
        return fields
    return None


def authenticated(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and state_of(request).token_valid(token.strip(), "access")


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _page(request: Request, items: list[dict[str, Any]]) -> Response:
    limit = _int(request.query_params.get("limit", "100"))
    offset = _int(request.query_params.get("offset", "0"))
    if limit is None or limit < 1:
        return errors.field_errors({"limit": ["A valid integer is required."]})
    if offset is None or offset < 0:
        return errors.field_errors({"offset": ["A valid integer is required."]})
    base = str(request.url.replace(query="")).rstrip("?")

    def link(at: int) -> str:
        return f"{base}?{urlencode({'limit': limit, 'offset': at})}"

    return JSONResponse(
        {
            "count": len(items),
            "next": link(offset + limit) if offset + limit < len(items) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "results": items[offset : offset + limit],
        }
    )


# -- tokens -------------------------------------------------------------------------------------------------------
async def token_new(request: Request) -> Response:
    body = await read_body(request)
    if body is None:
        return errors.error(400, "Parse error", "The request body could not be parsed.")
    missing = [name for name in ("secret_id", "secret_key") if not str(body.get(name) or "").strip()]
    if missing:
        return errors.required(*missing)
    state = state_of(request)
    if body["secret_id"] != state.config.secret_id or body["secret_key"] != state.config.secret_key:
        return errors.error(401, "Authentication failed", "No active account found with the given credentials")
    return JSONResponse(
        {
            "access": state.issue_token("access", state.access_lifetime),
            "access_expires": state.access_lifetime,
            "refresh": state.issue_token("refresh", state.refresh_lifetime),
            "refresh_expires": state.refresh_lifetime,
        }
    )


async def token_refresh(request: Request) -> Response:
    body = await read_body(request)
    if body is None:
        return errors.error(400, "Parse error", "The request body could not be parsed.")
    refresh = str(body.get("refresh") or "").strip()
    if not refresh:
        return errors.required("refresh")
    state = state_of(request)
    if not state.token_valid(refresh, "refresh"):
        return errors.invalid_token()
    return JSONResponse(
        {"access": state.issue_token("access", state.access_lifetime), "access_expires": state.access_lifetime}
    )


# -- institutions -------------------------------------------------------------------------------------------------
async def institutions_list(request: Request) -> Response:
    if not authenticated(request):
        return errors.invalid_token()
    params = request.query_params
    unknown = sorted(set(params) - {"country", *INSTITUTION_FILTERS})
    if unknown:
        return errors.error(400, "Unknown fields", f"Unknown fields {', '.join(unknown)} in query parameters")
    country = params.get("country")
    if country is not None and country.upper() not in KNOWN_COUNTRIES:
        return errors.error(400, "Invalid country choice.", f"{country} is not a valid choice.")
    selected = [
        institution for institution in INSTITUTIONS if country is None or country.upper() in institution.countries
    ]
    for name, feature in INSTITUTION_FILTERS.items():
        if name not in params:
            continue
        wanted = _bool(params[name])
        if wanted is None:
            return errors.error(400, f"Invalid {name}", f"{params[name]} is not a valid boolean.")
        if feature is not None:
            selected = [i for i in selected if (feature in i.features) == wanted]
        elif name == "ssn_verification_supported":
            selected = [i for i in selected if i.supports_ssn == wanted]
    base = public_url(request)
    return JSONResponse([institution.integration(base) for institution in selected])


async def institution_get(request: Request) -> Response:
    if not authenticated(request):
        return errors.invalid_token()
    institution = INSTITUTIONS_BY_ID.get(request.path_params["id"])
    if institution is None:
        return errors.not_found()
    return JSONResponse(institution.integration(public_url(request), detailed=True))


# -- agreements ---------------------------------------------------------------------------------------------------
def _validate_agreement(body: dict[str, Any]) -> Response | Agreement:
    institution_id = str(body.get("institution_id") or "").strip()
    if not institution_id:
        return errors.required("institution_id")
    institution = INSTITUTIONS_BY_ID.get(institution_id)
    if institution is None:
        return errors.field_error(
            "institution_id",
            f"Unknown Institution ID {institution_id}",
            "Get Institution IDs from /institutions/?country={$COUNTRY_CODE}",
        )
    problems: dict[str, Any] = {}
    history_days = _int(body.get("max_historical_days", 90))
    if history_days is None or not 0 < history_days <= institution.transaction_total_days:
        problems["max_historical_days"] = {
            "summary": "Incorrect max_historical_days",
            "detail": f"max_historical_days must be > 0 and <= {institution.transaction_total_days} for {institution_id}",
        }
    access_days = _int(body.get("access_valid_for_days", 90))
    if access_days is None or not 0 < access_days <= institution.max_access_valid_for_days:
        problems["access_valid_for_days"] = {
            "summary": "Incorrect access_valid_for_days",
            "detail": f"access_valid_for_days must be > 0 and <= {institution.max_access_valid_for_days}",
        }
    scope = body.get("access_scope", list(SCOPES))
    if isinstance(scope, str):
        scope = [part.strip() for part in scope.split(",") if part.strip()]
    if not isinstance(scope, list) or not scope or any(item not in SCOPES for item in scope):
        problems["access_scope"] = {
            "summary": "Unknown value in access_scope",
            "detail": "Choose one or several of ['balances', 'details', 'transactions']",
        }
    reconfirmation = _bool(body.get("reconfirmation", False))
    if reconfirmation is None:
        problems["reconfirmation"] = ["Must be a valid boolean."]
    elif reconfirmation and ("GB" not in institution.countries or (access_days or 0) <= 90):
        problems["reconfirmation"] = {
            "summary": "Reconfirmation not supported",
            "detail": "Reconfirmation is supported for GB institutions with access_valid_for_days above 90",
        }
    if problems:
        return errors.field_errors(problems)
    assert history_days is not None
    assert access_days is not None
    return Agreement(
        id=new_id(),
        created=datetime.now().astimezone(),
        institution_id=institution_id,
        max_historical_days=history_days,
        access_valid_for_days=access_days,
        access_scope=list(dict.fromkeys(scope)),
        reconfirmation=bool(reconfirmation),
    )


async def agreement_create(request: Request) -> Response:
    if not authenticated(request):
        return errors.invalid_token()
    body = await read_body(request)
    if body is None:
        return errors.error(400, "Parse error", "The request body could not be parsed.")
    result = _validate_agreement(body)
    if isinstance(result, Response):
        return result
    state = state_of(request)
    result.created = state.now()
    state.agreements[result.id] = result
    state.save()
    return JSONResponse(result.payload(), status_code=201)


async def agreement_list(request: Request) -> Response:
    if not authenticated(request):
        return errors.invalid_token()
    state = state_of(request)
    items = sorted(state.agreements.values(), key=lambda a: a.created, reverse=True)
    return _page(request, [agreement.payload() for agreement in items])


def _agreement_or_error(request: Request) -> Agreement | Response:
    if not authenticated(request):
        return errors.invalid_token()
    agreement_id = request.path_params["id"]
    if not is_uuid(agreement_id):
        return errors.invalid_id(agreement_id)
    agreement = state_of(request).agreements.get(agreement_id)
    return agreement if agreement is not None else errors.not_found()


async def agreement_get(request: Request) -> Response:
    found = _agreement_or_error(request)
    return found if isinstance(found, Response) else JSONResponse(found.payload())


async def agreement_delete(request: Request) -> Response:
    found = _agreement_or_error(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    del state.agreements[found.id]
    state.save()
    return JSONResponse({"summary": "End User Agreement deleted", "detail": f"End User Agreement {found.id} deleted"})


async def agreement_accept(request: Request) -> Response:
    found = _agreement_or_error(request)
    if isinstance(found, Response):
        return found
    body = await read_body(request)
    if body is None:
        return errors.error(400, "Parse error", "The request body could not be parsed.")
    missing = [name for name in ("user_agent", "ip_address") if not str(body.get(name) or "").strip()]
    if missing:
        return errors.required(*missing)
    if found.accepted is not None:
        return errors.error(
            405, "EUA cannot be accepted more than once", "End User Agreements cannot be accepted more than once"
        )
    state = state_of(request)
    found.accepted = state.now()
    state.save()
    return JSONResponse(found.payload())


async def agreement_reconfirm(request: Request) -> Response:
    found = _agreement_or_error(request)
    if isinstance(found, Response):
        return found
    if not found.reconfirmation:
        return errors.error(
            400, "Reconfirmation not enabled", f"End User Agreement {found.id} was not created with reconfirmation"
        )
    if found.accepted is None:
        return errors.error(400, "EUA not accepted", f"End User Agreement {found.id} has not been accepted yet")
    state = state_of(request)
    redirect = None
    if request.method == "POST":
        body = await read_body(request)
        if body is None:
            return errors.error(400, "Parse error", "The request body could not be parsed.")
        redirect = body.get("redirect") or None
    linked = [r for r in state.requisitions.values() if r.agreement == found.id and r.accounts]
    accounts = {account_id: {"reconfirmed": "", "rejected": ""} for r in linked for account_id in r.accounts}
    now = state.now()
    payload = {
        "reconfirmation_url": f"{public_url(request)}/psd2/reconfirm/{found.id}",
        "created": iso(now),
        "url_valid_from": iso(now),
        "url_valid_to": iso(now + timedelta(days=14)),
        "redirect": redirect,
        "last_accessed": None,
        "last_submitted": None,
        "accounts": accounts,
    }
    return JSONResponse(payload, status_code=201 if request.method == "POST" else 200)


# -- requisitions -------------------------------------------------------------------------------------------------
def requisition_status(state: SandboxState, requisition: Requisition) -> str:
    if requisition.status == "LN":
        agreement = state.agreements.get(requisition.agreement)
        expires = agreement.expires_at() if agreement else None
        if agreement is None or (expires is not None and expires <= state.now()):
            return "EX"
    return requisition.status


def requisition_payload(request: Request, requisition: Requisition) -> dict[str, Any]:
    state = state_of(request)
    payload: dict[str, Any] = {
        "id": requisition.id,
        "created": iso(requisition.created),
        "redirect": requisition.redirect,
        "status": requisition_status(state, requisition),
        "institution_id": requisition.institution_id,
        "agreement": requisition.agreement,
        "reference": requisition.reference,
        "accounts": list(requisition.accounts),
        "user_language": requisition.user_language,
        "link": f"{public_url(request)}/psd2/start/{requisition.id}/{requisition.institution_id}",
        "account_selection": requisition.account_selection,
        "redirect_immediate": requisition.redirect_immediate,
    }
    # Real responses have been seen with "ssn": null, but the spec types ssn as a non-nullable string: leave it out.
    if requisition.ssn is not None:
        payload["ssn"] = requisition.ssn
    return payload


async def requisition_create(request: Request) -> Response:
    if not authenticated(request):
        return errors.invalid_token()
    body = await read_body(request)
    if body is None:
        return errors.error(400, "Parse error", "The request body could not be parsed.")
    missing = [name for name in ("redirect", "institution_id") if not str(body.get(name) or "").strip()]
    if missing:
        return errors.required(*missing)
    state = state_of(request)
    redirect = str(body["redirect"]).strip()
    institution_id = str(body["institution_id"]).strip()
    institution = INSTITUTIONS_BY_ID.get(institution_id)
    if not re.match(r"^https?://[^\s/]+", redirect) or len(redirect) > 1024:
        return errors.field_error("redirect", "Invalid redirect URL", "Enter a valid URL of at most 1024 characters.")
    if institution is None:
        return errors.field_error(
            "institution_id",
            f"Unknown Institution ID {institution_id}",
            "Get Institution IDs from /institutions/?country={$COUNTRY_CODE}",
        )
    reference = body.get("reference")
    if reference is not None:
        reference = str(reference)
        if len(reference) > 256:
            return errors.field_error(
                "reference", "Reference too long", "Ensure this field has no more than 256 characters."
            )
        if any(r.reference == reference for r in state.requisitions.values()):
            return errors.field_error(
                "reference", "Client reference must be unique", f"Client reference '{reference}' already exists"
            )
    language = str(body.get("user_language") or "EN").upper()
    if len(language) > 5 or language not in LANGUAGES:
        return errors.field_error(
            "user_language",
            "Provided user_language is invalid or not supported",
            f"'{language}' is an invalid or unsupported language",
        )
    ssn = body.get("ssn")
    if ssn is not None and not institution.supports_ssn:
        return errors.field_error(
            "ssn", "SSN verification not supported", f"SSN verification not supported for {institution_id}"
        )
    account_selection = _bool(body.get("account_selection", False))
    redirect_immediate = _bool(body.get("redirect_immediate", False))
    if account_selection is None or redirect_immediate is None:
        name = "account_selection" if account_selection is None else "redirect_immediate"
        return errors.field_errors({name: ["Must be a valid boolean."]})
    if account_selection and "account_selection" not in institution.features:
        return errors.field_error(
            "account_selection",
            "Account selection not supported",
            f"Account selection not supported for {institution_id}",
        )
    agreement_id = body.get("agreement")
    if agreement_id:
        agreement_id = str(agreement_id)
        if not is_uuid(agreement_id):
            return errors.field_error("agreement", "Invalid ID", f"{agreement_id} is not a valid UUID.")
        agreement = state.agreements.get(agreement_id)
        if agreement is None:
            return errors.field_error(
                "agreement",
                f"ID {agreement_id} not found",
                "Please check whether you specified a valid End User Agreement ID",
                status=404,
            )
        if agreement.institution_id != institution_id:
            return errors.field_error(
                "agreement",
                "Incorrect Institution ID",
                f"Provided Institution ID: '{institution_id}' for requisition does not match EUA institution ID '{agreement.institution_id}'.",
            )
        if any(r.agreement == agreement_id for r in state.requisitions.values()):
            return errors.field_error(
                "agreement",
                "This agreement is already used",
                f"End User Agreement {agreement_id} is already attached to a requisition",
            )
    else:
        agreement = Agreement(
            id=new_id(),
            created=state.now(),
            institution_id=institution_id,
            max_historical_days=min(90, institution.transaction_total_days),
            access_valid_for_days=min(90, institution.max_access_valid_for_days),
            access_scope=list(SCOPES),
        )
        state.agreements[agreement.id] = agreement
    requisition_id = new_id()
    requisition = Requisition(
        id=requisition_id,
        created=state.now(),
        redirect=redirect,
        institution_id=institution_id,
        agreement=agreement.id,
        reference=reference if reference is not None else requisition_id,
        user_language=language,
        ssn=str(ssn) if ssn is not None else None,
        account_selection=bool(account_selection),
        redirect_immediate=bool(redirect_immediate),
    )
    state.requisitions[requisition.id] = requisition
    state.save()
    return JSONResponse(requisition_payload(request, requisition), status_code=201)


async def requisition_list(request: Request) -> Response:
    if not authenticated(request):
        return errors.invalid_token()
    state = state_of(request)
    items = sorted(state.requisitions.values(), key=lambda r: r.created, reverse=True)
    return _page(request, [requisition_payload(request, requisition) for requisition in items])


def _requisition_or_error(request: Request) -> Requisition | Response:
    if not authenticated(request):
        return errors.invalid_token()
    requisition_id = request.path_params["id"]
    if not is_uuid(requisition_id):
        return errors.invalid_id(requisition_id)
    requisition = state_of(request).requisitions.get(requisition_id)
    return requisition if requisition is not None else errors.not_found()


async def requisition_get(request: Request) -> Response:
    found = _requisition_or_error(request)
    return found if isinstance(found, Response) else JSONResponse(requisition_payload(request, found))


async def requisition_delete(request: Request) -> Response:
    found = _requisition_or_error(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    del state.requisitions[found.id]
    state.agreements.pop(found.agreement, None)
    for account_id in found.accounts:
        state.accounts.pop(account_id, None)
    state.save()
    return JSONResponse(
        {"summary": "Requisition deleted", "detail": f"Requisition {found.id} deleted with all its End User Agreements"}
    )


# -- accounts -----------------------------------------------------------------------------------------------------
def _account_or_error(request: Request) -> Account | Response:
    if not authenticated(request):
        return errors.invalid_token()
    account_id = request.path_params["id"]
    if not is_uuid(account_id):
        return errors.error(400, "Invalid Account ID", f"{account_id} is not a valid Account UUID. ")
    account = state_of(request).accounts.get(account_id)
    if account is None:
        return errors.error(
            404, f"Account ID {account_id} not found", "Please check whether you specified a valid Account ID"
        )
    return account


def account_status(state: SandboxState, account: Account) -> str:
    if account.access == "suspended":
        return "SUSPENDED"
    if account.access in {"access_expired", "inactive"}:
        return "EXPIRED" if account.access == "access_expired" else "ERROR"
    requisition = state.requisitions.get(account.requisition_id)
    if requisition is None or requisition_status(state, requisition) == "EX":
        return "EXPIRED"
    return "READY"


async def account_metadata(request: Request) -> Response:
    found = _account_or_error(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    state.counter(found.id, "metadata").ok += 1
    profile = history.profile(found.institution_id, found.customer_id, found.index)
    return JSONResponse(
        {
            "id": found.id,
            "created": iso(found.created),
            "last_accessed": iso(found.last_accessed or found.created),
            "iban": profile.iban,
            "bban": profile.bban,
            "status": account_status(state, found),
            "institution_id": found.institution_id,
            "owner_name": profile.owner_name,
            "name": profile.name,
        }
    )


def _scope_gate(request: Request, scope: str) -> tuple[Account, SandboxState, history.AccountProfile] | Response:
    """Everything that can refuse an account data call, in GoCardless's order; counts quota only on success."""
    found = _account_or_error(request)
    if isinstance(found, Response):
        return found
    state = state_of(request)
    label = f"Couldn't update account {scope}"
    if found.access == "suspended":
        return errors.error(
            409,
            "Account suspended",
            "This account or its requisition was suspended due to numerous errors that occurred while accessing it.",
        )
    requisition = state.requisitions.get(found.requisition_id)
    agreement = state.agreements.get(requisition.agreement) if requisition else None
    if agreement is None:
        return errors.error(
            403,
            "No valid End User Agreement",
            "Account exists but there is no valid End User Agreement permitting you to access it",
        )
    expires = agreement.expires_at()
    if expires is not None and expires <= state.now():
        return errors.error(
            401,
            f"End User Agreement (EUA) {agreement.id} has expired",
            f"EUA was valid for {agreement.access_valid_for_days} days and it expired at {expires.date().isoformat()}. "
            "The end user must connect the account once more with new EUA and Requisition",
        )
    if found.access == "access_expired":
        return errors.error(
            401,
            label,
            "Access has expired or it has been revoked. To restore access reconnect the account.",
            type_="AccessExpiredError",
        )
    if found.access == "inactive":
        return errors.error(
            401, label, "Account has been deactivated or it no longer exists.", type_="AccountInactiveError"
        )
    if scope not in agreement.access_scope:
        return errors.error(
            403,
            "End User Agreement (EUA) access scope error",
            f"EUA doesn't allow access to account {scope}. Check EUA access scope. Or create new EUA with correct access scope",
        )
    counter = state.counter(found.id, scope)
    used = limits.used_today(state, found.id, scope)
    if found.bank_daily_limit is not None and used >= found.bank_daily_limit:
        counter.rate_limited += 1
        return errors.error(
            429, label, "Daily request limit set by the Institution has been exceeded.", type_="RateLimitError"
        )
    if used >= state.account_daily_limit:
        counter.rate_limited += 1
        counter.over_quota_calls += 1
        return errors.rate_limited(state.account_daily_limit, "day", state.seconds_to_midnight())
    return found, state, history.profile(found.institution_id, found.customer_id, found.index)


def _succeed(state: SandboxState, account: Account, scope: str, body: dict[str, Any]) -> Response:
    limits.record_success(state, account.id, scope)
    state.counter(account.id, scope).ok += 1
    account.last_accessed = state.now()
    response = JSONResponse(body)
    return limits.with_headers(response, limits.account_headers(state, account.id, scope))


def _gated(request: Request, scope: str) -> tuple[Account, SandboxState, history.AccountProfile] | Response:
    result = _scope_gate(request, scope)
    if isinstance(result, Response):
        account_id = request.path_params["id"]
        state = state_of(request)
        if account_id in state.accounts:
            limits.with_headers(result, limits.account_headers(state, account_id, scope))
    return result


async def account_details(request: Request) -> Response:
    gate = _gated(request, "details")
    if isinstance(gate, Response):
        return gate
    account, state, profile = gate
    details = {
        "resourceId": profile.seed.replace("/", "-"),
        "iban": profile.iban,
        "bban": profile.bban,
        "currency": profile.currency,
        "ownerName": profile.owner_name,
        "name": profile.name,
        "product": profile.product,
        "cashAccountType": "CACC" if profile.index != 1 else "SVGS",
        "status": "enabled",
        "bic": INSTITUTIONS_BY_ID[account.institution_id].bic,
    }
    return _succeed(state, account, "details", {"account": details})


async def account_balances(request: Request) -> Response:
    gate = _gated(request, "balances")
    if isinstance(gate, Response):
        return gate
    account, state, profile = gate
    today = state.today()
    closing = history.booked_balance(profile, today)
    opening = history.booked_balance(profile, today - timedelta(days=1))
    window = history.items_between(profile, today - timedelta(days=4), today)
    pending = sum((i.amount for i in window if i.value_day <= today < i.booking_day), Decimal(0))
    amounts = {
        "closingBooked": closing,
        "openingBooked": opening,
        "interimBooked": closing,
        "interimAvailable": closing + pending,
        "expected": closing + pending,
    }
    institution = INSTITUTIONS_BY_ID[account.institution_id]
    balances = []
    for balance_type in institution.balance_types:
        entry: dict[str, Any] = {
            "balanceAmount": {"amount": f"{amounts[balance_type]:.2f}", "currency": profile.currency},
            "balanceType": balance_type,
            "referenceDate": today.isoformat(),
        }
        if balance_type.startswith("interim"):
            entry["lastChangeDateTime"] = iso(state.now())
            entry["creditLimitIncluded"] = False
        balances.append(entry)
    return _succeed(state, account, "balances", {"balances": balances})


def _parse_date(value: str | None) -> date | str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return "invalid"


def _transaction_payload(
    account: Account, profile: history.AccountProfile, item: history.Item, *, booked: bool, fetch: int
) -> dict[str, Any]:
    amount = {"amount": f"{item.amount:.2f}", "currency": profile.currency}
    payload: dict[str, Any] = {}
    if booked:
        transaction_id, internal_id = history.transaction_ids(profile, item)
        if account.id_mode == "reissued":
            transaction_id, internal_id = f"{transaction_id}.{fetch}", f"{internal_id[:24]}{fetch:08d}"
        if account.id_mode == "blank":
            pass
        elif item.blank_transaction_id:
            payload["transactionId"] = ""
            payload["internalTransactionId"] = internal_id
        elif item.has_transaction_id:
            payload["transactionId"] = transaction_id
            payload["internalTransactionId"] = internal_id
        else:
            payload["internalTransactionId"] = internal_id
        if item.entry_reference and account.id_mode != "blank":
            payload["entryReference"] = item.entry_reference
        payload["bookingDate"] = item.booking_day.isoformat()
        payload["valueDate"] = item.value_day.isoformat()
        if item.with_time:
            payload["bookingDateTime"] = (
                f"{item.booking_day.isoformat()}T{9 + item.seq % 10:02d}:{(item.seq * 7) % 60:02d}:00Z"
            )
    else:
        if item.pending_id and account.id_mode != "blank":
            payload["transactionId"] = item.pending_id
        payload["valueDate"] = item.value_day.isoformat()
    payload["transactionAmount"] = amount
    side = "creditor" if item.amount < 0 else "debtor"
    payload[f"{side}Name"] = item.counterparty
    if item.counterparty_iban:
        payload[f"{side}Account"] = {"iban": item.counterparty_iban}
    if item.ultimate:
        payload["ultimateCreditor" if side == "creditor" else "ultimateDebtor"] = item.ultimate
    remittance = item.remittance if booked else f"Reserved {item.remittance}"
    if profile.remittance_as_array:
        words = remittance.split(" ")
        middle = max(1, len(words) // 2)
        payload["remittanceInformationUnstructuredArray"] = [" ".join(words[:middle]), " ".join(words[middle:])]
    else:
        payload["remittanceInformationUnstructured"] = remittance
    payload["bankTransactionCode"] = "PMNT"
    if booked:
        payload["proprietaryBankTransactionCode"] = "CARD" if item.amount < 0 else "TRANSFER"
    return payload


def _hidden_match(account: Account, payload: dict[str, Any]) -> bool:
    ids = {payload.get("transactionId"), payload.get("internalTransactionId"), payload.get("entryReference")}
    return any(value in account.hidden for value in ids if value)


async def account_transactions(request: Request) -> Response:
    unknown = sorted(set(request.query_params) - {"date_from", "date_to"})
    date_from = _parse_date(request.query_params.get("date_from"))
    date_to = _parse_date(request.query_params.get("date_to"))
    gate = _gated(request, "transactions")
    if isinstance(gate, Response):
        return gate
    account, state, profile = gate
    if unknown:
        return errors.error(400, "Unknown fields", f"Unknown fields {', '.join(unknown)} in query parameters")
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value == "invalid":
            return errors.error(
                400, f"Invalid {name} format", f"{request.query_params[name]} is not a valid date; use YYYY-MM-DD."
            )
    assert not isinstance(date_from, str)
    assert not isinstance(date_to, str)
    if date_from is not None and date_to is not None and date_from > date_to:
        return errors.error(
            400,
            "Incorrect date range",
            f"Starting date '{date_from}' is greater than end date '{date_to}'. When specifying date range, starting date must precede the end date.",
        )
    today = state.today()
    requisition = state.requisitions[account.requisition_id]
    agreement = state.agreements[requisition.agreement]
    window_start = today - timedelta(days=agreement.max_historical_days)
    first = max(window_start, date_from or window_start)
    last = min(today, date_to or today)
    account.fetches += 1
    booked: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for item in history.items_between(profile, first, last):
        if item.value_day > today:
            continue
        if item.booking_day <= today:
            if first <= item.booking_day <= last:
                payload = _transaction_payload(account, profile, item, booked=True, fetch=account.fetches)
                if not _hidden_match(account, payload):
                    booked.append(payload)
        elif first <= item.value_day <= last:
            payload = _transaction_payload(account, profile, item, booked=False, fetch=account.fetches)
            if not _hidden_match(account, payload):
                pending.append(payload)
    # Newest first, as banks list them.
    booked.reverse()
    pending.reverse()
    body = {"transactions": {"booked": booked, "pending": pending}, "last_updated": iso(state.now())}
    return _succeed(state, account, "transactions", body)


def link_accounts(state: SandboxState, requisition: Requisition, customer_id: str, count: int | None = None) -> None:
    """Approve: the agreement is accepted and the requisition gets fresh account ids (same IBANs as before)."""
    customer = CUSTOMERS_BY_ID.get(customer_id)
    total = count if count is not None else (customer.accounts if customer else 2)
    agreement = state.agreements.get(requisition.agreement)
    now = state.now()
    if agreement is not None and agreement.accepted is None:
        agreement.accepted = now
    requisition.customer_id = customer_id
    requisition.status = "LN"
    requisition.accounts = []
    for index in range(total):
        account = Account(
            id=new_id(),
            requisition_id=requisition.id,
            institution_id=requisition.institution_id,
            customer_id=customer_id,
            index=index,
            created=now,
        )
        state.accounts[account.id] = account
        requisition.accounts.append(account.id)
    state.save()


ROUTES = [
    Route("/api/v2/token/new/", token_new, methods=["POST"]),
    Route("/api/v2/token/refresh/", token_refresh, methods=["POST"]),
    Route("/api/v2/institutions/", institutions_list, methods=["GET"]),
    Route("/api/v2/institutions/{id}/", institution_get, methods=["GET"]),
    Route("/api/v2/agreements/enduser/", agreement_list, methods=["GET"]),
    Route("/api/v2/agreements/enduser/", agreement_create, methods=["POST"]),
    Route("/api/v2/agreements/enduser/{id}/", agreement_get, methods=["GET"]),
    Route("/api/v2/agreements/enduser/{id}/", agreement_delete, methods=["DELETE"]),
    Route("/api/v2/agreements/enduser/{id}/accept/", agreement_accept, methods=["PUT"]),
    Route("/api/v2/agreements/enduser/{id}/reconfirm/", agreement_reconfirm, methods=["GET", "POST"]),
    Route("/api/v2/requisitions/", requisition_list, methods=["GET"]),
    Route("/api/v2/requisitions/", requisition_create, methods=["POST"]),
    Route("/api/v2/requisitions/{id}/", requisition_get, methods=["GET"]),
    Route("/api/v2/requisitions/{id}/", requisition_delete, methods=["DELETE"]),
    Route("/api/v2/accounts/{id}/", account_metadata, methods=["GET"]),
    Route("/api/v2/accounts/{id}/details/", account_details, methods=["GET"]),
    Route("/api/v2/accounts/{id}/balances/", account_balances, methods=["GET"]),
    Route("/api/v2/accounts/{id}/transactions/", account_transactions, methods=["GET"]),
]
