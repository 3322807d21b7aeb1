"""Connections derived from their current requisition, its agreement and its accounts' access states.

Status rule (first match wins), from GoCardless's requisition status:
deleted at GoCardless (404 on refresh) → expired · RJ → rejected · EX, or LN with the agreement's access period
over → expired · LN with every account suspended →
suspended · LN with every account's access ended → expired · LN → active · CR, GC, UA, SA, GA → pending ·
SU → suspended · anything else (ER, ID, unknown codes) → error.
`expires_at` = the agreement's `accepted` + `access_valid_for_days` (null until the user consents).
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

_DERIVE = text(
    """
    WITH derived AS (
        SELECT c.id,
               CASE
                   WHEN r.gone_at IS NOT NULL THEN 'expired'
                   WHEN r.status = 'RJ' THEN 'rejected'
                   WHEN r.status = 'EX' THEN 'expired'
                   WHEN r.status = 'LN' AND ag.expires_at IS NOT NULL AND ag.expires_at <= now() THEN 'expired'
                   WHEN r.status = 'LN' AND acc.total > 0 AND acc.suspended = acc.total THEN 'suspended'
                   WHEN r.status = 'LN' AND acc.total > 0 AND acc.ended = acc.total THEN 'expired'
                   WHEN r.status = 'LN' THEN 'active'
                   WHEN r.status IN ('CR', 'GC', 'UA', 'SA', 'GA') THEN 'pending'
                   WHEN r.status = 'SU' THEN 'suspended'
                   ELSE 'error'
               END AS status,
               ag.expires_at
        FROM connections c
        JOIN gc_requisitions r ON r.id = c.requisition_id
        LEFT JOIN LATERAL (
            SELECT (a.payload->>'accepted')::timestamptz
                   + make_interval(days => coalesce((a.payload->>'access_valid_for_days')::int, 90)) AS expires_at
            FROM gc_agreements a WHERE a.id = r.payload->>'agreement'
        ) ag ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE ga.access_state = 'suspended') AS suspended,
                   count(*) FILTER (WHERE ga.access_state <> 'ok') AS ended
            FROM gc_accounts ga WHERE ga.requisition_id = r.id
        ) acc ON true
        WHERE c.id = ANY(:ids)
    )
    UPDATE connections c
    SET status = d.status, expires_at = d.expires_at, updated_at = now()
    FROM derived d
    WHERE c.id = d.id AND (c.status, c.expires_at) IS DISTINCT FROM (d.status, d.expires_at)
    """
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


def derive_connections(session: Session, connection_ids: Sequence[uuid.UUID]) -> int:
    """Re-derive status and expiry of the given connections; returns how many changed."""
    if not connection_ids:
        return 0
    return int(session.execute(_DERIVE, {"ids": list(connection_ids)}).rowcount or 0)  # type: ignore[attr-defined]
