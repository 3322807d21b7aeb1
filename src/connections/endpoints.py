"""Connections: create (→ the bank's consent link), the bank callback, list, read, rename, delete, re-authorise;
and starting their syncs (Sync now, Sync all: the jobs domain's operations, tagged `jobs`, on `sync_router`)."""

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from src.auth.dependencies import CurrentUser
from src.connections import enablebanking as eb_consent
from src.connections.callbacks import CallbackOutcome, CallbackResult
from src.connections.exceptions import RedirectNotReadableAppError
from src.connections.quotas import allow_consent_request, allow_deletion, allow_new_connection
from src.connections.schemas import (
    CallbackRead,
    ConnectionCreate,
    ConnectionLink,
    ConnectionRead,
    ConnectionUpdate,
    PastedRedirect,
)
from src.connections.service import ConnectionView
from src.connections.service import connection as connection_service
from src.exceptions import AppError
from src.jobs.exceptions import RateLimitedError
from src.jobs.schemas import JobRead
from src.jobs.service import job as job_service
from src.kit.dependencies import DagsterDep, EnableBankingDep, GoCardlessDep, SessionDep
from src.kit.responses import LOCATION, error_responses
from src.kit.schemas import Page
from src.models import Connection
from src.models.enums import Provider
from src.providers.dagster.client import DagsterClient
from src.providers.enablebanking.redirect import RedirectNotReadableError, read_redirect
from src.providers.gocardless.ids import REFERENCE_PATTERN
from src.settings import settings
from src.sync_runs import PersonPresent

router = APIRouter(prefix="/api/connections", tags=["connections"])
sync_router = APIRouter(tags=["jobs"])
# The bank's `error` and `details` are shown and logged: text without control characters (no forged log lines).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


BACK_TO_THE_FRONTEND: dict[int | str, dict[str, Any]] = {
    303: {
        "description": "Back to the frontend with `status`, `connection_id`, `error`, `job_id` in the query.",
        "headers": {"Location": LOCATION},
    }
}
"""What a bank callback answers, whichever provider's."""


def person_of(request: Request) -> PersonPresent | None:
    """The person behind this request (their address and browser), for a provider's attended reads. The address is
    the one that reached finsync (behind a proxy, the proxy's: uvicorn's --proxy-headers makes it the client's)."""
    if request.client is None or not request.client.host:
        return None
    return PersonPresent(ip_address=request.client.host, user_agent=request.headers.get("user-agent"))


def _frontend(params: dict[str, str]) -> str:
    parts = urlsplit(str(settings.frontend_url))
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@router.post(
    "",
    response_model=ConnectionLink,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 404, 409, 429, 502, 503),
    dependencies=[Depends(allow_new_connection)],
)
def create_connection(
    body: ConnectionCreate,
    session: SessionDep,
    gocardless: GoCardlessDep,
    enablebanking: EnableBankingDep,
    user: CurrentUser,
) -> ConnectionLink:
    """Start connecting a bank: creates the consent request at the bank's provider (GoCardless or Enable Banking,
    by the institution) and returns the bank's `link`. The connection is `pending` until the user comes back
    through the callback."""
    view, link = connection_service.create(
        session,
        gocardless,
        user,
        institution_id=body.institution_id,
        friendly_name=body.friendly_name,
        allow_duplicate=body.allow_duplicate,
        enablebanking=enablebanking,
    )
    return _link(view, link)


def _link(view: ConnectionView, link: str) -> ConnectionLink:
    pastes = view.connection.provider is Provider.enablebanking and eb_consent.pastes_redirect()
    return ConnectionLink(connection=ConnectionRead.from_view(view), link=link, paste_redirect=pastes)


@router.get(
    "/callback",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=BACK_TO_THE_FRONTEND,
)
def connection_callback(
    session: SessionDep,
    gocardless: GoCardlessDep,
    dagster: DagsterDep,
    ref: Annotated[
        str, Query(min_length=1, max_length=256, pattern=REFERENCE_PATTERN, description="The requisition's reference.")
    ],
    error: Annotated[str | None, Query(max_length=256, pattern=_PRINTABLE)] = None,
    details: Annotated[str | None, Query(max_length=1024, pattern=_PRINTABLE)] = None,
) -> RedirectResponse:
    """Where the bank sends the user back. No user token arrives here: the single-use reference is the
    capability. Always redirects to the frontend, with the outcome in the query."""
    result = connection_service.complete_callback(session, gocardless, reference=ref, bank_error=error)
    params = _outcome(session, dagster, result)
    return RedirectResponse(_frontend(params), status_code=status.HTTP_303_SEE_OTHER)


