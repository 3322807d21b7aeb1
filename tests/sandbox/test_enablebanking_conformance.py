"""The Enable Banking sandbox against Enable Banking's OpenAPI document, over HTTP.

Every path and method of the document, and every error the sandbox names, is one row of `CASES`. Each row is sent
to the live sandbox and both the request and the response are validated with openapi-core against
`enablebanking-openapi.yml` beside this file: a byte-identical copy of the document behind Enable Banking's API
reference (`info.version` "1.0.0-3030f99c", from api-evangelist/enable-banking @ 970dbd56; its sha256 is pinned
below), kept here so that a clean clone can run the test.

Two deviations are tolerated, each narrowly and in one place (`_tolerated_response_error`, `_as_documented`), and
`TestTolerances` proves that near misses are not:
(a) `continuation_key: null` on a listing's last page. The document's schema says `type: string`, its description
    "Null if there are no more pages" (the schema was generated from an optional field); the sandbox sends the
    null the description promises, so that a client copes with it.
(b) A gateway's 502/503/504 (fault injection: Enable Banking's front in trouble), which no operation declares; the
    body must still be an ErrorResponse.

Fixtures: `enablebanking_sandbox` (tests/harness/enablebanking.py) is the sandbox, reset before each test; `scene`
builds what the rows refer to by `{name}`; `openapi` is the document loaded once per run.
"""

import copy
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import InvalidParameter, InvalidRequestBody, SecurityValidationError

from tests.harness.enablebanking import EnableBankingSandboxControl
from tests.harness.openapi import (
    ABSENT,
    PRESENT,
    SpecRequest,
    SpecResponse,
    assert_conforms,
    load_document,
    made_up_exchange,
    operations,
    violations,
    with_ids,
)

SPEC_PATH = Path(__file__).with_name("enablebanking-openapi.yml")
SPEC_SHA256 = "688e3aba0c464e6c9857221acbdb95bdcaba19ab54ab3fd9e9cf62c19e82eb34"
MOCK = {"name": "Mock ASPSP", "country": "FI"}
FJORD = {"name": "Fjord Sparbank", "country": "SE"}  # requires Psu-Ip-Address and Psu-User-Agent
RHEIN = {"name": "Rhein Volksbank", "country": "DE"}  # 90 days of history, older is WRONG_TRANSACTIONS_PERIOD
LISTINGS = re.compile(r"^/accounts/[^/]+/transactions$")
GATEWAY_STATUSES = frozenset({502, 503, 504})


def _spec_document() -> dict[str, Any]:
    return load_document(SPEC_PATH)


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


def _as_documented(request: SpecRequest, response: httpx.Response) -> SpecResponse:
    """(a) The response, with a last page's `continuation_key: null` read as the description documents it."""
    data = response.content
    if request.method == "get" and LISTINGS.match(request.path) and response.status_code == 200:
        body = response.json()
        if isinstance(body, dict) and "continuation_key" in body and body["continuation_key"] is None:
            body = copy.deepcopy(body)
            del body["continuation_key"]
            data = json.dumps(body).encode()
    return SpecResponse(response, data)


def _tolerated_response_error(request: SpecRequest, response: SpecResponse, error: Exception) -> bool:
    """(b) A gateway's 5xx, which no operation declares."""
    return isinstance(error, ResponseNotFound) and response.status_code in GATEWAY_STATUSES


def spec_violations(openapi: OpenAPI, request: httpx.Request, response: httpx.Response) -> tuple[list[Any], list[Any]]:
    """(request errors, response errors) that openapi-core reports and no tolerance excuses. Requests are read as
    addressed to the document's own server; only the path, method, query, headers and body are compared."""
    document = _spec_document()
    spec_request = SpecRequest(request, host_url=document["servers"][0]["url"])
    return violations(
        openapi,
        document,
        spec_request,
        _as_documented(spec_request, response),
        response.json,
        excused_response=_tolerated_response_error,
    )


