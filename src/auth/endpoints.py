"""`/auth`: register, sign in (OAuth2 password flow), refresh, sign out, and who am I."""

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from src.api.errors import error_responses
from src.auth.cookies import REFRESH_COOKIE_NAME, clear_refresh_cookie, set_refresh_cookie
from src.auth.dependencies import AuthSessionDep, CurrentUser, SignInThrottleDep, count_registration
from src.auth.schemas import RefreshRequest, TokenResponse, UserCreate, UserRead
from src.auth.service import IssuedTokens
from src.auth.service import auth as auth_service
from src.models import User

router = APIRouter(prefix="/auth", tags=["auth"])

RefreshCookie = Annotated[
    str | None,
    Cookie(alias=REFRESH_COOKIE_NAME, description="Set by `/auth/token` and `/auth/refresh`."),
]


def _token_response(response: Response, issued: IssuedTokens) -> TokenResponse:
    set_refresh_cookie(response, issued.refresh_token)
    return TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, refresh_token=issued.refresh_token
    )


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 429),
    dependencies=[Depends(count_registration)],
)
def register(body: UserCreate, session: AuthSessionDep) -> User:
    """Create an account. E-mail addresses are unique whatever their case or Unicode form (409 `email_taken`) and
    are stored in Unicode NFKC; passwords need at least 10 characters. A few registrations per client address per
    hour (429 `rate_limited` with `Retry-After`). Sign in afterwards with `POST /auth/token`."""
    return auth_service.register(session, email=body.email, password=body.password)


@router.post("/token", response_model=TokenResponse, responses=error_responses(401, 429))
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    response: Response,
    session: AuthSessionDep,
    throttle: SignInThrottleDep,
) -> TokenResponse:
    """Sign in with the OAuth2 password flow (`username` is the e-mail address).

    Answers a 15-minute access token and a refresh token, which is also set as an HttpOnly cookie for `/auth`.
    Any failure answers the same 401 `invalid_credentials`. A client address that fails repeatedly is refused for
    a while with 429 `rate_limited` and `Retry-After`; an account that fails many times from several addresses is
    locked for 15 minutes, and its answer stays the 401.
    """
    issued = auth_service.login(session, email=form.username, password=form.password, throttle=throttle)
    return _token_response(response, issued)


@router.post("/refresh", response_model=TokenResponse, responses=error_responses(401))
def refresh(
    response: Response,
    session: AuthSessionDep,
    refresh_cookie: RefreshCookie = None,
    body: RefreshRequest | None = None,
) -> TokenResponse:
    """Trade a refresh token (the cookie, or `{"refresh_token": …}`; the body wins when both are sent) for a new
    access token and a new refresh token. Each refresh token works once: presenting a used one again revokes its
    whole family, and every token of it answers 401 `invalid_refresh_token` from then on."""
    presented = body.refresh_token if body is not None else refresh_cookie
    issued = auth_service.refresh(session, refresh_token=presented)
    return _token_response(response, issued)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(),
)
def logout(
    session: AuthSessionDep, refresh_cookie: RefreshCookie = None, body: RefreshRequest | None = None
) -> Response:
    """Sign out: revoke the presented refresh token's family (cookie or body) and clear the cookie. Always 204,
    also when there was nothing to revoke. Access tokens already issued run out within 15 minutes."""
    presented = body.refresh_token if body is not None else refresh_cookie
    auth_service.logout(session, refresh_token=presented)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response)
    return response


@router.get("/me", response_model=UserRead, responses=error_responses(401))
def me(user: CurrentUser) -> User:
    """The signed-in user."""
    return user
