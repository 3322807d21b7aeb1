"""Unified accounts derived from raw GoCardless accounts.

Each raw account is assigned to a unified account once: same connection and same IBAN → that account (so a
re-authorised connection's new GoCardless ids continue the old history), else the same person's account with that
IBAN in another connection (one bank account connected twice is still one account: listed once, counted once),
otherwise a new one. The unified row
then follows its *current* raw account (the one in the connection's current requisition, else the one seen
last): GoCardless id, IBAN, name, currency and status.

Status: access suspended → suspended · access ended → expired · GoCardless READY → active · DISCOVERED or
PROCESSING → processing · EXPIRED → expired · SUSPENDED → suspended · ERROR → error · unknown → processing.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from src.ingest.sql import text_with_enums

_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))


def _raw_iban(table: str) -> str:
    """A raw account's IBAN: the details' (the bank's own record), else the metadata's; blank counts as none."""
    return f"coalesce(nullif({table}.details->'account'->>'iban', ''), nullif({table}.metadata->>'iban', ''))"


_RAW_IBAN = _raw_iban("ga")

# The same person's account with the same IBAN, in this connection first, else in their other connections (the
# oldest account first): connecting one bank twice continues the one account instead of showing it twice.
_LINK_BY_IBAN = text_with_enums(
    f"""
    UPDATE gc_accounts ga SET account_id = m.account_id
    FROM (
        SELECT DISTINCT ON (raw.id) raw.id, a.id AS account_id
        FROM gc_accounts raw
        JOIN gc_requisitions r ON r.id = raw.requisition_id
        JOIN connections c ON c.id = r.connection_id
        JOIN connections ac ON ac.user_id = c.user_id
        JOIN accounts a ON a.connection_id = ac.id AND a.provider = :provider_gocardless AND a.iban = {_raw_iban("raw")}
        WHERE raw.account_id IS NULL AND r.connection_id = ANY(:ids)
        ORDER BY raw.id, (a.connection_id = c.id) DESC, a.created_at, a.id
    ) m
    WHERE ga.id = m.id
    """
).bindparams(_IDS)

_CREATE_MISSING = text_with_enums(
    f"""
    WITH unassigned AS (
        SELECT DISTINCT ON (r.connection_id, coalesce({_RAW_IBAN}, ga.id)) ga.id, r.connection_id
        FROM gc_accounts ga JOIN gc_requisitions r ON r.id = ga.requisition_id
        WHERE ga.account_id IS NULL AND r.connection_id = ANY(:ids)
        ORDER BY r.connection_id, coalesce({_RAW_IBAN}, ga.id), ga.first_seen_at, ga.id
    ), created AS (
        INSERT INTO accounts (id, connection_id, provider_id, iban, status)
        SELECT gen_random_uuid(), u.connection_id, u.id, {_RAW_IBAN}, :account_processing
        FROM unassigned u JOIN gc_accounts ga ON ga.id = u.id
        RETURNING id, provider_id
    )
    UPDATE gc_accounts ga SET account_id = created.id FROM created WHERE ga.id = created.provider_id
    """
).bindparams(_IDS)

APPLY_DERIVED = """
    UPDATE accounts a
    SET provider_id = d.provider_id, iban = coalesce(d.iban, a.iban), name = coalesce(d.name, a.name),
        currency = coalesce(d.currency, a.currency), status = d.status, updated_at = now()
    FROM derived d
    WHERE a.id = d.id
      AND (a.provider_id, a.iban, a.name, a.currency, a.status)
          IS DISTINCT FROM (d.provider_id, coalesce(d.iban, a.iban), coalesce(d.name, a.name),
                            coalesce(d.currency, a.currency), d.status)
"""
"""The last step of following each unified account's current raw account, for every provider: write what the
statement's `derived` CTE (id, provider_id, iban, name, currency, status) says, touching only rows that change
(a missing IBAN, name or currency keeps the one known)."""

_FOLLOW_CURRENT = text_with_enums(
    f"""
    WITH current_raw AS (
        SELECT DISTINCT ON (ga.account_id) ga.*, (r.id = c.requisition_id) AS is_current
        FROM gc_accounts ga
        JOIN gc_requisitions r ON r.id = ga.requisition_id
        JOIN connections c ON c.id = r.connection_id
        WHERE ga.account_id IS NOT NULL AND c.id = ANY(:ids)
        ORDER BY ga.account_id, (r.id = c.requisition_id) DESC, ga.last_seen_at DESC, ga.id
    ), derived AS (
        SELECT account_id AS id,
               id AS provider_id,
               {_raw_iban("current_raw")} AS iban,
               coalesce(nullif(details->'account'->>'name', ''), nullif(details->'account'->>'displayName', ''),
                        nullif(metadata->>'name', ''), nullif(details->'account'->>'product', '')) AS name,
               upper(nullif(details->'account'->>'currency', '')) AS currency,
               CASE
                   WHEN access_state = :access_suspended THEN :account_suspended
                   WHEN access_state = :access_expired THEN :account_expired
                   WHEN metadata->>'status' = :gc_account_ready THEN :account_active
                   WHEN metadata->>'status' IN (:gc_account_discovered, :gc_account_processing)
                       THEN :account_processing
                   WHEN metadata->>'status' = :gc_account_expired THEN :account_expired
                   WHEN metadata->>'status' = :gc_account_suspended THEN :account_suspended
                   WHEN metadata->>'status' = :gc_account_error THEN :account_error
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
    session.execute(_LINK_BY_IBAN, params)
    session.execute(_CREATE_MISSING, params)
    session.execute(_LINK_BY_IBAN, params)  # raw twins of an account just created (same IBAN)
    session.execute(_FOLLOW_CURRENT, params)


def account_ids_of(session: Session, connection_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The unified accounts these connections own or feed (a second connection of the same bank account feeds the
    account the first one created), whichever provider serves them."""
    rows = session.execute(
        text(
            """
            SELECT id FROM accounts WHERE connection_id = ANY(:ids)
            UNION
            SELECT ga.account_id FROM gc_accounts ga JOIN gc_requisitions r ON r.id = ga.requisition_id
            WHERE r.connection_id = ANY(:ids) AND ga.account_id IS NOT NULL
            UNION
            SELECT ea.account_id FROM eb_accounts ea JOIN eb_sessions s ON s.id = ea.session_id
            WHERE s.connection_id = ANY(:ids) AND ea.account_id IS NOT NULL
            ORDER BY 1
            """
        ).bindparams(_IDS),
        {"ids": list(connection_ids)},
    )
    return [row[0] for row in rows]