# -- the scene the cases refer to ------------------------------------------------------------------------------------
@dataclass
class Scene:
    """What `{name}` in a case's path, query, headers or body stands for; an `arrange` step may replace any of it."""

    eb: EnableBankingSandboxControl
    api: httpx.Client
    session: str  # Mock ASPSP, alice: authorized
    account: str  # its first account
    fjord_account: str
    rhein_account: str
    authorization: str  # a POST /auth waiting at the consent page
    code: str  # an approved authorization's code, not exchanged yet
    valid_until: str
    unknown: str = field(default_factory=lambda: str(uuid.uuid4()))  # well formed, exists nowhere
    transaction: str = "none"
    month_ago: str = ""  # days counted on the sandbox's clock
    week_ago: str = ""

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format_map({key: item for key, item in vars(self).items() if isinstance(item, str)})
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value

    def start(self, aspsp: Mapping[str, str] = MOCK) -> dict[str, Any]:
        body = {
            "access": {"valid_until": self.valid_until},
            "aspsp": dict(aspsp),
            "state": "conformance",
            "redirect_url": "http://127.0.0.1:8000/callback",
        }
        response = self.api.post("/auth", json=body, headers=self.eb.headers())
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def approved_code(self, customer: str = "alice") -> str:
        redirect = self.eb.approve(self.start()["authorization_id"], customer=customer)
        return parse_qs(urlsplit(redirect).query)["code"][0]


@pytest.fixture
def scene(enablebanking_sandbox: EnableBankingSandboxControl) -> Iterator[Scene]:
    eb = enablebanking_sandbox
    with httpx.Client(base_url=eb.base_url, timeout=10) as api:
        linked = eb.link(aspsp=MOCK, customer="alice")
        valid_until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        scene = Scene(
            eb=eb,
            api=api,
            session=linked["session_id"],
            account=linked["accounts"][0],
            fjord_account=eb.link(aspsp=FJORD, customer="bob")["accounts"][0],
            rhein_account=eb.link(aspsp=RHEIN, customer="bob")["accounts"][0],
            authorization="",
            code="",
            valid_until=valid_until,
        )
        today = date.fromisoformat(eb.clock()["today"])
        scene.month_ago = (today - timedelta(days=30)).isoformat()
        scene.week_ago = (today - timedelta(days=7)).isoformat()
        scene.authorization = scene.start()["authorization_id"]
        scene.code = scene.approved_code()
        yield scene


# Arrange steps: scene-setting before a case's call.
def _exchange_code(scene: Scene) -> None:
    scene.api.post("/sessions", json={"code": scene.code}, headers=scene.eb.headers()).raise_for_status()


def _code_of_nobody(scene: Scene) -> None:
    scene.code = scene.approved_code("nobody")


def _clock(**moved: float) -> Callable[[Scene], None]:
    return lambda scene: scene.eb.advance_clock(**moved) and None


def _close(scene: Scene) -> None:
    scene.api.delete(f"/sessions/{scene.session}", headers=scene.eb.headers()).raise_for_status()


def _expire(scene: Scene) -> None:
    scene.eb.expire_session(scene.session)


def _revoke(scene: Scene) -> None:
    scene.eb.revoke_session(scene.session)


def _spend_the_allowance(scene: Scene) -> None:
    for _ in range(4):
        scene.api.get(f"/accounts/{scene.account}/balances", headers=scene.eb.headers()).raise_for_status()


def _a_transaction(scene: Scene) -> None:
    listing = scene.api.get(f"/accounts/{scene.account}/transactions", headers=scene.eb.headers()).json()
    scene.transaction = listing["transactions"][0]["transaction_id"]


def _faults(status: int) -> Callable[[Scene], None]:
    return lambda scene: scene.eb.set_faults(error_status=status, error_count=1)


def _inactive(scene: Scene) -> None:
    scene.eb.set_application_active(False)


# -- the table -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    call: str  # "METHOD /path" with {scene} placeholders
    status: int
    query: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: Literal["jwt", "none", "wrong"] = "jwt"
    arrange: Callable[[Scene], None] | None = None
    request_violation: type[Exception] | None = None  # the request breaks the document on purpose
    expect: Mapping[str, object] = field(default_factory=dict)  # top-level body keys

    def __str__(self) -> str:
        return self.name


