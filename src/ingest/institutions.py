"""Institutions derived from the raw lists GoCardless returned (`gc_institutions`).

GoCardless sends `transaction_total_days` and `max_access_valid_for_days` as strings; they become integers here
(hints only: banks may give less history than they announce).
"""

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

_DERIVE = text(
    r"""
    INSERT INTO institutions AS i (id, name, bic, logo, countries, transaction_total_days, max_access_valid_for_days)
    SELECT g.id, g.payload->>'name', nullif(g.payload->>'bic', ''), nullif(g.payload->>'logo', ''),
           coalesce(ARRAY(SELECT upper(c) FROM jsonb_array_elements_text(g.payload->'countries') c), '{}'),
           CASE WHEN g.payload->>'transaction_total_days' ~ '^\d+$'
                THEN (g.payload->>'transaction_total_days')::int END,
           CASE WHEN g.payload->>'max_access_valid_for_days' ~ '^\d+$'
                THEN (g.payload->>'max_access_valid_for_days')::int END
    FROM gc_institutions g
    WHERE g.id = ANY(:ids) AND g.payload->>'name' IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET
        name = EXCLUDED.name, bic = EXCLUDED.bic, logo = EXCLUDED.logo, countries = EXCLUDED.countries,
        transaction_total_days = EXCLUDED.transaction_total_days,
        max_access_valid_for_days = EXCLUDED.max_access_valid_for_days, updated_at = now()
    WHERE (i.name, i.bic, i.logo, i.countries, i.transaction_total_days, i.max_access_valid_for_days)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.bic, EXCLUDED.logo, EXCLUDED.countries,
                            EXCLUDED.transaction_total_days, EXCLUDED.max_access_valid_for_days)
    """
).bindparams(bindparam("ids", type_=ARRAY(String())))


def derive_institutions(session: Session, institution_ids: Sequence[str]) -> None:
    if institution_ids:
        session.execute(_DERIVE, {"ids": list(institution_ids)})
