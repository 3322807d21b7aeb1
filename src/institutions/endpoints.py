"""`GET /api/institutions`: the banks a user can connect in a country."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from src.api.deps import SessionDep
from src.api.errors import error_responses
from src.api.gocardless import GoCardlessDep
from src.api.schemas import Page
from src.auth.dependencies import CurrentUser
from src.institutions.quotas import allow_institution_listing
from src.institutions.schemas import InstitutionRead
from src.institutions.service import institution as institution_service

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
    user: CurrentUser,
    country: Annotated[str, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$", examples=["GB"])],
    q: Annotated[str | None, Query(max_length=100, description="Part of the bank's name.")] = None,
) -> Page[InstitutionRead]:
    """Banks available in `country` (ISO 3166 alpha-2), optionally filtered by name, sorted by name."""
    found = institution_service.search(session, gocardless, country=country, query=q)
    return Page[InstitutionRead](items=[InstitutionRead.model_validate(i) for i in found], next_cursor=None)
