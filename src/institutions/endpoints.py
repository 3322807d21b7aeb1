"""`GET /api/institutions`: the banks a user can connect in a country."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from src.auth.dependencies import CurrentUser
from src.institutions.exceptions import InvalidCountryError
from src.institutions.quotas import allow_institution_listing
from src.institutions.schemas import SERVED_COUNTRIES, SERVED_COUNTRY_PATTERN, InstitutionRead
from src.institutions.service import institution as institution_service
from src.kit.dependencies import EnableBankingDep, GoCardlessDep, SessionDep
from src.kit.responses import error_responses
from src.kit.schemas import Page

router = APIRouter(prefix="/api/institutions", tags=["institutions"])


@router.get(
    "",
    response_model=Page[InstitutionRead],
    responses=error_responses(400, 401, 429, 502, 503),
    dependencies=[Depends(allow_institution_listing)],
)
def list_institutions(
    session: SessionDep,
    gocardless: GoCardlessDep,
    enablebanking: EnableBankingDep,
    user: CurrentUser,
    country: Annotated[
        str,
        Query(
            min_length=2,
            max_length=2,
            # Two letters, else 422; a country GoCardless does not serve is its own error (400 `invalid_country`).
            # The document states the whole rule: one of the served countries.
            pattern="^[A-Za-z]{2}$",
            json_schema_extra={"pattern": SERVED_COUNTRY_PATTERN},
            description=f"ISO 3166 alpha-2, any case; one of {', '.join(SERVED_COUNTRIES)}.",
            examples=["GB"],
        ),
    ],
    q: Annotated[str | None, Query(max_length=100, description="Part of the bank's name.")] = None,
) -> Page[InstitutionRead]:
    """Banks available in `country` at every provider (GoCardless, Enable Banking; each says its `provider`),
    optionally filtered by name, sorted by name. A country finsync does not serve answers 400 `invalid_country`
    (and no provider is asked)."""
    if country.upper() not in SERVED_COUNTRIES:
        raise InvalidCountryError(f"{country} is not a country GoCardless serves.")
    found = institution_service.search(session, gocardless, country=country, query=q, enablebanking=enablebanking)
    return Page[InstitutionRead](items=[InstitutionRead.model_validate(i) for i in found], next_cursor=None)
