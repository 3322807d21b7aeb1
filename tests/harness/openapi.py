"""Checking a sandbox's traffic against its provider's official OpenAPI document with openapi-core.

Both conformance tests (tests/sandbox/test_conformance.py for GoCardless, test_enablebanking_conformance.py for
Enable Banking) share the plumbing kept here: httpx requests and responses as openapi-core reads them, the loop that
collects what the validator reports and no tolerance excuses, the body expectations of a case table, and made-up
exchanges for proving the tolerances. What each provider tolerates stays in its own test, next to the reasons.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
    V31RequestBodyValidator,
    V31RequestParametersValidator,
)
from openapi_schema_validator import OAS30Validator, OAS31Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete"})


@cache
def load_document(path: Path) -> dict[str, Any]:
    """The document as plain data (JSON or YAML by the file's suffix), read once per run."""
    text = path.read_text()
    document: dict[str, Any] = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return document


def operations(document: Mapping[str, Any]) -> set[str]:
    """Every operation of the document as "METHOD /path"."""
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _is_31(document: Mapping[str, Any]) -> bool:
    return str(document["openapi"]).startswith("3.1")


# -- httpx ↔ openapi-core ------------------------------------------------------------------------------------------
class SpecRequest:
    """An httpx request as openapi-core reads it. It is addressed to the document's own server (`host_url`): the
    sandbox stands in for the provider, and only the path, method, query, headers and body are compared."""

    def __init__(self, request: httpx.Request, host_url: str) -> None:
        self.host_url = host_url
        self.path: str = request.url.path
        self.method: str = request.method.lower()
        self.body: bytes | None = request.read() or None
        self.content_type: str = request.headers.get("content-type", "")
        self.headers = request.headers
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict(),
        )


class SpecResponse:
    """An httpx response as openapi-core reads it; `data` may stand in for the body that was sent."""

    def __init__(self, response: httpx.Response, data: bytes | None = None) -> None:
        self.status_code: int = response.status_code
        self.data: bytes = response.content if data is None else data
        self.content_type: str = response.headers.get("content-type", "")
        self.headers = Headers(response.headers.multi_items())


def error_body_errors(document: Mapping[str, Any], body: Any, schema_name: str = "ErrorResponse") -> list[Any]:
    """What the document's error schema finds wrong with `body` (its `$ref`s resolved within the document)."""
    schema = {**document["components"]["schemas"][schema_name], "components": document["components"]}
    validator = OAS31Validator if _is_31(document) else OAS30Validator
    return list(validator(schema).iter_errors(body))


def violations(
    openapi: OpenAPI,
    document: Mapping[str, Any],
    request: SpecRequest,
    response: SpecResponse,
    body: Callable[[], Any],
    *,
    excused_request: Callable[[SpecRequest, Exception], bool] = lambda request, error: False,
    excused_response: Callable[[SpecRequest, SpecResponse, Exception], bool] = lambda request, response, error: False,
) -> tuple[list[Any], list[Any]]:
    """(request errors, response errors) that openapi-core reports and no tolerance excuses.

    An excused request error is a security one (openapi-core stops there), so the parameters and body are checked on
    their own: an excuse must not excuse them too. An excused response status still needs the document's
    ErrorResponse as its body (`body()` is the parsed body that was sent)."""
    parameters, request_body = (
        (V31RequestParametersValidator, V31RequestBodyValidator)
        if _is_31(document)
        else (V30RequestParametersValidator, V30RequestBodyValidator)
    )
    request_errors: list[Any] = []
    for error in openapi.iter_request_errors(request):
        if not excused_request(request, error):
            request_errors.append(error)
            continue
        for validator in (parameters, request_body):
            request_errors.extend(validator(openapi.spec).iter_errors(request))
    response_errors: list[Any] = []
    for error in openapi.iter_response_errors(request, response):
        if not excused_response(request, response, error):
            response_errors.append(error)
            continue
        response_errors.extend(error_body_errors(document, body()))
    return request_errors, response_errors


# -- the case tables' body expectations ------------------------------------------------------------------------------
ABSENT = object()  # the key must not be in the body
PRESENT = object()  # the key must be in the body, whatever its value


def unmet(body: Any, expect: Mapping[str, object], fill: Callable[[Any], Any]) -> list[str]:
    """The expectations `body` misses, as readable lines. A value is compared after `fill` (the scene's `{name}`s);
    an re.Pattern must fullmatch; a dict follows the same rules one level down; PRESENT / ABSENT ask for the key."""
    missed = []
    for key, wanted in expect.items():
        wanted = fill(wanted) if isinstance(wanted, str) else wanted
        if wanted is ABSENT:
            ok = key not in body
        elif key not in body:
            ok = False
        elif wanted is PRESENT:
            ok = True
        elif isinstance(wanted, re.Pattern):
            ok = isinstance(body[key], str) and wanted.fullmatch(body[key]) is not None
        elif isinstance(wanted, dict):
            ok = isinstance(body[key], dict) and not unmet(body[key], wanted, fill)
        else:
            ok = body[key] == wanted
        if not ok:
            missed.append(
                f"{key}: wanted {'absent' if wanted is ABSENT else wanted!r}, got {body.get(key, '<absent>')!r}"
            )
    return missed


def assert_conforms(
    response: httpx.Response,
    *,
    status: int,
    request_violation: type[Exception] | None,
    expect: Mapping[str, object],
    fill: Callable[[Any], Any],
    spec_violations: Callable[[httpx.Request, httpx.Response], tuple[list[Any], list[Any]]],
    detail: Callable[[Any], Any],
) -> None:
    """A case table's row, answered: the status it expects, no violation of the document but the one the request
    makes on purpose, and the body's expectations met. `detail` picks what a response error shows on failure."""
    assert response.status_code == status, response.text
    request_errors, response_errors = spec_violations(response.request, response)
    on_purpose = [request_violation] if request_violation else []
    assert [type(error) for error in request_errors] == on_purpose, request_errors
    assert not response_errors, [detail(error) for error in response_errors]
    missed = unmet(response.json(), expect, fill)
    assert not missed, missed


def made_up_exchange(
    method: str, path: str, status: int, body: Any, *, auth: bool = True, sent: Any = None
) -> tuple[httpx.Request, httpx.Response]:
    """A made-up request and response, as if the sandbox had answered `status` with `body`: for proving that a
    tolerance stops where it is stated."""
    headers = {"Authorization": "Bearer x"} if auth else {}
    request = httpx.Request(method, f"http://sandbox.test{path}", headers=headers, json=sent)
    return request, httpx.Response(status, json=body, request=request)


def with_ids(calls: Iterable[str]) -> set[str]:
    """`calls` with every `{placeholder}` written as `{id}`, so that a table's calls and operations compare."""
    return {re.sub(r"\{\w+\}", "{id}", call) for call in calls}
