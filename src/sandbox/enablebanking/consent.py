"""The page behind `POST /auth`'s `url`: it plays Enable Banking's bank selection and the bank's login in one.

The person picks a test customer and presses Approve or Deny. Approve sends the browser back to the
`redirect_url` with `?code=…&state=…` (as Enable Banking's mock-auth-ui does); Deny sends it back with
`?state=…&error=access_denied&error_description=…`, the OAuth 2.0 form of a refusal (RFC 6749 §4.1.2.1). The
controls under `/_sandbox/authorizations/` do the same without a browser.
"""

import html
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from src.sandbox.common import login_form, with_query
from src.sandbox.common import page as _page
from src.sandbox.enablebanking.api import state_of
from src.sandbox.enablebanking.catalogue import CUSTOMERS, CUSTOMERS_BY_ID, DEFAULT_CUSTOMER
from src.sandbox.enablebanking.state import Authorization, EnableBankingState

DENIED = {"error": "access_denied", "error_description": "The user cancelled the authorization"}


def approve(state: EnableBankingState, authorization: Authorization, customer_id: str) -> str:
    """Approve as `customer_id`; the address the browser is sent back to."""
    code = state.approve(authorization, customer_id)
    return with_query(authorization.redirect_url, {"code": code, "state": authorization.state})


def deny(authorization: Authorization) -> str:
    authorization.status = "CANCELLED"
    return with_query(authorization.redirect_url, {"state": authorization.state, **DENIED})


def _open(state: EnableBankingState, authorization_id: str) -> Authorization | Response:
    authorization = state.authorizations.get(authorization_id)
    if authorization is None:
        return _page("Link not found", "<h1>This link is not valid</h1><p>Ask the app for a new one.</p>", 404)
    if authorization.status != "PENDING_AUTHORIZATION":
        return _page("Already answered", "<h1>This authorization was already answered</h1>", 409)
    return authorization


async def consent_page(request: Request) -> Response:
    authorization = _open(state_of(request), request.path_params["authorization_id"])
    if isinstance(authorization, Response):
        return authorization
    name, country = authorization.aspsp
    body = (
        f'<h1>Authorize access to your accounts</h1><p class="bank">{html.escape(name)} ({country}, sandbox)</p>'
        f"<p>The app asks to read your accounts' details, balances and transactions until "
        f"{authorization.valid_until:%Y-%m-%d}.</p>"
        f"{login_form(CUSTOMERS, DEFAULT_CUSTOMER)}"
        '<p class="note">This is the finsync Enable Banking sandbox: no real bank is contacted.</p>'
    )
    return _page(f"Authorize {name}", body)


async def consent_submit(request: Request) -> Response:
    state = state_of(request)
    authorization = _open(state, request.path_params["authorization_id"])
    if isinstance(authorization, Response):
        return authorization
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    action = form.get("action", "")
    customer = form.get("customer", DEFAULT_CUSTOMER)
    if action == "approve" and customer in CUSTOMERS_BY_ID:
        return RedirectResponse(approve(state, authorization, customer), status_code=302)
    if action == "deny":
        return RedirectResponse(deny(authorization), status_code=302)
    return _page("Choose", "<h1>Please choose a customer and press Approve or Deny</h1>", 400)


ROUTES = [
    Route("/consent/{authorization_id}", consent_page, methods=["GET"]),
    Route("/consent/{authorization_id}", consent_submit, methods=["POST"]),
]
