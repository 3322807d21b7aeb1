"""The consent flow of an Enable Banking connection, through the provider seam: start (`POST /auth`), complete (the
bank's redirect, or the address the person pasted: `POST /sessions` with its code), end (`DELETE /sessions/{id}`).

`state` is the capability the redirect brings back, as a GoCardless requisition's reference is: random, single use,
one per authorisation. A refusal at the bank, or a code Enable Banking will not take, leaves the connection on the
session it had (a re-authorisation that fails changes nothing); the first consent of a new connection refused makes
it `rejected`. Every state change is derived through `src.ingest.enablebanking`, the code the sync assets use.
"""

import logging
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from src.connections.callbacks import CallbackOutcome, CallbackResult
from src.ingest.enablebanking import raw
from src.ingest.enablebanking.accounts import derive_accounts
from src.ingest.enablebanking.connections import derive_connections
from src.integrations.providers import api_error, bank_of
from src.models import Connection, EbAspsp, EbAuthorization, EbSession, Institution
from src.models.enums import EbSessionStatus
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.models import Account
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.seam import ConsentEnded, NotFound, ProviderError, Refused
from src.settings import settings

log = logging.getLogger(__name__)


def callback_url() -> str:
    return f"{settings.public_base_url}/api/connections/callback/enablebanking"


def pastes_redirect() -> bool:
    """Production Enable Banking accepts https redirect URLs only: where finsync's public address is not https, the
    page also lets the person paste the address the bank sent them to."""
    return not str(settings.public_base_url).startswith("https://")


def start_consent(
    session: Session, client: EnableBankingClient, connection: Connection, institution: Institution
) -> str:
    """`POST /auth` for the connection's bank, through the provider seam; the URL to send the person to. Its state
    is stored before the person can come back with it."""
    aspsp = session.get(EbAspsp, institution.id)
    if aspsp is None:  # pragma: no cover - an Enable Banking institution is derived from its eb_aspsps row
        raise LookupError(f"no Enable Banking bank behind {institution.id}")
    try:
        started = EnableBankingProvider(client).start_consent(
            bank_of(institution, aspsp.payload), redirect_url=callback_url(), state=secrets.token_urlsafe(32)
        )
    except ProviderError as exc:
        raise api_error(exc) from exc
    raw.store_authorization(
        session,
        authorization_id=started.reference,
        connection_id=connection.id,
        state=started.state,
        payload=dict(started.payloads["authorization"]),
    )
    session.flush()
    return started.url


def complete_consent(
    session: Session,
    client: EnableBankingClient,
    *,
    state: str,
    authorization_code: str | None,
    bank_error: str | None,
) -> CallbackResult:
    """The person came back from the bank (or pasted where they came back to). The state is used once; an Enable
    Banking failure leaves it unused, so reloading the page tries again."""
    stored = session.scalar(select(EbAuthorization).where(EbAuthorization.state == state).with_for_update())
    if stored is None:
        return CallbackResult(CallbackOutcome.error, None, "unknown_reference")
    connection = session.get(Connection, stored.connection_id)
    if connection is None:  # pragma: no cover - cascades with the connection
        return CallbackResult(CallbackOutcome.error, None, "unknown_reference")
    if stored.callback_completed_at is not None:
        return CallbackResult(CallbackOutcome.error, connection, "already_used")
    context = {"connection_id": str(connection.id), "authorization_id": stored.id}
    if authorization_code is None:
        stored.callback_completed_at = datetime.now(UTC)
        stored.error = bank_error or "consent_refused"
        return _finish(session, connection, CallbackOutcome.rejected, stored.error, context)
    try:
        consent = EnableBankingProvider(client).complete_consent(
            reference=stored.id, authorization_code=authorization_code
        )
    except Refused as exc:  # the code opened no session: expired, wrong, used, or no account shared
        stored.callback_completed_at = datetime.now(UTC)
        stored.error = exc.code or "authorization_failed"
        log.warning("the bank's code opened no session", extra={**context, "error": exc.code})
        return _finish(session, connection, CallbackOutcome.rejected, stored.error.lower(), context)
    except ProviderError as exc:
        log.warning("callback could not reach Enable Banking", extra={**context, "error": type(exc).__name__})
        return CallbackResult(CallbackOutcome.error, connection, "enablebanking_unavailable")
    session_payload = dict(consent.payloads["session"])
    raw.store_session(
        session,
        connection_id=connection.id,
        session_id=consent.id,
        status=str(session_payload.get("status") or EbSessionStatus.authorized.value),
        valid_until=consent.valid_until,
        payload=session_payload,
        accounts=[Account.from_payload(dict(account.payload)) for account in consent.accounts],
    )
    stored.callback_completed_at = datetime.now(UTC)
    stored.session_id = consent.id
    log.info("connection linked", extra={**context, "accounts": len(consent.accounts)})
    return _finish(session, connection, CallbackOutcome.active, None, context)


def _finish(
    session: Session, connection: Connection, outcome: CallbackOutcome, error: str | None, context: dict[str, str]
) -> CallbackResult:
    session.flush()
    derive_accounts(session, [connection.id])
    derive_connections(session, [connection.id])
    session.expire(connection)  # the derivations wrote it with SQL: reload before anyone reads it
    if outcome is CallbackOutcome.rejected:
        log.info("consent refused at the bank", extra={**context, "bank_error": error})
    return CallbackResult(outcome, connection, error)


def end_consents(session: Session, client: EnableBankingClient, connection: Connection) -> None:
    """End every session of the connection at Enable Banking, through the seam (a deleted connection leaves no live
    consent). The current one must end or the deletion stops (502/503); older ones are best effort."""
    rows = session.execute(
        select(EbSession.id, EbSession.ended_at)
        .where(EbSession.connection_id == connection.id)
        .order_by(EbSession.first_seen_at.desc(), EbSession.id.desc())
    ).all()
    provider = EnableBankingProvider(client)
    for position, (session_id, ended_at) in enumerate(rows):
        if ended_at is not None:
            continue
        try:
            provider.end_consent(session_id)
        except (NotFound, ConsentEnded):
            pass  # already over at Enable Banking
        except ProviderError as exc:
            if position == 0:
                raise api_error(exc) from exc
            log.warning(
                "old session not ended at Enable Banking",
                extra={"connection_id": str(connection.id), "session_id": session_id},
            )


def connection_for_state(session: Session, state: str) -> uuid.UUID | None:
    """The connection an authorisation's state belongs to (None: not ours)."""
    return session.scalar(select(EbAuthorization.connection_id).where(EbAuthorization.state == state))
