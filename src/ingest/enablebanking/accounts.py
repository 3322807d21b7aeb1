"""Unified accounts derived from raw Enable Banking accounts.

Every session brings new account `uid`s, so each raw account is assigned to a unified account once, by the stable
key first: the same person's Enable Banking account that an earlier uid with the same `identification_hash` fed
(in this connection first, then in their others) · else their Enable Banking account with the same IBAN · else a
new account. A re-authorised connection therefore keeps its accounts and their history. Matching never crosses
providers: an account fed by GoCardless is never fed by Enable Banking too (their transaction keys differ).

The unified row then follows its current raw account (the one in the connection's newest session, else the one
seen last): uid, IBAN, name, currency and status — access suspended → suspended · access ended, or the raw account
not in the current session, or that session over → expired · else active.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from src.ingest.accounts import APPLY_DERIVED
from src.ingest.sql import text_with_enums

_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))


def _raw_iban(table: str) -> str:
    """A raw account's IBAN: the details' (the bank's latest word), else the session's; blank counts as none."""
    return (
        f"coalesce(nullif({table}.details->'account_id'->>'iban', ''), "
        f"nullif({table}.payload->'account_id'->>'iban', ''))"
    )


# Raw accounts of these connections without a unified account, with their connection and owner.
_UNASSIGNED = """
    SELECT raw.uid, raw.identification_hash, {iban} AS iban, s.connection_id, c.user_id, raw.first_seen_at
    FROM eb_accounts raw
    JOIN eb_sessions s ON s.id = raw.session_id
    JOIN connections c ON c.id = s.connection_id
    WHERE raw.account_id IS NULL AND s.connection_id = ANY(:ids)
""".format(iban=_raw_iban("raw"))

_LINK = text_with_enums(
    f"""
    UPDATE eb_accounts ea SET account_id = m.account_id
    FROM (
        SELECT DISTINCT ON (u.uid) u.uid, a.id AS account_id
        FROM ({_UNASSIGNED}) u
        JOIN connections ac ON ac.user_id = u.user_id
        JOIN accounts a ON a.connection_id = ac.id AND a.provider = :provider_enablebanking
        LEFT JOIN LATERAL (
            SELECT 1 AS hit FROM eb_accounts prev
            WHERE prev.account_id = a.id AND prev.identification_hash = u.identification_hash LIMIT 1
        ) by_hash ON true
        WHERE by_hash.hit IS NOT NULL OR (u.iban IS NOT NULL AND a.iban = u.iban)
        ORDER BY u.uid, (by_hash.hit IS NOT NULL) DESC, (a.connection_id = u.connection_id) DESC, a.created_at, a.id
    ) m
    WHERE ea.uid = m.uid
    """
).bindparams(_IDS)

_CREATE_MISSING = text_with_enums(
    f"""
    WITH unassigned AS (
        SELECT DISTINCT ON (u.connection_id, coalesce(u.iban, u.identification_hash)) u.*
        FROM ({_UNASSIGNED}) u
        ORDER BY u.connection_id, coalesce(u.iban, u.identification_hash), u.first_seen_at, u.uid
    ), created AS (
        INSERT INTO accounts (id, connection_id, provider, provider_id, iban, status)
        SELECT gen_random_uuid(), u.connection_id, :provider_enablebanking, u.uid, u.iban, :account_processing
        FROM unassigned u
        RETURNING id, provider_id
    )
    UPDATE eb_accounts ea SET account_id = created.id FROM created WHERE ea.uid = created.provider_id
    """
).bindparams(_IDS)

_FOLLOW_CURRENT = text_with_enums(
    f"""
    WITH current_session AS (
        SELECT DISTINCT ON (connection_id) connection_id, id, status, ended_at, valid_until
        FROM eb_sessions WHERE connection_id = ANY(:ids)
        ORDER BY connection_id, first_seen_at DESC, id DESC
    ), current_raw AS (
        SELECT DISTINCT ON (ea.account_id) ea.*, cs.id IS NOT NULL AS is_current, cs.status AS session_status,
               cs.ended_at AS session_ended_at, cs.valid_until AS session_valid_until
        FROM eb_accounts ea
        JOIN eb_sessions s ON s.id = ea.session_id
        LEFT JOIN current_session cs ON cs.id = s.id
        WHERE ea.account_id IS NOT NULL AND s.connection_id = ANY(:ids)
        ORDER BY ea.account_id, (cs.id IS NOT NULL) DESC, ea.last_seen_at DESC, ea.uid
    ), derived AS (
        SELECT account_id AS id,
               uid AS provider_id,
               {_raw_iban("current_raw")} AS iban,
               coalesce(nullif(details->>'name', ''), nullif(payload->>'name', ''),
                        nullif(details->>'product', ''), nullif(payload->>'product', '')) AS name,
               upper(coalesce(nullif(details->>'currency', ''), nullif(payload->>'currency', ''))) AS currency,
               CASE
                   WHEN access_state = :access_suspended THEN :account_suspended
                   WHEN access_state = :access_expired THEN :account_expired
                   WHEN NOT is_current OR session_ended_at IS NOT NULL
                        OR session_valid_until <= now()
                        OR session_status IN (:eb_session_expired, :eb_session_closed, :eb_session_revoked)
                       THEN :account_expired
                   WHEN session_status = :eb_session_authorized THEN :account_active
                   ELSE :account_processing
               END AS status
        FROM current_raw
    )
    {APPLY_DERIVED}
    """
).bindparams(_IDS)


def derive_accounts(session: Session, connection_ids: Sequence[uuid.UUID]) -> None:
    """Assign raw accounts to unified ones (creating what is missing) and refresh the unified fields."""
    if not connection_ids:
        return
    params = {"ids": list(connection_ids)}
    session.execute(_LINK, params)
    session.execute(_CREATE_MISSING, params)
    session.execute(_LINK, params)  # raw twins of an account just created (same hash or IBAN)
    session.execute(_FOLLOW_CURRENT, params)
