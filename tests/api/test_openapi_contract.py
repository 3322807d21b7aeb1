"""The OpenAPI document says what the API does, as generated clients and schemathesis read it.

Each rule is checked on the document and, where the document promises a behaviour, on the app: the optional
refresh body, the error envelope's codes and `errors[]` items, public and private operations, the headers each
answer carries, 422 only where input is taken, 400/413 where a body is read, `Allow` on 405s, a 405 (not a 422)
for an undeclared method beside an id route, examples that match their schemas, and inputs the document can state
exactly (countries, amounts, days, text without NUL). The live schemathesis run is tests/api/test_schemathesis_live.py.
"""

import ast
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy.orm import Session

from src.accounts.endpoints import router as accounts_router
from src.auth.cookies import REFRESH_COOKIE_NAME
from src.auth.endpoints import router as auth_router
from src.connections.endpoints import router as connections_router
from src.institutions.endpoints import router as institutions_router
from src.institutions.schemas import SERVED_COUNTRIES
from src.kit import error_envelope as errors
from src.kit.error_envelope import ERROR_CODES
from src.ratelimit.dependencies import get_rate_limiter
from src.transactions.endpoints import router as transactions_router
from tests.factories import create_user_with_password
from tests.harness.sandbox import SandboxControl

SRC = Path(__file__).resolve().parents[2] / "src"
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {
    ("get", "/health"),
    ("get", "/api/meta"),
    ("post", "/auth/register"),
    ("post", "/auth/token"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("get", "/api/connections/callback"),
    ("get", "/api/connections/callback/enablebanking"),
    ("get", "/api/institutions/{institution_id}/logo"),  # an <img> sends no token; banks are no user's
}
BEARER = [{"OAuth2PasswordBearer": []}]
PASSWORD = "correct horse battery"
DOCUMENT_URI = "urn:finsync:openapi"


@pytest.fixture
def openapi(api_client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = api_client.get("/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", str(uuid.uuid4()), path)


class TestOptionalRefreshBody:
    """openapi-python-client crashed on logout and refresh with the cookie alone: the body was a required body
    that could be null. It is an optional body of `RefreshRequest` now, and the API holds to exactly that."""

    @pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
    def test_is_an_optional_body_of_the_request_object(self, openapi: dict[str, Any], path: str) -> None:
        body = openapi["paths"][path]["post"]["requestBody"]
        assert not body.get("required", False)
        schema = body["content"]["application/json"]["schema"]
        assert schema["$ref"] == "#/components/schemas/RefreshRequest"
        assert "anyOf" not in schema
        assert "null" not in str(schema)

    def test_the_cookie_alone_refreshes_and_signs_out(self, api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        api_client.post("/auth/token", data={"username": user.email, "password": PASSWORD}).raise_for_status()
        assert api_client.cookies.get(REFRESH_COOKIE_NAME)
        assert api_client.post("/auth/refresh").status_code == 200
        assert api_client.post("/auth/logout").status_code == 204

    @pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
    def test_a_null_body_is_not_a_request_object(self, api_client: TestClient, path: str) -> None:
        response = api_client.post(path, content=b"null", headers={"Content-Type": "application/json"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body"]


def _literal_codes() -> set[str]:
    """Every code written in finsync's API code: the `code` of each error class, each `code=` given when one is
    raised, and the code of each `error_response(status, "code", …)`. The sandboxes and the provider clients speak
    the outside world's words (a bank's error codes, an OAuth `code`), not ours: their translation into our codes
    happens above them (`src/integrations/`)."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if {"sandbox", "providers"} & set(path.relative_to(SRC).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    target = getattr(statement, "target", None) or next(iter(getattr(statement, "targets", [])), None)
                    value = getattr(statement, "value", None)
                    if isinstance(target, ast.Name) and target.id == "code" and not isinstance(value, ast.Call):
                        # (A call is a model's field, `code: ErrorCode = Field(…)`, not an error's code.)
                        assert isinstance(value, ast.Constant), f"{path}: a class's `code` is not a literal"
                        found.add(value.value)
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        assert isinstance(keyword.value, ast.Constant), f"{path}:{node.lineno}: `code=` not a literal"
                        found.add(keyword.value.value)
                # The handlers also pass codes through (an AppError's own, a mapped HTTP status's): those come
                # from the classes above and from `_HTTP_CODES`.
                if getattr(node.func, "id", None) == "error_response" and isinstance(node.args[1], ast.Constant):
                    found.add(node.args[1].value)
    return found


class TestErrorEnvelope:
    def test_the_code_enumeration_is_every_code_the_api_can_send(self) -> None:
        in_code = _literal_codes() | set(errors._HTTP_CODES.values()) | {errors._OTHER_HTTP_CODE}
        # The scan sees each kind of source: a class attribute, a `code=` argument, the handlers' own answers.
        assert {"email_taken", "database_unavailable", "validation_error", "payload_too_large"} <= in_code
        assert in_code == ERROR_CODES

    def test_the_document_enumerates_codes_and_describes_each_problem(self, openapi: dict[str, Any]) -> None:
        schemas = openapi["components"]["schemas"]
        envelope = schemas["ErrorResponse"]
        assert set(envelope["properties"]["code"]["enum"]) == ERROR_CODES
        assert set(envelope["required"]) == {"code", "detail"}
        items = envelope["properties"]["errors"]["items"]
        problem = schemas[items["$ref"].rsplit("/", 1)[1]]
        assert set(problem["required"]) == {"loc", "msg", "type"}

    def test_a_validation_error_matches_the_documented_envelope(
        self, api_client: TestClient, openapi: dict[str, Any], headers: dict[str, str]
    ) -> None:
        response = api_client.get("/api/transactions", params={"limit": 0}, headers=headers)
        assert response.status_code == 422
        _validator(openapi, "/components/schemas/ErrorResponse").validate(response.json())


class TestSecurity:
    def test_public_operations_say_so_and_the_others_name_the_bearer_scheme(self, openapi: dict[str, Any]) -> None:
        assert "OAuth2PasswordBearer" in openapi["components"]["securitySchemes"]
        for method, path, operation in _operations(openapi):
            expected = [] if (method, path) in PUBLIC else BEARER
            assert operation["security"] == expected, (method, path)

    def test_every_operation_that_names_the_scheme_refuses_a_request_without_a_token(
        self, api_client: TestClient, openapi: dict[str, Any]
    ) -> None:
        private = [(method, path) for method, path, operation in _operations(openapi) if operation["security"]]
        assert len(private) >= 15
        for method, path in private:
            response = api_client.request(method.upper(), _concrete(path), params={"country": "GB"})
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["WWW-Authenticate"] == "Bearer"


def _header(response: dict[str, Any], name: str) -> dict[str, Any]:
    headers: dict[str, Any] = response.get("headers", {})
    assert name in headers, f"{name} is not documented"
    return dict(headers[name])


def _rate_limited_operations() -> set[tuple[str, str]]:
    """Operations whose dependencies count requests (the app's rate limiter), from the routers themselves."""

    def counts(dependant: Any) -> bool:
        return dependant.call is get_rate_limiter or any(counts(sub) for sub in dependant.dependencies)

    found = set()
    for router in (auth_router, institutions_router, connections_router, accounts_router, transactions_router):
        for route in router.routes:
            if isinstance(route, APIRoute) and counts(route.dependant):
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                found |= {(method.lower(), path) for method in route.methods}
    return found


class TestResponseHeaders:
    def test_retry_after_on_every_429_and_503_and_the_challenge_on_every_401(self, openapi: dict[str, Any]) -> None:
        seen = {"401": 0, "429": 0, "503": 0}
        for _, _, operation in _operations(openapi):
            responses = operation["responses"]
            if "429" in responses:
                assert _header(responses["429"], "Retry-After")["required"] is True
            if "503" in responses:
                assert _header(responses["503"], "Retry-After")["schema"]["type"] == "integer"
            if "401" in responses:
                assert _header(responses["401"], "WWW-Authenticate")["required"] is True
            for status in seen:
                seen[status] += status in responses
        assert all(seen.values()), seen

    def test_every_rate_limited_operation_documents_its_429(self, openapi: dict[str, Any]) -> None:
        limited = _rate_limited_operations()
        # The per-address and per-user limits, and Sync now's limit from the bank's daily allowance.
        assert {("post", "/auth/register"), ("post", "/auth/token"), ("get", "/api/institutions")} <= limited
        limited.add(("post", "/api/connections/{connection_id}/sync"))
        for method, path in limited:
            response = openapi["paths"][path][method]["responses"]["429"]
            assert _header(response, "Retry-After")["required"] is True, (method, path)

    def test_location_set_cookie_where_they_are_sent(self, openapi: dict[str, Any]) -> None:
        paths = openapi["paths"]
        sync = paths["/api/connections/{connection_id}/sync"]["post"]["responses"]
        for status in ("200", "202"):
            assert _header(sync[status], "Location")["required"] is True
        callback = paths["/api/connections/callback"]["get"]["responses"]
        assert [status for status in callback if status.startswith(("2", "3"))] == ["303"]
        assert _header(callback["303"], "Location")["required"] is True
        for path, status in (("/auth/token", "200"), ("/auth/refresh", "200"), ("/auth/logout", "204")):
            assert _header(paths[path]["post"]["responses"][status], "Set-Cookie")["required"] is True

    def test_sign_in_refresh_and_sign_out_send_the_cookie_they_document(
        self, api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        answers = [
            api_client.post("/auth/token", data={"username": user.email, "password": PASSWORD}),
            api_client.post("/auth/refresh"),
            api_client.post("/auth/logout"),
        ]
        for answer in answers:
            assert answer.is_success
            assert answer.headers["set-cookie"].startswith(f"{REFRESH_COOKIE_NAME}=")


class TestStatuses:
    def test_422_is_documented_exactly_where_input_is_taken(self, openapi: dict[str, Any]) -> None:
        without_input = []
        for method, path, operation in _operations(openapi):
            takes_input = bool(operation.get("parameters")) or "requestBody" in operation
            assert ("422" in operation["responses"]) == takes_input, (method, path)
            if not takes_input:
                without_input.append(f"{method} {path}")
        assert {"get /auth/me", "get /api/meta", "post /api/sync"} <= set(without_input)

    def test_every_operation_that_reads_a_body_documents_400_and_413(self, openapi: dict[str, Any]) -> None:
        with_body = [operation for _, _, operation in _operations(openapi) if "requestBody" in operation]
        assert len(with_body) >= 6
        for operation in with_body:
            assert {"400", "413"} <= set(operation["responses"]), operation["operationId"]

    def test_a_body_that_is_not_utf8_is_the_documented_400(self, api_client: TestClient) -> None:
        response = api_client.post("/auth/register", content=b"\xff", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"

    def test_allow_names_every_documented_method_of_a_path(
        self, api_client: TestClient, openapi: dict[str, Any], headers: dict[str, str]
    ) -> None:
        """Starlette named only the first matching route's methods (`/api/connections` answered `Allow: POST`)."""
        for path, item in openapi["paths"].items():
            response = api_client.request("OPTIONS", _concrete(path), headers=headers)
            assert response.status_code == 405, path
            assert set(response.headers["Allow"].split(", ")) == {m.upper() for m in item if m in METHODS}, path

    def test_an_undeclared_method_beside_an_id_route_is_405_not_a_malformed_id(self, api_client: TestClient) -> None:
        for method in ("PATCH", "DELETE"):
            response = api_client.request(method, "/api/connections/callback", params={"ref": "abc"})
            assert response.status_code == 405, response.text
            assert response.headers["Allow"] == "GET"

    @pytest.mark.parametrize(
        ("method", "path", "name"),
        [
            ("PATCH", "/api/connections/not-an-id", "connection_id"),
            ("POST", "/api/connections/12/sync", "connection_id"),
            ("GET", "/api/jobs/x", "job_id"),
            ("GET", "/api/accounts/x/balances", "account_id"),
        ],
    )
    def test_a_malformed_id_is_still_a_422_naming_it(
        self, api_client: TestClient, headers: dict[str, str], method: str, path: str, name: str
    ) -> None:
        response = api_client.request(method, path, headers=headers, json={})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["path", name]


def _validator(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry, format_checker=FormatChecker()
    )


def _examples(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """(JSON pointer of the schema, example) for every example in the document: `examples` lists of schemas,
    `example` values, and the Example Objects of parameters and media types."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    examples = node.get("examples")
    if isinstance(examples, list):
        yield from ((pointer, example) for example in examples)
    elif isinstance(examples, dict) and "schema" in node:
        yield from ((f"{pointer}/schema", example["value"]) for example in examples.values())
    if "example" in node:
        yield (f"{pointer}/schema" if "schema" in node else pointer), node["example"]
    for key, value in node.items():
        if key not in ("examples", "example"):
            yield from _examples(value, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}")


class TestExamples:
    def test_every_example_matches_its_schema(self, openapi: dict[str, Any]) -> None:
        checked = []
        for pointer, example in _examples(openapi):
            problems = [error.message for error in _validator(openapi, pointer).iter_errors(example)]
            assert not problems, (pointer, example, problems)
            checked.append(pointer)
        assert "/components/schemas/TransactionRead" in checked
        assert len(checked) >= 20, checked

    def test_a_transaction_example_missing_a_required_field_would_be_caught(self, openapi: dict[str, Any]) -> None:
        (example,) = openapi["components"]["schemas"]["TransactionRead"]["examples"]
        del example["booked_as_id"]
        assert not _validator(openapi, "/components/schemas/TransactionRead").is_valid(example)


class TestExactInputs:
    """Inputs the API refused although the document allowed them, or took although it did not."""

    def test_the_country_pattern_is_the_served_countries_in_any_case(self, openapi: dict[str, Any]) -> None:
        parameters = openapi["paths"]["/api/institutions"]["get"]["parameters"]
        (country,) = [parameter for parameter in parameters if parameter["name"] == "country"]
        pattern = re.compile(country["schema"]["pattern"])
        letters = [chr(code) for code in range(ord("A"), ord("Z") + 1)]
        for first in letters:
            for second in letters:
                for candidate in (first + second, (first + second).lower(), first + second.lower()):
                    assert bool(pattern.fullmatch(candidate)) == ((first + second) in SERVED_COUNTRIES), candidate

    def test_a_country_not_served_is_refused_without_asking_gocardless(
        self, api: TestClient, headers: dict[str, str], sandbox: SandboxControl
    ) -> None:
        response = api.get("/api/institutions", params={"country": "VO"}, headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_country"
        assert "GET /api/v2/institutions/" not in sandbox.counters()["endpoints"]

    @pytest.mark.parametrize(
        "params",
        [
            {"max_amount": "1e3"},
            {"min_amount": "1_000"},
            {"min_amount": "١"},
            {"date_to": "0"},
            {"date_from": "2026-01-01T00:00:00"},
        ],
    )
    def test_amounts_and_days_the_document_does_not_allow_are_refused(
        self, api_client: TestClient, headers: dict[str, str], params: dict[str, str]
    ) -> None:
        assert api_client.get("/api/transactions", params=params, headers=headers).status_code == 422

    @pytest.mark.parametrize("params", [{"min_amount": ".5", "max_amount": "+12."}, {"date_from": "2026-01-01"}])
    def test_amounts_and_days_as_documented_are_taken(
        self, api_client: TestClient, headers: dict[str, str], params: dict[str, str]
    ) -> None:
        assert api_client.get("/api/transactions", params=params, headers=headers).status_code == 200

    def test_hidden_is_a_boolean_never_null(self, openapi: dict[str, Any]) -> None:
        assert openapi["components"]["schemas"]["AccountUpdate"]["properties"]["hidden"]["type"] == "boolean"

    def test_no_text_of_a_request_body_may_hold_nul(self, openapi: dict[str, Any]) -> None:
        """`Schema` refuses NUL anywhere in a request: the document says so for each string it takes."""
        schemas = openapi["components"]["schemas"]
        seen = 0
        for name in ("UserCreate", "RefreshRequest", "ConnectionCreate", "ConnectionUpdate", "AccountUpdate"):
            for field, schema in schemas[name]["properties"].items():
                for branch in schema.get("anyOf", [schema]):
                    if branch.get("type") == "string":
                        assert re.search(branch["pattern"], "a\x00b") is None, (name, field)
                        seen += 1
        assert seen >= 6
