"""Institutions derived from Enable Banking's bank lists (`eb_aspsps`): one per bank and country, its id from
`ids.py`, its consent length from `maximum_consent_validity` (seconds, as whole days)."""

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from src.ingest.sql import text_with_enums

_DERIVE = text_with_enums(
    r"""
    INSERT INTO institutions AS i (id, provider, name, bic, logo, countries, transaction_total_days,
                                   max_access_valid_for_days)
    SELECT e.id, :provider_enablebanking, e.name, nullif(e.payload->>'bic', ''), nullif(e.payload->>'logo', ''),
           ARRAY[e.country], NULL,
           CASE WHEN e.payload->>'maximum_consent_validity' ~ '^\d+$'
                THEN ((e.payload->>'maximum_consent_validity')::bigint / 86400)::int END
    FROM eb_aspsps e
    WHERE e.id = ANY(:ids)
    ON CONFLICT (id) DO UPDATE SET
        name = EXCLUDED.name, bic = EXCLUDED.bic, logo = EXCLUDED.logo, countries = EXCLUDED.countries,
        max_access_valid_for_days = EXCLUDED.max_access_valid_for_days, updated_at = now()
    WHERE (i.name, i.bic, i.logo, i.countries, i.max_access_valid_for_days)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.bic, EXCLUDED.logo, EXCLUDED.countries,
                            EXCLUDED.max_access_valid_for_days)
    """
).bindparams(bindparam("ids", type_=ARRAY(String())))


def derive_institutions(session: Session, institution_ids: Sequence[str]) -> None:
    if institution_ids:
        session.execute(_DERIVE, {"ids": list(institution_ids)})
