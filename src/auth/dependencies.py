"""Dependencies other routers use: `CurrentUser`, the authenticated user of a request.

`get_auth_session` is the auth endpoints' own view of the request's session (see its docstring); the sign-in
throttle and the registration allowance are theirs too (`src.auth.throttle` says how much is allowed).
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from src.auth.exceptions import AuthFailureWithEffects, NotAuthenticatedError
from src.auth.service import auth as auth_service
from src.auth.throttle import REGISTRATIONS_PER_ADDRESS, SignInThrottle
from src.auth.tokens import decode_access_token
from src.kit.dependencies import SessionDep
from src.models import User
from src.ratelimit import ClientAddress, Limiter

# auto_error=False: a missing token is answered by our own error (the envelope, `not_authenticated`), not
# FastAPI's HTTPException; the scheme still appears in OpenAPI, so /docs' Authorize button works.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    """The user a valid bearer access token was issued to; 401 `not_authenticated` otherwise."""
    if not token:
        raise NotAuthenticatedError()
    user = auth_service.get_user(session, decode_access_token(token))
    if user is None:
        # A valid signature for an account deleted since.
        raise NotAuthenticatedError("The access token is not valid.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_auth_session(session: SessionDep) -> Iterator[Session]:
    """The request's session, also committed when an `AuthFailureWithEffects` leaves the endpoint.

    The request's unit of work rolls back whenever an error leaves the endpoint. For a failed login or a reused
    refresh token that would undo the very writes that defend the account (the failure counter, the lock, the
    revoked family), so these errors commit first and then propagate to be answered as usual. Any other error
    still rolls back.
    """
    try:
        yield session
    except AuthFailureWithEffects:
        session.commit()
        raise


# scope="function": the commit above happens before the 401 is sent, and this keeps working if the request's
# session dependency becomes function-scoped too (a request-scoped dependency may not depend on a function-scoped one).
AuthSessionDep = Annotated[Session, Depends(get_auth_session, scope="function")]


def get_sign_in_throttle(limiter: Limiter, address: ClientAddress) -> SignInThrottle:
    return SignInThrottle(limiter, address)


def count_registration(limiter: Limiter, address: ClientAddress) -> None:
    """429 when the client address has registered its share of accounts for now; else counts this one."""
    limiter.hit(REGISTRATIONS_PER_ADDRESS, address)


SignInThrottleDep = Annotated[SignInThrottle, Depends(get_sign_in_throttle)]