def _error(error_code: str, **more: object) -> dict[str, object]:
    return {"error": error_code, "message": PRESENT, **more}


ACC = "/accounts/{account}"
SESSION = "/sessions/{session}"
START = {
    "access": {"valid_until": "{valid_until}"},
    "aspsp": MOCK,
    "state": "conformance",
    "redirect_url": "http://127.0.0.1:8000/callback",
}
PSU = {"Psu-Ip-Address": "192.0.2.10", "Psu-User-Agent": "conformance"}
TOO_LONG = "2099-01-01T00:00:00+00:00"

# fmt: off
CASES: tuple[Case, ...] = (
    # the application and the banks
    Case("application", "GET /application", 200, expect={"kid": PRESENT, "environment": "SANDBOX", "active": True}),
    Case("aspsps", "GET /aspsps", 200, expect={"aspsps": PRESENT}),
    Case("aspsps of a country", "GET /aspsps", 200, query={"country": "SE"}),
    Case("aspsps, lower-case country", "GET /aspsps", 422, query={"country": "se"},
         request_violation=InvalidParameter, expect=_error("WRONG_REQUEST_PARAMETERS")),
    Case("no authorization", "GET /aspsps", 401, auth="none", request_violation=SecurityValidationError,
         expect=_error("AUTHORIZATION_NOT_PROVIDED", code=401)),
    Case("a refused JWT", "GET /application", 401, auth="wrong", expect=_error("UNAUTHORIZED_ACCESS")),
    Case("application inactive", "GET /aspsps", 403, arrange=_inactive,
         expect={"message": "Application is not active", "code": 403, "error": ABSENT}),
    # the consent
    Case("auth", "POST /auth", 200, json=START, expect={"url": PRESENT, "authorization_id": PRESENT}),
    Case("redirect not allowed", "POST /auth", 422, json={**START, "redirect_url": "https://example.com/callback"},
         expect=_error("REDIRECT_URI_NOT_ALLOWED", code=422)),
    Case("unknown bank", "POST /auth", 422, json={**START, "aspsp": {"name": "Nope", "country": "FI"}},
         expect=_error("WRONG_ASPSP_PROVIDED")),
    Case("consent longer than the bank allows", "POST /auth", 422,
         json={**START, "access": {"valid_until": TOO_LONG}},
         expect=_error("WRONG_REQUEST_PARAMETERS", message=re.compile(r"ASPSP does not support consent validity .+"))),
    Case("auth without a field", "POST /auth", 422, json={"aspsp": MOCK}, request_violation=InvalidRequestBody,
         expect=_error("WRONG_REQUEST_PARAMETERS")),
    Case("sessions", "POST /sessions", 200, json={"code": "{code}"},
         expect={"session_id": PRESENT, "accounts": PRESENT, "aspsp": MOCK}),
    Case("wrong code", "POST /sessions", 422, json={"code": "nope"}, expect=_error("WRONG_AUTHORIZATION_CODE")),
    Case("code used twice", "POST /sessions", 422, json={"code": "{code}"}, arrange=_exchange_code,
         expect=_error("ALREADY_AUTHORIZED")),
    Case("code expired", "POST /sessions", 422, json={"code": "{code}"}, arrange=_clock(seconds=601),
         expect=_error("EXPIRED_AUTHORIZATION_CODE")),
    Case("no accounts", "POST /sessions", 422, json={"code": "{code}"}, arrange=_code_of_nobody,
         expect=_error("NO_ACCOUNTS_ADDED")),
    Case("session", f"GET {SESSION}", 200, expect={"status": "AUTHORIZED", "accounts_data": PRESENT}),
    Case("session expired", f"GET {SESSION}", 200, arrange=_expire, expect={"status": "EXPIRED"}),
    Case("unknown session", "GET /sessions/{unknown}", 404, expect=_error("SESSION_DOES_NOT_EXIST")),
    Case("session delete", f"DELETE {SESSION}", 200, expect={"message": "OK"}),
    Case("session deleted twice", f"DELETE {SESSION}", 422, arrange=_close, expect=_error("WRONG_SESSION_STATUS")),
    # account data
    Case("details", f"GET {ACC}/details", 200, expect={"uid": "{account}", "identification_hash": PRESENT}),
    Case("balances", f"GET {ACC}/balances", 200, expect={"balances": PRESENT}),
    Case("transactions", f"GET {ACC}/transactions", 200, expect={"transactions": PRESENT, "continuation_key": PRESENT}),
    Case("transactions in a period", "GET /accounts/{rhein_account}/transactions", 200,
         query={"date_from": "{month_ago}", "date_to": "{week_ago}"}),
    Case("booked transactions, longest", f"GET {ACC}/transactions", 200,
         query={"transaction_status": "BOOK", "strategy": "longest"}),
    Case("one transaction", f"GET {ACC}/transactions/{{transaction}}", 200, arrange=_a_transaction,
         expect={"transaction_id": "{transaction}"}),
    Case("unknown transaction", f"GET {ACC}/transactions/nope", 404, expect=_error("TRANSACTION_DOES_NOT_EXIST")),
    Case("unknown account", "GET /accounts/{unknown}/details", 404, expect=_error("ACCOUNT_DOES_NOT_EXIST")),
    Case("account id not a uuid", "GET /accounts/nope/balances", 422, request_violation=InvalidParameter,
         expect=_error("WRONG_REQUEST_PARAMETERS")),
    Case("session expired: data", f"GET {ACC}/balances", 401, arrange=_expire, expect=_error("EXPIRED_SESSION")),
    Case("session revoked: data", f"GET {ACC}/transactions", 401, arrange=_revoke, expect=_error("REVOKED_SESSION")),
    Case("session closed: data", f"GET {ACC}/details", 401, arrange=_close, expect=_error("CLOSED_SESSION")),
    Case("PSU headers, all required", "GET /accounts/{fjord_account}/balances", 200, headers=PSU),
    Case("PSU headers, some missing", "GET /accounts/{fjord_account}/balances", 422,
         headers={"Psu-User-Agent": "conformance"},
         expect=_error("PSU_HEADER_NOT_PROVIDED", detail="PSU header Psu-Ip-Address is not provided")),
    Case("PSU header invalid", f"GET {ACC}/balances", 422, headers={"Psu-Ip-Address": "somewhere"},
         expect=_error("PSU_HEADER_INVALID")),
    Case("fifth unattended call", f"GET {ACC}/balances", 429, arrange=_spend_the_allowance,
         expect=_error("ASPSP_RATE_LIMIT_EXCEEDED", code=429)),
    Case("fifth call, PSU present", f"GET {ACC}/balances", 200, headers=PSU, arrange=_spend_the_allowance),
    Case("period older than the bank keeps", "GET /accounts/{rhein_account}/transactions", 422,
         query={"date_from": "2024-01-01"}, expect=_error("WRONG_TRANSACTIONS_PERIOD", detail=PRESENT)),
    Case("date_to without date_from", f"GET {ACC}/transactions", 422, query={"date_to": "2026-01-01"},
         expect=_error("DATE_TO_WITHOUT_DATE_FROM")),
    Case("date_from in the future", f"GET {ACC}/transactions", 422, query={"date_from": "2099-01-01"},
         expect=_error("DATE_FROM_IN_FUTURE")),
    Case("date_from after date_to", f"GET {ACC}/transactions", 422,
         query={"date_from": "2026-02-01", "date_to": "2026-01-01"}, expect=_error("WRONG_DATE_INTERVAL")),
    Case("wrong continuation key", f"GET {ACC}/transactions", 422, query={"continuation_key": "nope"},
         expect=_error("WRONG_CONTINUATION_KEY")),
    Case("bank error", f"GET {ACC}/balances", 400, arrange=_faults(400), expect=_error("ASPSP_ERROR")),
    Case("bank timeout", f"GET {ACC}/transactions", 408, arrange=_faults(408), expect=_error("ASPSP_TIMEOUT")),
    Case("bank throttles", f"GET {ACC}/details", 429, arrange=_faults(429), expect=_error("ASPSP_RATE_LIMIT_EXCEEDED")),
    Case("internal error", f"GET {ACC}/transactions", 500, arrange=_faults(500), expect={"code": 500}),
    Case("gateway unavailable", f"GET {ACC}/transactions", 503, arrange=_faults(503), expect={"code": 503}),
    # payments: the sandbox application has the AIS service only
    Case("payments", "POST /payments", 403, json={}, request_violation=InvalidRequestBody,
         expect=_error("ACCESS_DENIED")),
    Case("payment", "GET /payments/{unknown}", 403, expect=_error("ACCESS_DENIED")),
    Case("payment delete", "DELETE /payments/{unknown}", 403, expect=_error("ACCESS_DENIED")),
    Case("payment transaction", "GET /payments/{unknown}/transactions/{unknown}", 403, expect=_error("ACCESS_DENIED")),
)
# fmt: on


