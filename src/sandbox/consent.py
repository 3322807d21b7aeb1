"""The consent page behind a requisition's `link`: pick a test customer, then Approve or Deny.

It plays GoCardless's hosted flow and the bank's login in one page. Approve accepts the agreement and links fresh
account ids; Deny rejects. Either way the browser goes back to the requisition's `redirect` with `?ref=` (plus
`error` and `details` on deny).
"""

import html

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from src.sandbox.api import link_accounts, read_form, requisition_status, state_of
from src.sandbox.catalogue import CUSTOMERS, CUSTOMERS_BY_ID, DEFAULT_CUSTOMER, INSTITUTIONS_BY_ID
from src.sandbox.common import login_form, with_query
from src.sandbox.common import page as _page


async def consent_page(request: Request) -> Response:
    state = state_of(request)
    requisition = state.requisitions.get(request.path_params["requisition_id"])
    if requisition is None or requisition.institution_id != request.path_params["institution_id"]:
        return _page("Link not found", "<h1>This link is not valid</h1><p>Ask the app for a new one.</p>", 404)
    status = requisition_status(state, requisition)
    if status not in {"CR", "GC", "UA"}:
        return _page(
            "Already answered",
            f"<h1>This request was already answered</h1><p>Status: {html.escape(status)}.</p>"
            f'<p><a href="{html.escape(with_query(requisition.redirect, {"ref": requisition.reference}))}">'
            "Back to the app</a></p>",
        )
    if requisition.status == "CR":
        requisition.status = "GC"
    institution = INSTITUTIONS_BY_ID[requisition.institution_id]
    agreement = state.agreements.get(requisition.agreement)
    scope = ", ".join(agreement.access_scope) if agreement else "details, balances, transactions"
    days = agreement.max_historical_days if agreement else 90
    body = (
        f'<h1>Connect your bank</h1><p class="bank">{html.escape(institution.name)} (sandbox)</p>'
        f"<p>The app asks to read your {html.escape(scope)} for the last {days} days.</p>"
        f"{login_form(CUSTOMERS, DEFAULT_CUSTOMER)}"
        '<p class="note">This is the finsync sandbox: no real bank is contacted.</p>'
    )
    return _page(f"Connect {institution.name}", body)


async def consent_submit(request: Request) -> Response:
    state = state_of(request)
    requisition = state.requisitions.get(request.path_params["requisition_id"])
    if requisition is None or requisition.institution_id != request.path_params["institution_id"]:
        return _page("Link not found", "<h1>This link is not valid</h1>", 404)
    form = dict(await read_form(request) or [])
    action = form.get("action", "")
    customer = form.get("customer", DEFAULT_CUSTOMER)
    if requisition_status(state, requisition) not in {"CR", "GC", "UA"}:
        return RedirectResponse(with_query(requisition.redirect, {"ref": requisition.reference}), status_code=302)
    if action == "approve" and customer in CUSTOMERS_BY_ID:
        requisition.status = "UA"
        link_accounts(state, requisition, customer)
        return RedirectResponse(with_query(requisition.redirect, {"ref": requisition.reference}), status_code=302)
    if action == "deny":
        requisition.status = "RJ"
        state.save()
        target = with_query(
            requisition.redirect,
            {"ref": requisition.reference, "error": "UserCancelledSession", "details": "User cancelled the session."},
        )
        return RedirectResponse(target, status_code=302)
    return _page("Choose", "<h1>Please choose a customer and press Approve or Deny</h1>", 400)


ROUTES = [
    Route("/psd2/start/{requisition_id}/{institution_id}", consent_page, methods=["GET"]),
    Route("/psd2/start/{requisition_id}/{institution_id}", consent_submit, methods=["POST"]),
]
