"""Trailing-slash redirects (`/api/connections/` → `/api/connections`) with a relative `Location`.

The router's own redirect builds an absolute URL from the request's `Host` header, so anyone who can get a
forged `Host` to the server (a shared proxy, a cache keyed without it) had finsync send users to a host of their
choice. A relative `Location` (RFC 9110 §10.2.2) needs no host at all and stays right behind any proxy. This runs
as the router's fallback: only a request no route matched can be redirected, and only to a path a route matches.
"""

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class RelativeSlashRedirect:
    def __init__(self, router: Router, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self._target(scope) if scope["type"] == "http" else None
        if target is None:
            await self.fallback(scope, receive, send)
            return
        await RedirectResponse(target, status_code=307)(scope, receive, send)

    def _target(self, scope: Scope) -> str | None:
        """The same path with its trailing slash toggled, when a route matches it; else None."""
        path: str = scope["path"]
        if path == "/":
            return None
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        # The Location keeps the request's own encoding (`raw_path`); a slash sent encoded (`%2F`) is not toggled.
        raw = bytes(scope.get("raw_path") or path.encode()).decode("latin-1")
        if raw.endswith("/") != path.endswith("/"):
            return None
        location = raw.rstrip("/") if path.endswith("/") else raw + "/"
        # `//host` or `/\host` would name another host in a browser: never a redirect target.
        if not location.startswith("/") or location.startswith(("//", "/\\")):
            return None
        candidate = {**scope, "path": other}
        if not any(route.matches(candidate)[0] is not Match.NONE for route in self.router.routes):
            return None
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        return f"{location}?{query}" if query else location


def use_relative_slash_redirects(router: Router) -> None:
    """Replace the router's absolute slash redirect with the relative one."""
    router.redirect_slashes = False
    router.default = RelativeSlashRedirect(router, router.default)