def _send(scene: Scene, case: Case) -> httpx.Response:
    method, path = case.call.split(" ", 1)
    headers = {
        "jwt": scene.eb.headers(),
        "wrong": scene.eb.headers(aud="api.tilisy.com"),
        "none": {},
    }[case.auth]
    return scene.api.request(
        method,
        scene.fill(path),
        params=scene.fill(dict(case.query)),
        json=scene.fill(case.json),
        headers={**headers, **case.headers},
    )


class TestConformance:
    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_case(self, case: Case, scene: Scene, openapi: OpenAPI) -> None:
        if case.arrange is not None:
            case.arrange(scene)
        response = _send(scene, case)

        assert_conforms(
            response,
            status=case.status,
            request_violation=case.request_violation,
            expect=case.expect,
            fill=scene.fill,
            spec_violations=functools.partial(spec_violations, openapi),
            detail=lambda error: getattr(error, "__cause__", error),
        )

    def test_every_operation_of_the_document_has_a_case(self) -> None:
        documented = operations(_spec_document())
        covered = with_ids(case.call for case in CASES)
        succeeded = with_ids(case.call for case in CASES if case.status < 300)
        normalised = with_ids(documented)
        assert len(documented) == 14
        assert normalised - covered == set()
        assert {operation for operation in normalised if "/payments" not in operation} - succeeded == set()

    def test_every_error_code_the_sandbox_names_has_a_case(self) -> None:
        from src.sandbox.enablebanking.errors import CODES

        named = {case.expect.get("error") for case in CASES}
        assert set(CODES) - named == set()

    def test_the_document_is_the_official_copy(self) -> None:
        assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == SPEC_SHA256


