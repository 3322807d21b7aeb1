"""`/auth`: register, sign in (OAuth2 password flow), refresh, sign out, and who am I."""

from typing import Annotated

from fastapi import APIRouter, Body, Cookie, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic.json_schema import SkipJsonSchema

from src.auth.cookies import REFRESH_COOKIE_NAME, clear_refresh_cookie, set_refresh_cookie
from src.auth.dependencies import AuthSessionDep, CurrentUser, SignInThrottleDep, count_registration
from src.auth.schemas import RefreshRequest, TokenResponse, UserCreate, UserRead
from src.auth.service import IssuedTokens
from src.auth.service import auth as auth_service
from src.kit.responses import error_responses

router = APIRouter(prefix="/auth", tags=["auth"])

RefreshCookie = Annotated[
    str | None,
    Cookie(alias=REFRESH_COOKIE_NAME, description="Set by `/auth/token` and `/auth/refresh`."),
]
# The body is optional (the cookie is enough): documented as an optional request body of `RefreshRequest`, not as
# a required body that may be null, which generated clients cannot call with the cookie alone.
OptionalRefreshBody = Annotated[
    RefreshRequest | SkipJsonSchema[None],
    Body(description="The refresh token, when the cookie is not sent (a client that is not a browser)."),
]


async def _refuse_null_body(request: Request) -> None:
    """A body, when sent, is a `RefreshRequest` object: FastAPI takes a JSON `null` for no body at all, which the
    document (an optional body of that object) does not allow. The body is already read and cached by now."""
    if (await request.body()).strip() == b"null":
        raise RequestValidationError(
            [{"type": "model_attributes_type", "loc": ("body",), "msg": "Input should be an object", "input": None}]
        )


SET_REFRESH_COOKIE = {
    "description": f"`{REFRESH_COOKIE_NAME}`: the refresh token, HttpOnly and SameSite=Lax, sent back to `/auth` only.",
    "required": True,
    "schema": {"type": "string"},
}
CLEAR_REFRESH_COOKIE = {
    "description": f"`{REFRESH_COOKIE_NAME}`, expired: the browser drops the refresh token.",
    "required": True,
    "schema": {"type": "string"},
}


def _token_response(response: Response, issued: IssuedTokens) -> TokenResponse:
    set_refresh_cookie(response, issued.refresh_token)
    return TokenResponse.from_issued(issued)


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 429),
    dependencies=[Depends(count_registration)],
)
def register(body: UserCreate, session: AuthSessionDep) -> UserRead:
    """Create an account. E-mail addresses are unique whatever their case or Unicode form (409 `email_taken`) and
    are stored in Unicode NFKC; passwords need at least 10 characters. A few registrations per client address per
    hour (429 `rate_limited` with `Retry-After`). Sign in afterwards with `POST /auth/token`."""
    return UserRead.model_validate(auth_service.register(session, email=body.email, password=body.password))


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={200: {"headers": {"Set-Cookie": SET_REFRESH_COOKIE}}, **error_responses(401, 429)},
)
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


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses={200: {"headers": {"Set-Cookie": SET_REFRESH_COOKIE}}, **error_responses(401)},
    dependencies=[Depends(_refuse_null_body)],
)
def refresh(
    response: Response,
    session: AuthSessionDep,
    refresh_cookie: RefreshCookie = None,
    body: OptionalRefreshBody = None,
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
    responses={204: {"description": "Signed out.", "headers": {"Set-Cookie": CLEAR_REFRESH_COOKIE}}},
    dependencies=[Depends(_refuse_null_body)],
)
def logout(session: AuthSessionDep, refresh_cookie: RefreshCookie = None, body: OptionalRefreshBody = None) -> Response:
    """Sign out: revoke the presented refresh token's family (cookie or body) and clear the cookie. Always 204,
    also when there was nothing to revoke. Access tokens already issued run out within 15 minutes."""
    presented = body.refresh_token if body is not None else refresh_cookie
    auth_service.logout(session, refresh_token=presented)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response)
    return response


@router.get("/me", response_model=UserRead, responses=error_responses(401))
def me(user: CurrentUser) -> UserRead:
    """The signed-in user."""
    return UserRead.model_validate(user)
