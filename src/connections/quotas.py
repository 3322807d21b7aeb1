"""How many bank connections a user may start, so that no one user can spend GoCardless's shared budget.

GoCardless allows the whole of finsync 100 agreement and requisition creations a minute (one secret, every user);
each connect and each re-authorisation spends one of each, and each deletion spends a requisition deletion from
another budget of 100 a minute. One user gets a small share: `CONSENT_REQUESTS_PER_USER` (and per client address,
for one person with several accounts), and at most `MAX_PENDING_CONNECTIONS` connections waiting for the bank's
consent, so an abandoned flood of consent links cannot pile up either. The per-minute limits are counted in
each API process (see `src.ratelimit.limiter`): with N processes a user can reach N times them, which stays well
within the budget for a handful of processes. The pending cap is read from the database, so it holds however many
processes serve.
"""

from sqlalchemy import func, select

from src.auth.dependencies import CurrentUser
from src.connections.exceptions import TooManyPendingConnectionsError
from src.kit.dependencies import SessionDep
from src.models import Connection
from src.models.enums import ConnectionStatus
from src.ratelimit import ClientAddress, Limiter, rule

CONSENT_REQUESTS_PER_USER = rule(
    "bank consent requests per user",
    per="user_id",
    limit="5/minute;30/hour",
    refusal="You have asked banks for consent many times in a short while.",
)
CONSENT_REQUESTS_PER_ADDRESS = rule(
    "bank consent requests per address",
    per="client_address",
    limit="10/minute",
    refusal="Many bank connections were started from your network in a short while.",
)
DELETIONS_PER_USER = rule(
    "connection deletions per user",
    per="user_id",
    limit="20/minute",
    refusal="You have deleted many connections in a short while.",
)
MAX_PENDING_CONNECTIONS = 3

# pg_advisory_xact_lock's first key: "connections" (any constant of this module's own would do).
_PENDING_LOCK_NAMESPACE = 0x636F6E6E


def allow_consent_request(user: CurrentUser, limiter: Limiter, address: ClientAddress) -> None:
    """Re-authorising: 429 `rate_limited` past the user's or the address's share; else counts this request."""
    limiter.check(CONSENT_REQUESTS_PER_ADDRESS, address)
    limiter.hit(CONSENT_REQUESTS_PER_USER, str(user.id))
    limiter.hit(CONSENT_REQUESTS_PER_ADDRESS, address)


def allow_new_connection(session: SessionDep, user: CurrentUser, limiter: Limiter, address: ClientAddress) -> None:
    """Connecting a bank: the consent-request share, and 409 `too_many_pending_connections` while the user has
    `MAX_PENDING_CONNECTIONS` connections waiting for consent.

    The user's connects take turns from here to the end of the request (a transaction-scoped advisory lock), so
    parallel requests cannot all see room for one more pending connection."""
    limiter.check(CONSENT_REQUESTS_PER_USER, str(user.id))
    limiter.check(CONSENT_REQUESTS_PER_ADDRESS, address)
    session.execute(select(func.pg_advisory_xact_lock(_PENDING_LOCK_NAMESPACE, func.hashtext(str(user.id)))))
    pending = session.scalar(
        select(func.count())
        .select_from(Connection)
        .where(Connection.user_id == user.id, Connection.status == ConnectionStatus.pending)
    )
    if pending is not None and pending >= MAX_PENDING_CONNECTIONS:
        raise TooManyPendingConnectionsError(
            f"You have {pending} bank connections waiting for your consent at the bank. Finish one (follow its "
            "consent link) or delete it before connecting another bank."
        )
    allow_consent_request(user, limiter, address)


def allow_deletion(user: CurrentUser, limiter: Limiter) -> None:
    limiter.hit(DELETIONS_PER_USER, str(user.id))