def _outcome(
    session: Session, dagster: DagsterClient, result: CallbackResult, person: PersonPresent | None = None
) -> dict[str, str]:
    """The callback's outcome as the frontend reads it; the first sync starts when the bank linked."""
    params = {"status": result.outcome.value}
    if result.connection is not None:
        params["connection_id"] = str(result.connection.id)
    if result.error:
        params["error"] = result.error
    if result.linked and result.connection is not None:  # the first sync starts now; its job's id goes along
        job_id = _start_first_sync(session, dagster, result.connection, person)
        if job_id is not None:
            params["job_id"] = job_id
    return params


@router.get(
    "/callback/enablebanking",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=BACK_TO_THE_FRONTEND,
)
def enablebanking_callback(
    request: Request,
    session: SessionDep,
    enablebanking: EnableBankingDep,
    dagster: DagsterDep,
    state: Annotated[
        str, Query(min_length=1, max_length=256, pattern=REFERENCE_PATTERN, description="The authorisation's state.")
    ],
    code: Annotated[str | None, Query(min_length=1, max_length=1024, pattern=_PRINTABLE)] = None,
    error: Annotated[str | None, Query(max_length=256, pattern=_PRINTABLE)] = None,
    error_description: Annotated[str | None, Query(max_length=1024, pattern=_PRINTABLE)] = None,
) -> RedirectResponse:
    """Where Enable Banking sends the person back (`code` and `state`, or `error`). No user token arrives here:
    the single-use state is the capability. Always redirects to the frontend, with the outcome in the query."""
    result = eb_consent.complete_consent(
        session,
        enablebanking,
        state=state,
        authorization_code=None if error else code,
        bank_error=error or (None if code else "no_code"),
    )
    params = _outcome(session, dagster, result, person_of(request))
    return RedirectResponse(_frontend(params), status_code=status.HTTP_303_SEE_OTHER)


@router.post(
    "/callback/enablebanking",
    response_model=CallbackRead,
    responses=error_responses(401, 422),
)
def enablebanking_pasted_callback(
    body: PastedRedirect,
    request: Request,
    session: SessionDep,
    enablebanking: EnableBankingDep,
    dagster: DagsterDep,
    user: CurrentUser,
) -> CallbackRead:
    """The address the bank sent the person back to, pasted from their browser (where finsync's public address is
    not https and the bank could not come back to it). Read like the callback; only the owner's connection. Text
    that is not such an address (no `state`, or neither `code` nor `error`) answers 422 `redirect_not_readable`."""
    try:
        redirect = read_redirect(body.redirect_url)
    except RedirectNotReadableError as exc:
        raise RedirectNotReadableAppError(str(exc).capitalize() + ".") from exc
    owner = eb_consent.connection_for_state(session, redirect.state)
    if owner is None or connection_service.owned_or_none(session, user, owner) is None:
        return CallbackRead(status=CallbackOutcome.error.value, error="unknown_reference")
    result = eb_consent.complete_consent(
        session, enablebanking, state=redirect.state, authorization_code=redirect.code, bank_error=redirect.error
    )
    params = _outcome(session, dagster, result, person_of(request))
    return CallbackRead.model_validate(params)


def _start_first_sync(
    session: Session, dagster: DagsterClient, connection: Connection, person: PersonPresent | None = None
) -> str | None:
    """The first sync of a connection just linked: its job's id, or None when none could start."""
    try:
        job, _ = job_service.start_sync(session, dagster, connection, person)
    except AppError:
        # The consent is given and stored whatever the sync says: a connection whose accounts have no call left
        # (429) stays linked and syncs later. start_sync refuses before writing anything, so the callback's own
        # writes commit as they are.
        return None
    return str(job.id)


