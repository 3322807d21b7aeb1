"""Typed SimpleFIN errors. None of them ever holds the Access URL or its password: a message names the host at
most, so an error can be logged and shown."""


class SimpleFinError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SetupTokenError(SimpleFinError):
    """What was pasted is not a SimpleFIN setup token (Base64 of a claim URL)."""


class ClaimRefusedError(SimpleFinError):
    """403 on the claim: the token does not exist or was already claimed. The protocol asks apps to tell the person
    it may mean someone else has their data: they should disable the token at the Bridge."""


class ClaimFailedError(SimpleFinError):
    """The claim answered something other than 200 or 403 (a redirect is not followed), or no Access URL."""


class AccessRevokedError(SimpleFinError):
    """403 on a read: the Access URL was revoked at the Bridge, its credentials are wrong, or it was disabled for
    too many requests. The person must connect again with a new setup token."""


class PaymentRequiredError(SimpleFinError):
    """402: the person's SimpleFIN Bridge subscription has lapsed."""


class ConnectionFailedError(SimpleFinError):
    """No response: a timeout or a connection error (after the retries a GET is allowed)."""


class UpstreamServerError(SimpleFinError):
    """5xx, another unexpected status, or an answer that is not an Account Set (after the retries)."""