class TestTolerances:
    """The two excuses stop exactly where they are stated: a near miss is a violation."""

    LISTING = f"/accounts/{uuid.uuid4()}/transactions"

    def test_a_null_continuation_key_on_a_listing_is_excused(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", self.LISTING, 200, {"transactions": [], "continuation_key": None})
        assert spec_violations(openapi, *exchange) == ([], [])

    def test_another_null_in_a_listing_is_not(self, openapi: OpenAPI) -> None:
        item = {
            "transaction_amount": {"currency": "EUR", "amount": "1.00"},
            "credit_debit_indicator": "DBIT",
            "status": "BOOK",
            "entry_reference": None,
        }
        exchange = made_up_exchange("GET", self.LISTING, 200, {"transactions": [item], "continuation_key": None})
        _, response_errors = spec_violations(openapi, *exchange)
        assert response_errors

    def test_a_gateway_5xx_is_excused(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", self.LISTING, 502, {"message": "Bad Gateway", "code": 502})
        assert spec_violations(openapi, *exchange) == ([], [])

    def test_a_gateway_5xx_still_needs_an_error_body(self, openapi: OpenAPI) -> None:
        _, response_errors = spec_violations(openapi, *made_up_exchange("GET", self.LISTING, 502, {"code": 502}))
        assert response_errors

    def test_an_undeclared_4xx_is_not(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", self.LISTING, 409, {"message": "Conflict", "code": 409})
        _, response_errors = spec_violations(openapi, *exchange)
        assert [type(error) for error in response_errors] == [ResponseNotFound]