@router.get("", response_model=Page[ConnectionRead], responses=error_responses(401))
def list_connections(session: SessionDep, user: CurrentUser) -> Page[ConnectionRead]:
    """The caller's connections, newest first."""
    views = connection_service.list_for(session, user)
    return Page[ConnectionRead](items=[ConnectionRead.from_view(v) for v in views], next_cursor=None)


@router.get("/{connection_id:uuid}", response_model=ConnectionRead, responses=error_responses(401, 404))
def get_connection(connection_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> ConnectionRead:
    """One connection: status, expiry (days left, expiring soon), last sync time, number of accounts."""
    return ConnectionRead.from_view(connection_service.get(session, user, connection_id))


@router.patch("/{connection_id:uuid}", response_model=ConnectionRead, responses=error_responses(401, 404))
def update_connection(
    connection_id: uuid.UUID, body: ConnectionUpdate, session: SessionDep, user: CurrentUser
) -> ConnectionRead:
    """Rename a connection (an empty name clears it)."""
    return ConnectionRead.from_view(
        connection_service.update(session, user, connection_id, friendly_name=body.friendly_name)
    )


@router.delete(
    "/{connection_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={204: {"description": "Deleted."}, **error_responses(401, 404, 429, 502, 503)},
    dependencies=[Depends(allow_deletion)],
)
def delete_connection(
    connection_id: uuid.UUID,
    session: SessionDep,
    gocardless: GoCardlessDep,
    enablebanking: EnableBankingDep,
    user: CurrentUser,
) -> Response:
    """End the consent at the provider (GoCardless requisition, Enable Banking session), then delete the
    connection here with its accounts, balances and transactions."""
    connection_service.delete(session, gocardless, user, connection_id, enablebanking)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{connection_id:uuid}/reauthorise",
    response_model=ConnectionLink,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 404, 409, 429, 502, 503),
    dependencies=[Depends(allow_consent_request)],
)
def reauthorise_connection(
    connection_id: uuid.UUID,
    session: SessionDep,
    gocardless: GoCardlessDep,
    enablebanking: EnableBankingDep,
    user: CurrentUser,
) -> ConnectionLink:
    """Renew an expired or expiring connection: a new consent `link`. Once the user consents, the bank's new
    account ids map to the existing accounts by IBAN, so history stays and nothing is duplicated."""
    view, link = connection_service.reauthorise(session, gocardless, user, connection_id, enablebanking)
    return _link(view, link)


# -- starting syncs (the jobs domain's operations: tag `jobs`, operation ids `jobs_sync_connection`, `jobs_sync_all`)


@sync_router.post(
    "/api/connections/{connection_id:uuid}/sync",
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {
            "model": JobRead,
            "description": "A sync of this connection is already under way: that job.",
            "headers": {"Location": LOCATION},
        },
        202: {"description": "A sync has started: the new job.", "headers": {"Location": LOCATION}},
        **error_responses(401, 404, 409, 429),
    },
)
def sync_connection(
    connection_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    dagster: DagsterDep,
    user: CurrentUser,
    response: Response,
) -> JobRead:
    """Sync now. 202 with a new job (poll `Location`), or 200 with the unfinished one. 429 with `retry_at` when
    every account of the connection has used up its daily allowance (no run is started). If the sync engine is
    down the job stays `pending` with a message and starts as soon as it answers."""
    connection = connection_service.owned(session, user, connection_id)
    job, created = job_service.start_sync(session, dagster, connection, person_of(request))
    response.status_code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobRead.from_view(job_service.view(session, job))


@sync_router.post("/api/sync", response_model=Page[JobRead], responses=error_responses(401))
def sync_all(session: SessionDep, dagster: DagsterDep, user: CurrentUser) -> Page[JobRead]:
    """Sync now for every active connection of the caller; connections with no allowance left are skipped."""
    jobs = []
    for connection in connection_service.syncable(session, user):
        try:
            jobs.append(job_service.start_sync(session, dagster, connection)[0])
        except RateLimitedError:
            continue
    return Page[JobRead](items=[JobRead.from_view(v) for v in job_service.views(session, jobs)], next_cursor=None)
