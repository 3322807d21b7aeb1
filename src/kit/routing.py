"""What the router knows about a request it could not route, for the answers the error handler gives.

- `allowed_methods`: every method some route serves at the request's path. Starlette's 405 names only the methods
  of the first route whose path matched, so `/api/connections` (GET and POST are two routes) answered `Allow: POST`.
- `malformed_ids`: id routes declare their ids with the `uuid` path convertor (`/api/accounts/{account_id:uuid}`),
  so that a literal path beside them (`/api/connections/callback`) is never taken for a malformed id: `PATCH` there
  is a 405, not a 422 about `connection_id`. A path that no route matched only because an id is malformed still
  answers what a bad parameter answers: 422 `validation_error`, naming the id.

Both ask the routes themselves (`matches`, the call the router dispatches with), so routers included in routers
and every convertor are seen exactly as a request sees them.
"""

import re
import uuid

from starlette.convertors import UUIDConvertor
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_UUID = re.compile(rf"{UUIDConvertor.regex}")
_PARAMETER = re.compile(r"\{\w+\}")
# Stands in for a malformed segment: a route that then matches takes a UUID there.
_PROBE_ID = str(uuid.UUID(int=0))


def allowed_methods(request: Request) -> list[str]:
    """The methods some route accepts at this request's path."""
    return [method for method in METHODS if _route_for({**request.scope, "method": method}, request) is not None]


def malformed_ids(request: Request) -> list[dict[str, object]]:
    """The validation problem (as the 422 envelope lists it) when the path would reach a route of its method with
    one of its segments, not a UUID, replaced by a UUID: that segment is a malformed id. Empty otherwise."""
    segments = request.scope["path"].split("/")
    for index, segment in enumerate(segments):
        if not segment or _UUID.fullmatch(segment):
            continue
        probe = "/".join([*segments[:index], _PROBE_ID, *segments[index + 1 :]])
        if _route_for({**request.scope, "path": probe}, request) is None:
            continue
        return [
            {
                "loc": ["path", _parameter_name(request, segments, index)],
                "msg": "Input should be a valid UUID (32 hexadecimal digits, in groups of 8-4-4-4-12)",
                "type": "uuid_parsing",
            }
        ]
    return []


def _parameter_name(request: Request, segments: list[str], index: int) -> str:
    """The name the OpenAPI document gives the path parameter at `index` of a path like `segments` (the routes
    of included routers do not hand out their parameters' names)."""
    templates: dict[str, object] = request.app.openapi()["paths"]
    for template in templates:
        parts = template.split("/")
        if len(parts) != len(segments) or not _PARAMETER.fullmatch(parts[index]):
            continue
        if all(part == segment or _PARAMETER.fullmatch(part) for part, segment in zip(parts, segments, strict=True)):
            return parts[index][1:-1]
    return "id"


def _route_for(scope: Scope, request: Request) -> Scope | None:
    """The child scope of the first route that fully matches `scope` (path and method), if any."""
    routes: list[BaseRoute] = request.app.router.routes
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            return child_scope
    return None
