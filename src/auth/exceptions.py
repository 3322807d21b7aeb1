"""The auth domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import ConflictError, UnauthorizedError

# RFC 7235: a 401 names the scheme the client should use.
_BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class EmailTakenError(ConflictError):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("An account with this e-mail address already exists.")


class NotAuthenticatedError(UnauthorizedError):
    """No bearer token, or one that is not a valid access token of an existing user."""

    code = "not_authenticated"

    def __init__(self, detail: str = "Sign in first: this needs a valid bearer access token.") -> None:
        super().__init__(detail, headers=dict(_BEARER_CHALLENGE))


class AuthFailureWithEffects(UnauthorizedError):
    """A refusal whose database writes must outlive the request: a failed login counted towards the lock, a
    refresh-token family revoked after reuse. The request's session is otherwise rolled back when an error
    leaves the endpoint, which would undo exactly the writes that defend the account (see `get_auth_session`)."""


class InvalidCredentialsError(AuthFailureWithEffects):
    """Unknown e-mail, wrong password and locked account all answer this, word for word, so that the answer never
    tells whether an account exists or is locked."""

    code = "invalid_credentials"
    DETAIL = "The e-mail address or password is not correct. After repeated failures, sign-in pauses for a while."

    def __init__(self) -> None:
        super().__init__(self.DETAIL, headers=dict(_BEARER_CHALLENGE))


class InvalidRefreshTokenError(AuthFailureWithEffects):
    code = "invalid_refresh_token"

    def __init__(self, detail: str = "This refresh token is not valid any more; sign in again.") -> None:
        super().__init__(detail, headers=dict(_BEARER_CHALLENGE))
