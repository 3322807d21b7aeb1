"""Connections derived from their current requisition, its agreement and its accounts' access states.

Status rule (first match wins), from GoCardless's requisition status:
RJ → rejected · deleted at GoCardless (404 on refresh) before the person consented (an abandoned connect the
consent clean-up deleted) → rejected · deleted otherwise → expired · EX, or LN with the agreement's access period
over → expired · LN with every account suspended →
suspended · LN with every account's access ended → expired · LN → active · CR, GC, UA, SA, GA → pending ·
SU → suspended · anything else (ER, ID, unknown codes) → error.
`expires_at` = the agreement's `accepted` + `access_valid_for_days` (GoCardless's default, `DEFAULT_ACCESS_DAYS`,
when the stored agreement does not say; null until the user consents).
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import Integer, bindparam
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from src.ingest.sql import text_with_enums
from src.providers.gocardless.models import DEFAULT_ACCESS_DAYS

_DERIVE = text_with_enums(
    """
    WITH derived AS (
        SELECT c.id,
               CASE
                   WHEN r.status = :requisition_rejected THEN :connection_rejected
                   WHEN r.gone_at IS NOT NULL
                        AND r.status IN (:requisition_created, :requisition_giving_consent,
                                         :requisition_undergoing_authentication, :requisition_selecting_accounts,
                                         :requisition_granting_access)
                       THEN :connection_rejected
                   WHEN r.gone_at IS NOT NULL THEN :connection_expired
                   WHEN r.status = :requisition_expired THEN :connection_expired
                   WHEN r.status = :requisition_linked AND ag.expires_at IS NOT NULL AND ag.expires_at <= now()
                       THEN :connection_expired
                   WHEN r.status = :requisition_linked AND acc.total > 0 AND acc.suspended = acc.total
                       THEN :connection_suspended
                   WHEN r.status = :requisition_linked AND acc.total > 0 AND acc.ended = acc.total
                       THEN :connection_expired
                   WHEN r.status = :requisition_linked THEN :connection_active
                   WHEN r.status IN (:requisition_created, :requisition_giving_consent,
                                     :requisition_undergoing_authentication, :requisition_selecting_accounts,
                                     :requisition_granting_access)
                       THEN :connection_pending
                   WHEN r.status = :requisition_suspended THEN :connection_suspended
                   ELSE :connection_error
               END AS status,
               ag.expires_at
        FROM connections c
        JOIN gc_requisitions r ON r.id = c.requisition_id
        LEFT JOIN LATERAL (
            SELECT (a.payload->>'accepted')::timestamptz
                   + make_interval(days => coalesce((a.payload->>'access_valid_for_days')::int,
                                                    :default_access_days)) AS expires_at
            FROM gc_agreements a WHERE a.id = r.payload->>'agreement'
        ) ag ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE ga.access_state = :access_suspended) AS suspended,
                   count(*) FILTER (WHERE ga.access_state <> :access_ok) AS ended
            FROM gc_accounts ga WHERE ga.requisition_id = r.id
        ) acc ON true
        WHERE c.id = ANY(:ids)
    )
    UPDATE connections c
    SET status = d.status, expires_at = d.expires_at, updated_at = now()
    FROM derived d
    WHERE c.id = d.id AND (c.status, c.expires_at) IS DISTINCT FROM (d.status, d.expires_at)
    """
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("default_access_days", DEFAULT_ACCESS_DAYS, type_=Integer()),
)


def derive_connections(session: Session, connection_ids: Sequence[uuid.UUID]) -> int:
    """Re-derive status and expiry of the given connections; returns how many changed."""
    if not connection_ids:
        return 0
    return int(session.execute(_DERIVE, {"ids": list(connection_ids)}).rowcount or 0)  # type: ignore[attr-defined]
