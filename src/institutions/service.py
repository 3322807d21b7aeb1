"""Institutions: read from the `institutions` table; a country seen for the first time (or not refreshed for a
while) is fetched from each provider (GoCardless, Enable Banking), stored raw and derived through `src.ingest`,
like the pipelines do. Both providers' banks are listed together, each saying its provider; a provider that fails
while the other answers is logged and left out of that answer (its stored list is served when it has one)."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from src.exceptions import AppError
from src.ingest import raw
from src.ingest.enablebanking import raw as eb_raw
from src.ingest.enablebanking.ids import PREFIX as ENABLEBANKING_PREFIX
from src.ingest.enablebanking.ids import is_enablebanking_institution
from src.ingest.enablebanking.institutions import derive_institutions as derive_eb_institutions
from src.ingest.institutions import derive_institutions
from src.institutions.exceptions import InstitutionNotFoundError, InvalidCountryError
from src.integrations.gocardless import upstream_error
from src.integrations.providers import api_error
from src.models import EbAspspList, GcInstitutionList, Institution
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.models import Aspsp
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.gocardless import errors as gc
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.models import Institution as GcInstitutionModel
from src.providers.gocardless.seam import GoCardlessProvider
from src.providers.seam import Bank, BankDataProvider, ProviderError, Refused

log = logging.getLogger(__name__)
REFRESH_AFTER = timedelta(days=7)


class InstitutionService:
    def ensure_country(self, session: Session, client: GoCardlessClient, country: str) -> None:
        """GoCardless's banks of the country, when never fetched or stale."""
        self._ensure(session, GoCardlessProvider(client), country, GcInstitutionList, _store_gocardless)

    def ensure_enablebanking_country(self, session: Session, client: EnableBankingClient, country: str) -> None:
        """Enable Banking's banks of the country, when never fetched or stale."""
        self._ensure(session, EnableBankingProvider(client), country, EbAspspList, _store_enablebanking)

    @staticmethod
    def _ensure(
        session: Session,
        provider: BankDataProvider,
        country: str,
        lists: type[GcInstitutionList] | type[EbAspspList],
        store: Callable[[Session, str, list[Bank]], list[str]],
    ) -> None:
        """Fetch a provider's list of the country through the seam when it was never fetched or is stale; store it
        raw, then derive. A failure with a stored list serves the stored list; without one it raises the API's
        error (a country the provider refuses: 400 `invalid_country`)."""
        fetched_at = session.scalar(select(lists.fetched_at).where(lists.country == country))
        if fetched_at is not None and fetched_at > datetime.now(UTC) - REFRESH_AFTER:
            return
        context = {"country": country, "provider": provider.name}
        try:
            banks = provider.list_institutions(country)
        except Refused as exc:
            raise InvalidCountryError(f"{country} is not a country {_NAMES[provider.name]} serves.") from exc
        except ProviderError as exc:
            if fetched_at is not None:
                log.warning("bank list refresh failed; serving the stored list", extra=context)
                return
            raise api_error(exc) from exc
        store(session, country, banks)
        session.flush()
        log.info("bank list fetched", extra={**context, "count": len(banks)})

    def search(
        self,
        session: Session,
        client: GoCardlessClient,
        *,
        country: str,
        query: str | None,
        enablebanking: EnableBankingClient | None = None,
    ) -> list[Institution]:
        """The banks of the country at every provider, by name. One provider failing while another answers leaves
        its banks out (logged); all failing raises the first failure."""
        country = country.upper()
        failures: list[AppError] = []
        fillers: list[Callable[[], None]] = [lambda: self.ensure_country(session, client, country)]
        if enablebanking is not None:
            fillers.append(lambda: self.ensure_enablebanking_country(session, enablebanking, country))
        for fill in fillers:
            try:
                with session.begin_nested():
                    fill()
            except AppError as exc:  # a country one provider does not serve, or its 502/503: the other may answer
                log.warning("a provider's bank list is unavailable", extra={"country": country, "error": str(exc)})
                failures.append(exc)
        if failures and len(failures) == len(fillers):
            raise next((f for f in failures if isinstance(f, InvalidCountryError)), failures[0])
        statement = select(Institution).where(Institution.countries.contains([country]))
        if query:
            escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(Institution.name.ilike(f"%{escaped}%") | Institution.id.ilike(f"%{escaped}%"))
        return list(session.scalars(statement.order_by(func.lower(Institution.name), Institution.id)))

    def get_or_fetch(
        self,
        session: Session,
        client: GoCardlessClient,
        institution_id: str,
        enablebanking: EnableBankingClient | None = None,
    ) -> Institution:
        """The institution, fetched from its provider when we have never listed it."""
        institution = session.get(Institution, institution_id)
        if institution is not None:
            return institution
        if is_enablebanking_institution(institution_id):
            return self._fetch_enablebanking(session, enablebanking, institution_id)
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

    def _fetch_enablebanking(
        self, session: Session, client: EnableBankingClient | None, institution_id: str
    ) -> Institution:
        """An Enable Banking bank we have not listed: its country's list is fetched (the id names the country)."""
        country = institution_id.removeprefix(ENABLEBANKING_PREFIX)[:2]
        if client is not None and len(country) == 2 and country.isalpha():
            with session.begin_nested():
                session.execute(delete(EbAspspList).where(EbAspspList.country == country))
            self.ensure_enablebanking_country(session, client, country)
        institution = session.get(Institution, institution_id)
        if institution is None:
            raise InstitutionNotFoundError(f"There is no institution {institution_id}.")
        return institution


_NAMES = {"gocardless": "GoCardless", "enablebanking": "Enable Banking"}


def _store_gocardless(session: Session, country: str, banks: list[Bank]) -> list[str]:
    listed = [GcInstitutionModel.from_payload(dict(bank.payload)) for bank in banks]
    raw.store_institution_list(session, country, listed)
    ids = [institution.id for institution in listed]
    derive_institutions(session, ids)
    return ids


def _store_enablebanking(session: Session, country: str, banks: list[Bank]) -> list[str]:
    ids = eb_raw.store_aspsp_list(session, country, [Aspsp.from_payload(dict(bank.payload)) for bank in banks])
    derive_eb_institutions(session, ids)
    return ids


institution = InstitutionService()
