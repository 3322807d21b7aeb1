"""The page behind `POST /auth`'s `url`: it plays Enable Banking's bank selection and the bank's login in one.

The person picks a test customer and presses Approve or Deny. Approve sends the browser back to the
`redirect_url` with `?code=…&state=…` (as Enable Banking's mock-auth-ui does); Deny sends it back with
`?state=…&error=access_denied&error_description=…`, the OAuth 2.0 form of a refusal (RFC 6749 §4.1.2.1). The
controls under `/_sandbox/authorizations/` do the same without a browser.
"""

import html
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from src.sandbox.enablebanking.api import state_of
from src.sandbox.enablebanking.catalogue import CUSTOMERS, CUSTOMERS_BY_ID, DEFAULT_CUSTOMER
from src.sandbox.enablebanking.state import Authorization, EnableBankingState

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }}
h1 {{ font-size: 1.4rem; }} .bank {{ color: #555; }} label {{ display: block; margin: .4rem 0; }}
button {{ font-size: 1rem; padding: .5rem 1.2rem; margin-right: .6rem; border-radius: 6px; border: 1px solid #888; }}
button[value=approve] {{ background: #1f7a4d; color: white; border-color: #1f7a4d; }}
.note {{ font-size: .85rem; color: #666; margin-top: 2rem; }}
</style></head><body>{body}</body></html>"""

DENIED = {"error": "access_denied", "error_description": "The user cancelled the authorization"}


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def approve(state: EnableBankingState, authorization: Authorization, customer_id: str) -> str:
    """Approve as `customer_id`; the address the browser is sent back to."""
    code = state.approve(authorization, customer_id)
    return with_query(authorization.redirect_url, {"code": code, "state": authorization.state})


def deny(authorization: Authorization) -> str:
    authorization.status = "CANCELLED"
    return with_query(authorization.redirect_url, {"state": authorization.state, **DENIED})


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


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
    options = "".join(
        f'<label><input type="radio" name="customer" value="{c.id}"{" checked" if c.id == DEFAULT_CUSTOMER else ""}>'
        f" {html.escape(c.name)} <small>({c.accounts} account{'' if c.accounts == 1 else 's'})</small></label>"
        for c in CUSTOMERS
    )
    body = (
        f'<h1>Authorize access to your accounts</h1><p class="bank">{html.escape(name)} ({country}, sandbox)</p>'
        f"<p>The app asks to read your accounts' details, balances and transactions until "
        f"{authorization.valid_until:%Y-%m-%d}.</p>"
        '<form method="post"><fieldset><legend>Log in as</legend>'
        f"{options}</fieldset><p>"
        '<button type="submit" name="action" value="approve">Approve</button>'
        '<button type="submit" name="action" value="deny">Deny</button></p></form>'
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
