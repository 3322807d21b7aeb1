"""Enable Banking connections derived from their current session (the newest: a session exists only once the
person consented) and their newest authorisation.

Status rule (first match wins): no session yet → rejected if the newest authorisation came back refused, else
pending · the session ended (Enable Banking said EXPIRED/CLOSED/REVOKED_SESSION, or finsync closed it) → expired ·
session status EXPIRED, CLOSED, REVOKED → expired · CANCELLED, INVALID → rejected · `valid_until` passed → expired ·
AUTHORIZED with every account suspended → suspended · AUTHORIZED with every account's access ended → expired ·
AUTHORIZED → active · PENDING_AUTHORIZATION, RETURNED_FROM_BANK → pending · anything else → error.
`expires_at` = the session's `access.valid_until`.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from src.ingest.sql import text_with_enums

_DERIVE = text_with_enums(
    """
    WITH derived AS (
        SELECT c.id,
               CASE
                   WHEN s.id IS NULL AND la.error IS NOT NULL THEN :connection_rejected
                   WHEN s.id IS NULL THEN :connection_pending
                   WHEN s.ended_at IS NOT NULL THEN :connection_expired
                   WHEN s.status IN (:eb_session_expired, :eb_session_closed, :eb_session_revoked)
                       THEN :connection_expired
                   WHEN s.status IN (:eb_session_cancelled, :eb_session_invalid) THEN :connection_rejected
                   WHEN s.valid_until IS NOT NULL AND s.valid_until <= now() THEN :connection_expired
                   WHEN s.status = :eb_session_authorized AND acc.total > 0 AND acc.suspended = acc.total
                       THEN :connection_suspended
                   WHEN s.status = :eb_session_authorized AND acc.total > 0 AND acc.ended = acc.total
                       THEN :connection_expired
                   WHEN s.status = :eb_session_authorized THEN :connection_active
                   WHEN s.status IN (:eb_session_pending_authorization, :eb_session_returned_from_bank)
                       THEN :connection_pending
                   ELSE :connection_error
               END AS status,
               s.valid_until AS expires_at
        FROM connections c
        LEFT JOIN LATERAL (
            SELECT * FROM eb_sessions WHERE connection_id = c.id ORDER BY first_seen_at DESC, id DESC LIMIT 1
        ) s ON true
        LEFT JOIN LATERAL (
            SELECT * FROM eb_authorizations WHERE connection_id = c.id ORDER BY first_seen_at DESC, id DESC LIMIT 1
        ) la ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE ea.access_state = :access_suspended) AS suspended,
                   count(*) FILTER (WHERE ea.access_state <> :access_ok) AS ended
            FROM eb_accounts ea WHERE ea.session_id = s.id
        ) acc ON true
        WHERE c.id = ANY(:ids) AND c.provider = :provider_enablebanking
    )
    UPDATE connections c
    SET status = d.status, expires_at = d.expires_at, updated_at = now()
    FROM derived d
    WHERE c.id = d.id AND (c.status, c.expires_at) IS DISTINCT FROM (d.status, d.expires_at)
    """
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


def derive_connections(session: Session, connection_ids: Sequence[uuid.UUID]) -> int:
    """Re-derive status and expiry of the given Enable Banking connections; returns how many changed."""
    if not connection_ids:
        return 0
    return int(session.execute(_DERIVE, {"ids": list(connection_ids)}).rowcount or 0)  # type: ignore[attr-defined]
