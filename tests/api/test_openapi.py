"""The OpenAPI document: valid OpenAPI 3.1, an operationId and documented errors on every operation, and no
request schemathesis can generate makes the API answer 500 or break its own schema.

schemathesis drives the app in-process (`api`: the app on the test's rolled-back session, GoCardless = the
sandbox), authenticated as a real user, with a capped number of examples per operation to keep the suite fast.
"""

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

METHODS = {"get", "post", "put", "patch", "delete"}
# Takes no input and reads only the settings: there is nothing to refuse (and no 422 to document).
CANNOT_FAIL = {"/api/meta"}


@pytest.fixture
def openapi(api: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = api.get("/openapi.json").json()
    return document


class TestDocument:
    def test_is_valid_openapi_3_1(self, openapi: dict[str, Any]) -> None:
        assert openapi["openapi"].startswith("3.1")
        validate(openapi, cls=OpenAPIV31SpecValidator)

    def test_every_operation_is_named_described_and_documents_its_errors(self, openapi: dict[str, Any]) -> None:
        operation_ids = []
        for path, item in openapi["paths"].items():
            for method, operation in item.items():
                if method not in METHODS:
                    continue
                operation_ids.append(operation["operationId"])
                assert operation.get("description") or operation.get("summary"), (method, path)
                errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
                if path not in CANNOT_FAIL:
                    assert errors, f"{method.upper()} {path} documents no error response"
                for code in errors:
                    schema = operation["responses"][code]["content"]["application/json"]["schema"]
                    assert schema.get("$ref", "").endswith("/ErrorResponse"), (method, path, code)
        assert len(operation_ids) == len(set(operation_ids))


class TestGenerated:
    def test_no_request_breaks_the_api(self, api: TestClient, headers: dict[str, str]) -> None:
        """Every operation, a few generated requests each (schemathesis's pytest plugin is not used: it does not
        run under this pytest; the strategies are driven with hypothesis directly)."""
        schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10

        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=6,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    # Only a documented 502/503 about GoCardless, in the envelope, is an acceptable 5xx.
                    assert response.status_code in (502, 503), (case.method, case.path, response.text)
                    assert {"code", "detail"} <= set(response.json())
                case.validate_response(
                    response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
                )

            exercise()
