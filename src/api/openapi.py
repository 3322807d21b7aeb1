"""The OpenAPI document as clients rely on it: what FastAPI derives from the routes, finished where it cannot know.

- Validation errors are documented with the error envelope the handler really sends, not FastAPI's own shape.
- An operation that takes a body also answers 400 when the body cannot be read (not UTF-8, not JSON) and 413 when
  it is over the size limit (`src.api.body_limit`), both before the endpoint runs.
- Operations without a security requirement are public: they say so with `security: []`, so that generated
  clients and /docs send no token; every other one names the bearer scheme (FastAPI adds it from `CurrentUser`).

Response headers (`Location`, `Retry-After`, `Set-Cookie`, `WWW-Authenticate`) are declared beside each
operation's responses (`error_responses`, `LOCATION`), where the code that sends them is.
"""

import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from src.kit.error_envelope import ErrorResponse
from src.kit.responses import error_response_doc

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


_VALIDATION_ERROR_REF = '"#/components/schemas/HTTPValidationError"'
_ENVELOPE_REF = '"#/components/schemas/ErrorResponse"'


def document_api(app: FastAPI) -> None:
    """Make `app.openapi()` answer the finished document (built once, then cached like FastAPI's own)."""
    derived = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(derived())
        document: dict[str, Any] = app.openapi_schema
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def finish(document: dict[str, Any]) -> dict[str, Any]:
    document = json.loads(json.dumps(document).replace(_VALIDATION_ERROR_REF, _ENVELOPE_REF))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    if "ErrorResponse" not in schemas:  # every operation documents an error today; this keeps it true regardless
        envelope = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(envelope.pop("$defs", {}))
        schemas["ErrorResponse"] = envelope
    _restore_examples(schemas)
    for item in document.get("paths", {}).values():
        for method in METHODS:
            if method in item:
                _finish_operation(item[method])
    return document


def _restore_examples(schemas: dict[str, Any]) -> None:
    """FastAPI writes the document without any null (`exclude_none`), examples included: the `TransactionRead`
    example lost its null `counterparty_account` and `booked_as_id`, which are required. Each model's own examples
    are put back as written."""
    for model in _api_models(BaseModel):
        extra = model.model_config.get("json_schema_extra")
        component = schemas.get(model.__name__)
        if not isinstance(extra, dict) or "examples" not in extra or component is None:
            continue
        # Only the model the component was made from (same name and fields), not one of the same name elsewhere.
        if set(component.get("properties", {})) == {field.alias or name for name, field in model.model_fields.items()}:
            component["examples"] = json.loads(json.dumps(extra["examples"]))


def _api_models(base: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for model in base.__subclasses__():
        if model.__module__.startswith("src."):
            yield model
        yield from _api_models(model)


def _finish_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    if "422" in responses:
        responses["422"] = _envelope_response(422)
    if "requestBody" in operation:
        for status in (400, 413):
            responses.setdefault(str(status), _envelope_response(status))
    operation.setdefault("security", [])


def _envelope_response(status: int) -> dict[str, Any]:
    doc = error_response_doc(status)
    response: dict[str, Any] = {
        "description": doc["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    if "headers" in doc:
        response["headers"] = doc["headers"]
    return response
