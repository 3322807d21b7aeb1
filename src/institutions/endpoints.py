"""`GET /api/institutions`: the banks a user can connect in a country; `GET /api/institutions/{id}/logo`: a bank's
logo from finsync's own origin."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from src.auth.dependencies import CurrentUser
from src.institutions.exceptions import InvalidCountryError, LogoNotFoundError
from src.institutions.logos import LOGO_TYPES
from src.institutions.logos import logo as logo_service
from src.institutions.quotas import allow_institution_listing, allow_logo_read
from src.institutions.schemas import SERVED_COUNTRIES, SERVED_COUNTRY_PATTERN, InstitutionRead
from src.institutions.service import institution as institution_service
from src.kit.dependencies import EnableBankingDep, GoCardlessDep, SessionDep
from src.kit.responses import error_responses
from src.kit.schemas import Page
from src.providers.gocardless.ids import INSTITUTION_ID_PATTERN

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


# A logo is public and changes rarely: a week in any cache, then revalidated with its ETag. Served as an image with
# nothing else allowed, so an SVG opened on its own runs no script and loads nothing (src/institutions/logos.py).
LOGO_CACHE_CONTROL = "public, max-age=604800"
LOGO_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": LOGO_CACHE_CONTROL,
}
_IMAGE = {"schema": {"type": "string", "format": "binary"}}
_LOGO_RESPONSE_HEADERS = {
    "ETag": {"description": "The image's tag, for `If-None-Match`.", "schema": {"type": "string"}},
    "Cache-Control": {"description": LOGO_CACHE_CONTROL, "schema": {"type": "string"}},
}


def get_logo_session(session: SessionDep) -> Iterator[Session]:
    """The request's session, also committed when the logo is not found: the 404 of a failed fetch must keep the
    failure it recorded (else the provider's CDN would be asked again at every view). Any other error rolls back."""
    try:
        yield session
    except LogoNotFoundError:
        session.commit()
        raise


# scope="function", as the session it wraps: committed before the 404 is sent.
LogoSessionDep = Annotated[Session, Depends(get_logo_session, scope="function")]


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison over a list of tags (`W/` ignored), or `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get(
    "/{institution_id}/logo",
    response_class=Response,
    responses={
        200: {
            "description": "The bank's logo: PNG, JPEG, GIF, WebP or SVG.",
            "content": {kind: _IMAGE for kind in sorted(LOGO_TYPES)},
            "headers": _LOGO_RESPONSE_HEADERS,
        },
        304: {"description": "The logo named by `If-None-Match` is still the bank's logo."},
        **error_responses(404, 429),
    },
    dependencies=[Depends(allow_logo_read)],
)
def get_institution_logo(
    request: Request,
    session: LogoSessionDep,
    institution_id: Annotated[
        str, Path(min_length=1, max_length=128, pattern=INSTITUTION_ID_PATTERN, examples=["SANDBOXFINANCE_SFIN0000"])
    ],
) -> Response:
    """The logo of a bank listed by `GET /api/institutions`, served by finsync (fetched once from the URL its
    provider gave, then kept). Public, like the banks themselves: a page's `<img>` sends no token. A bank finsync
    has not listed answers 404 `institution_not_found`; a bank without a logo, or whose logo cannot be fetched just
    now (tried again after an hour), 404 `not_found`."""
    found = logo_service.get(session, institution_id)
    headers = {**LOGO_HEADERS, "ETag": found.etag}
    if _etag_matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.content, media_type=found.content_type, headers=headers)
