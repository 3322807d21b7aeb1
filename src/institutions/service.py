"""Institutions: read from the `institutions` table; a country seen for the first time (or not refreshed for a
while) is fetched from GoCardless, stored raw and derived through `src.ingest`, like the pipeline does."""

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from src.ingest import raw
from src.ingest.institutions import derive_institutions
from src.institutions.exceptions import InstitutionNotFoundError, InvalidCountryError
from src.integrations.gocardless import upstream_error
from src.models import GcInstitutionList, Institution
from src.providers.gocardless import errors as gc
from src.providers.gocardless.client import GoCardlessClient

log = logging.getLogger(__name__)
REFRESH_AFTER = timedelta(days=7)


class InstitutionService:
    def ensure_country(self, session: Session, client: GoCardlessClient, country: str) -> None:
        """Fetch the country's list when it was never fetched or is stale; store raw, then derive."""
        fetched_at = session.scalar(select(GcInstitutionList.fetched_at).where(GcInstitutionList.country == country))
        if fetched_at is not None and fetched_at > datetime.now(UTC) - REFRESH_AFTER:
            return
        try:
            listed = client.list_institutions(country)
        except gc.InvalidRequestError as exc:
            raise InvalidCountryError(f"{country} is not a country GoCardless serves.") from exc
        except gc.GoCardlessError as exc:
            if fetched_at is not None:
                log.warning("institution refresh failed; serving the stored list", extra={"country": country})
                return
            raise upstream_error(exc) from exc
        raw.store_institution_list(session, country, listed)
        derive_institutions(session, [institution.id for institution in listed])
        session.flush()
        log.info("institutions fetched", extra={"country": country, "count": len(listed)})

    def search(
        self, session: Session, client: GoCardlessClient, *, country: str, query: str | None
    ) -> list[Institution]:
        country = country.upper()
        self.ensure_country(session, client, country)
        statement = select(Institution).where(Institution.countries.contains([country]))
        if query:
            escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(Institution.name.ilike(f"%{escaped}%") | Institution.id.ilike(f"%{escaped}%"))
        return list(session.scalars(statement.order_by(func.lower(Institution.name), Institution.id)))

    def get_or_fetch(self, session: Session, client: GoCardlessClient, institution_id: str) -> Institution:
        """The institution, fetched from GoCardless when we have never listed it."""
        institution = session.get(Institution, institution_id)
        if institution is not None:
            return institution
        try:
            fetched = client.get_institution(institution_id)
        except gc.ResourceNotFoundError as exc:
            raise InstitutionNotFoundError(f"There is no institution {institution_id}.") from exc
        except gc.GoCardlessError as exc:
            raise upstream_error(exc) from exc
        raw.store_institutions(session, [fetched])
        derive_institutions(session, [fetched.id])
        session.flush()
        institution = session.get(Institution, institution_id)
        if institution is None:  # pragma: no cover - derive_institutions just wrote it
            raise InstitutionNotFoundError(f"There is no institution {institution_id}.")
        return institution


institution = InstitutionService()
