"""The refresh-token cookie, so a web page keeps its session across the redirect to a bank and back.

HttpOnly keeps it from scripts; SameSite=Lax keeps it off cross-site POSTs (so no other site can refresh or log
out on the user's behalf) while a top-level navigation back from the bank still carries it; the path limits it to
the `/auth` endpoints that read it.

Beside it, a marker cookie (`finsync_session=1`, readable by the page, for the whole site) says only that a refresh
cookie was set and not cleared since: the page asks `/auth/refresh` at start only when it is there, so a signed-out
visit makes no request that answers 401 (which browsers log as an error in the console). It carries nothing a
script could use: the refresh token stays HttpOnly. A marker outliving its session (revoked elsewhere) costs one 401,
after which the page drops it.
"""

from fastapi import Response

from src.auth.tokens import REFRESH_TOKEN_LIFETIME
from src.settings import Environment, settings

REFRESH_COOKIE_NAME = "finsync_refresh_token"
REFRESH_COOKIE_PATH = "/auth"
SESSION_MARKER_COOKIE_NAME = "finsync_session"


def _secure() -> bool:
    return settings.finsync_env is Environment.production


def set_refresh_cookie(response: Response, refresh_token: str) -> None:
    response.set_cookie(
        REFRESH_COOKIE_NAME,
        refresh_token,
        max_age=int(REFRESH_TOKEN_LIFETIME.total_seconds()),
        path=REFRESH_COOKIE_PATH,
        secure=_secure(),
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        SESSION_MARKER_COOKIE_NAME,
        "1",
        max_age=int(REFRESH_TOKEN_LIFETIME.total_seconds()),
        path="/",
        secure=_secure(),
        httponly=False,
        samesite="lax",
    )


def clear_refresh_cookie(response: Response) -> None:
    # Browsers match a deletion by name, path and domain: the same path as when it was set.
    response.delete_cookie(
        REFRESH_COOKIE_NAME, path=REFRESH_COOKIE_PATH, secure=_secure(), httponly=True, samesite="lax"
    )
    response.delete_cookie(SESSION_MARKER_COOKIE_NAME, path="/", secure=_secure(), httponly=False, samesite="lax")
