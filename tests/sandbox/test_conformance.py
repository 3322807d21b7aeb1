"""The sandbox against GoCardless's official OpenAPI document, over HTTP.

Every path and method of the spec, and every error case of the facts sheet (sections 2 to 9), is one row of `CASES`.
Each row is sent to the live sandbox and both the request and the response are validated with openapi-core against
`gocardless-bank-account-data-openapi.json` beside this file: a byte-identical copy of the official spec
(`info.version` "2.0 (v2)", from jodoox/beancount-gocardless @ ad6c1fb; its sha256 is pinned below), kept here so
that a clean clone can run the test.

Three deviations from the spec are tolerated, each narrowly and in one place (`_tolerated_request_error`,
`_tolerated_response_error`); anything else the validator reports fails the row, and `TestTolerances` proves that
near misses are not tolerated.

Fixtures: `sandbox` (tests/harness/sandbox.py) is the sandbox server, reset before each test; `scene` builds on it
what the rows refer to by `{name}` (a token pair, a linked requisition with its agreement and accounts, a spare
agreement, an id that exists nowhere); `openapi` is the spec loaded once per run.
"""

import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    InvalidParameter,
    InvalidRequestBody,
    SecurityValidationError,
)

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
from tests.harness.sandbox import SandboxControl

SPEC_PATH = Path(__file__).with_name("gocardless-bank-account-data-openapi.json")
SPEC_SHA256 = "b7c4cb6edd25d943b2a2b657f09ca81b85cedaab570d161496c965337724c86e"
SANDBOX_INSTITUTION = "SANDBOXFINANCE_SFIN0000"
OTHER_INSTITUTION = "THISTLE_THSTGB2L"  # GB, 180 days of access: the one that allows reconfirmation
MALFORMED_ID = "not-a-uuid"
TOKEN_PATHS = frozenset({"/api/v2/token/new/", "/api/v2/token/refresh/"})
GENERAL_LIMIT_HEADERS = ("HTTP_X_RATELIMIT_LIMIT", "HTTP_X_RATELIMIT_REMAINING", "HTTP_X_RATELIMIT_RESET")


def _spec_document() -> dict[str, Any]:
    return load_document(SPEC_PATH)


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


# -- the three tolerated deviations --------------------------------------------------------------------------------
def _tolerated_request_error(request: SpecRequest, error: Exception) -> bool:
    # (a) The spec's global `jwtAuth` requirement also covers token/new and token/refresh, but those are how a client
    # gets a token in the first place: the quickstart calls them without Authorization, and so do we.
    return (
        isinstance(error, SecurityValidationError)
        and request.path in TOKEN_PATHS
        and "authorization" not in request.headers
    )


def _tolerated_response_error(request: SpecRequest, response: SpecResponse, error: Exception) -> bool:
    if not isinstance(error, ResponseNotFound):
        return False
    declared = error.availableresponses
    # (b) A malformed id gets 400 "… is not a valid UUID." on every id path (facts §1), including operations whose
    # responses list no 400 (account metadata).
    if response.status_code == 400 and "400" not in declared and f"/{MALFORMED_ID}/" in request.path:
        return True
    # (c) Our fault injection answers 5xx on any path; only operations that declare no 5xx at all are excused (where
    # 500/503 are declared, those are the only 5xx allowed).
    return 500 <= response.status_code < 600 and not any(code.startswith("5") for code in declared)


def spec_violations(openapi: OpenAPI, request: httpx.Request, response: httpx.Response) -> tuple[list[Any], list[Any]]:
    """(request errors, response errors) that openapi-core reports and no tolerance excuses. The sandbox stands in
    for https://bankaccountdata.gocardless.com: requests are read as addressed to the spec's own server."""
    document = _spec_document()
    return violations(
        openapi,
        document,
        SpecRequest(request, host_url=document["servers"][0]["url"]),
        SpecResponse(response),
        response.json,
        excused_request=_tolerated_request_error,
        excused_response=_tolerated_response_error,
    )


# -- the scene the cases refer to ------------------------------------------------------------------------------------
@dataclass
class Scene:
    """What `{name}` in a case's path, query or body stands for; an `arrange` step may replace any of it."""

    sandbox: SandboxControl
    api: httpx.Client
    access: str
    refresh: str
    requisition: str  # linked (LN) for the sandbox bank, customer alice
    reference: str  # that requisition's reference
    agreement: str  # that requisition's agreement: accepted and in use
    account: str  # that requisition's first account
    spare_agreement: str  # made through the API for the sandbox bank: not accepted, not in use
    institution: str = SANDBOX_INSTITUTION
    other_institution: str = OTHER_INSTITUTION
    unknown: str = field(default_factory=lambda: str(uuid.uuid4()))  # well formed, exists nowhere
    malformed: str = MALFORMED_ID

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format_map(
                {**vars(self), "secret_id": self.sandbox.secret_id, "secret_key": self.sandbox.secret_key}
            )
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value


@pytest.fixture
def scene(sandbox: SandboxControl) -> Iterator[Scene]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as api:
        tokens = api.post("/api/v2/token/new/", json={"secret_id": sandbox.secret_id, "secret_key": sandbox.secret_key})
        tokens.raise_for_status()
        linked = sandbox.link(institution_id=SANDBOX_INSTITUTION, customer="alice", reference="conformance-linked")
        headers = {"Authorization": f"Bearer {tokens.json()['access']}"}
        spare = api.post("/api/v2/agreements/enduser/", json={"institution_id": SANDBOX_INSTITUTION}, headers=headers)
        spare.raise_for_status()
        yield Scene(
            sandbox=sandbox,
            api=api,
            access=tokens.json()["access"],
            refresh=tokens.json()["refresh"],
            requisition=linked["id"],
            reference=linked["reference"],
            agreement=linked["agreement"],
            account=linked["accounts"][0],
            spare_agreement=spare.json()["id"],
        )


# Arrange steps: scene-setting before a case's call (control surface, or the API itself for a prior step).
def _accept_spare(scene: Scene) -> None:
    response = scene.api.put(
        f"/api/v2/agreements/enduser/{scene.spare_agreement}/accept/",
        json={"user_agent": "conformance", "ip_address": "127.0.0.1"},
        headers={"Authorization": f"Bearer {scene.access}"},
    )
    response.raise_for_status()


def _reconfirmable_agreement(scene: Scene) -> None:
    response = scene.api.post(
        "/api/v2/agreements/enduser/",
        json={"institution_id": OTHER_INSTITUTION, "access_valid_for_days": 180, "reconfirmation": True},
        headers={"Authorization": f"Bearer {scene.access}"},
    )
    response.raise_for_status()
    scene.spare_agreement = response.json()["id"]
    _accept_spare(scene)


def _spend_the_daily_allowance(scene: Scene) -> None:
    """Four successful transaction calls: the default per-account, per-scope allowance of a day (facts §9b)."""
    for _ in range(4):
        response = scene.api.get(
            f"/api/v2/accounts/{scene.account}/transactions/", headers={"Authorization": f"Bearer {scene.access}"}
        )
        response.raise_for_status()


def _scoped_account(scene: Scene) -> None:
    """An account whose agreement covers balances and details, not transactions."""
    scene.account = scene.sandbox.link(access_scope=["balances", "details"])["accounts"][0]


def _expire(kind: str) -> Callable[[Scene], None]:
    return lambda scene: scene.sandbox.expire(scene.account, kind)


def _suspend(scene: Scene) -> None:
    scene.sandbox.suspend(scene.account)


def _bank_limit(limit: int) -> Callable[[Scene], None]:
    return lambda scene: scene.sandbox.set_bank_limit(scene.account, limit)


def _faults(**faults: Any) -> Callable[[Scene], None]:
    return lambda scene: scene.sandbox.set_faults(error_rate=1.0, **faults)


def _limits(**limits: Any) -> Callable[[Scene], None]:
    def arrange(scene: Scene) -> None:
        scene.sandbox.set_limits(**limits)

    return arrange


# -- the table -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    call: str  # "METHOD /path/" with {scene} placeholders
    status: int
    query: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None  # application/x-www-form-urlencoded
    multipart: Mapping[str, str] | None = None  # multipart/form-data
    auth: Literal["bearer", "none", "invalid"] = "bearer"
    arrange: Callable[[Scene], None] | None = None
    # The request breaks the spec on purpose (the error case is about exactly that); openapi-core must say so.
    request_violation: type[Exception] | None = None
    # Top-level body keys: a value (re.Pattern: fullmatch; dict: the same rules one level down), PRESENT or ABSENT.
    expect: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


TOKEN_NEW = "POST /api/v2/token/new/"
TOKEN_REFRESH = "POST /api/v2/token/refresh/"
INSTITUTIONS = "GET /api/v2/institutions/"
EUA = "/api/v2/agreements/enduser"
SPARE_EUA = "/api/v2/agreements/enduser/{spare_agreement}"
REQ = "/api/v2/requisitions"
ACC = "/api/v2/accounts/{account}"

SECRETS = {"secret_id": "{secret_id}", "secret_key": "{secret_key}"}
NEW_REQUISITION = {"redirect": "http://127.0.0.1/callback", "institution_id": "{institution}"}
ACCEPTANCE = {"user_agent": "conformance", "ip_address": "127.0.0.1"}
REQUIRED = ["This field is required."]
RATE_LIMIT = {"summary": "Rate limit exceeded", "type": ABSENT}
INVALID_TOKEN = {"summary": "Invalid token", "detail": "Token is invalid or expired"}
WRONG_SECRETS = {"summary": "Authentication failed", "detail": "No active account found with the given credentials"}
EUA_EXPIRED = {"summary": "End User Agreement (EUA) {agreement} has expired", "type": ABSENT}
DATE_RANGE = {"summary": "Incorrect date range", "detail": re.compile(r"Starting date '2025-02-01' is greater .+")}
PER_ACCOUNT = {**RATE_LIMIT, "detail": re.compile(r"The rate limit for this resource is 4/day\. .+ in \d+ seconds")}
BANK_LIMIT = {"type": "RateLimitError", "detail": "Daily request limit set by the Institution has been exceeded."}


# fmt: off
CASES: tuple[Case, ...] = (
    # §2 tokens
    Case("token/new", TOKEN_NEW, 200, json=SECRETS, auth="none", expect={"access": PRESENT, "access_expires": 86400}),
    Case("token/new as a form", TOKEN_NEW, 200, form=SECRETS, auth="none", expect={"access": PRESENT}),
    Case("token/new as multipart", TOKEN_NEW, 200, multipart=SECRETS, auth="none", expect={"access": PRESENT}),
    Case("token/refresh", TOKEN_REFRESH, 200, json={"refresh": "{refresh}"}, auth="none", expect={"refresh": ABSENT}),
    Case("bad secrets", TOKEN_NEW, 401, json={**SECRETS, "secret_key": "wrong"}, auth="none", expect=WRONG_SECRETS),
    Case("bad refresh token", TOKEN_REFRESH, 401, json={"refresh": "{access}"}, auth="none", expect=INVALID_TOKEN),
    Case("token/new over its limit", TOKEN_NEW, 429, json=SECRETS, auth="none",
         arrange=_limits(general={"token_new": 0}), expect=RATE_LIMIT),
    # §3 institutions
    Case("institutions of a country", INSTITUTIONS, 200, query={"country": "gb"}),
    Case("institutions, filtered", INSTITUTIONS, 200, query={"pending_transactions_supported": "true"}),
    Case("one institution", "GET /api/v2/institutions/{institution}/", 200, expect={"supported_features": PRESENT}),
    Case("invalid country", INSTITUTIONS, 400, query={"country": "ZZ"}, expect={"summary": "Invalid country choice."}),
    Case("unknown query field", INSTITUTIONS, 400, query={"colour": "red"}, expect={"summary": "Unknown fields"}),
    Case("unknown institution", "GET /api/v2/institutions/NOPE_NOPEXX00/", 404, expect={"summary": "Not found."}),
    Case("invalid token", INSTITUTIONS, 401, auth="invalid", expect=INVALID_TOKEN),
    # §4 agreements
    Case("agreement list", f"GET {EUA}/", 200, query={"limit": "1"}, expect={"count": 2, "next": PRESENT}),
    Case("agreement create", f"POST {EUA}/", 201, json={"institution_id": "{institution}"}, expect={"accepted": None}),
    Case("agreement get", f"GET {SPARE_EUA}/", 200, expect={"id": "{spare_agreement}"}),
    Case("agreement delete", f"DELETE {SPARE_EUA}/", 200, expect={"summary": "End User Agreement deleted"}),
    Case("agreement accept", f"PUT {SPARE_EUA}/accept/", 200, json=ACCEPTANCE, expect={"accepted": PRESENT}),
    Case("reconfirmation", f"GET {SPARE_EUA}/reconfirm/", 200, arrange=_reconfirmable_agreement),
    Case("reconfirmation create", f"POST {SPARE_EUA}/reconfirm/", 201, json={"redirect": "http://127.0.0.1/again"},
         arrange=_reconfirmable_agreement),
    Case("EUA accepted twice", f"PUT {SPARE_EUA}/accept/", 405, json=ACCEPTANCE, arrange=_accept_spare,
         expect={"summary": "EUA cannot be accepted more than once"}),
    Case("agreement malformed id", f"GET {EUA}/{{malformed}}/", 400, request_violation=InvalidParameter,
         expect={"summary": "Invalid ID"}),
    Case("agreement unknown id", f"DELETE {EUA}/{{unknown}}/", 404, expect={"summary": "Not found."}),
    Case("agreement missing field", f"POST {EUA}/", 400, json={}, request_violation=InvalidRequestBody,
         expect={"institution_id": REQUIRED}),
    # §5 requisitions
    Case("requisition list", f"GET {REQ}/", 200, expect={"count": 1}),
    Case("requisition create", f"POST {REQ}/", 201, json={**NEW_REQUISITION, "agreement": "{spare_agreement}"},
         expect={"status": "CR", "accounts": []}),
    Case("requisition get", f"GET {REQ}/{{requisition}}/", 200, expect={"status": "LN"}),
    Case("requisition delete", f"DELETE {REQ}/{{requisition}}/", 200, expect={"summary": "Requisition deleted"}),
    Case("missing required fields", f"POST {REQ}/", 400, json={}, request_violation=InvalidRequestBody,
         expect={"redirect": REQUIRED, "institution_id": REQUIRED}),
    Case("duplicate reference", f"POST {REQ}/", 400, json={**NEW_REQUISITION, "reference": "{reference}"},
         expect={"reference": {"summary": "Client reference must be unique"}}),
    Case("unknown agreement", f"POST {REQ}/", 404, json={**NEW_REQUISITION, "agreement": "{unknown}"},
         expect={"agreement": {"summary": "ID {unknown} not found"}}),
    Case("agreement of another institution", f"POST {REQ}/", 400,
         json={**NEW_REQUISITION, "institution_id": "{other_institution}", "agreement": "{spare_agreement}"},
         expect={"agreement": {"summary": "Incorrect Institution ID"}}),
    Case("agreement reused", f"POST {REQ}/", 400, json={**NEW_REQUISITION, "agreement": "{agreement}"},
         expect={"agreement": PRESENT}),
    Case("requisition malformed id", f"DELETE {REQ}/{{malformed}}/", 400, request_violation=InvalidParameter,
         expect={"summary": "Invalid ID"}),
    Case("requisition unknown id", f"GET {REQ}/{{unknown}}/", 404, expect={"summary": "Not found."}),
    Case("general limit", f"GET {REQ}/", 429, arrange=_limits(general={"read": 0}), expect=RATE_LIMIT),
    # §6, §7 accounts
    Case("account metadata", f"GET {ACC}/", 200, expect={"id": "{account}", "status": "READY"}),
    Case("account details", f"GET {ACC}/details/", 200, expect={"account": PRESENT}),
    Case("account balances", f"GET {ACC}/balances/", 200, expect={"balances": PRESENT}),
    Case("account transactions", f"GET {ACC}/transactions/", 200, expect={"transactions": PRESENT}),
    Case("transactions in a range", f"GET {ACC}/transactions/", 200,
         query={"date_from": "2025-01-01", "date_to": "2025-01-31"}),
    Case("metadata malformed id", "GET /api/v2/accounts/{malformed}/", 400, expect={"summary": "Invalid Account ID"}),
    Case("details malformed id", "GET /api/v2/accounts/{malformed}/details/", 400,
         expect={"summary": "Invalid Account ID"}),
    Case("account unknown id", "GET /api/v2/accounts/{unknown}/", 404,
         expect={"summary": "Account ID {unknown} not found"}),
    Case("account invalid token", f"GET {ACC}/balances/", 401, auth="invalid", expect=INVALID_TOKEN),
    Case("transactions unknown query field", f"GET {ACC}/transactions/", 400, query={"date_form": "2025-01-01"},
         expect={"summary": "Unknown fields"}),
    Case("date_from after date_to", f"GET {ACC}/transactions/", 400,
         query={"date_from": "2025-02-01", "date_to": "2025-01-01"}, expect=DATE_RANGE),
    # §8 refusals of account data
    Case("EUA expired", f"GET {ACC}/transactions/", 401, arrange=_expire("agreement"), expect=EUA_EXPIRED),
    Case("access expired", f"GET {ACC}/balances/", 401, arrange=_expire("access_expired"),
         expect={"type": "AccessExpiredError", "summary": "Couldn't update account balances"}),
    Case("account inactive", f"GET {ACC}/details/", 401, arrange=_expire("inactive"),
         expect={"type": "AccountInactiveError"}),
    Case("scope not in the EUA", f"GET {ACC}/transactions/", 403, arrange=_scoped_account,
         expect={"summary": "End User Agreement (EUA) access scope error"}),
    Case("account suspended", f"GET {ACC}/transactions/", 409, arrange=_suspend,
         expect={"summary": "Account suspended"}),
    # §9 rate limits
    Case("per-account daily limit", f"GET {ACC}/transactions/", 429, arrange=_spend_the_daily_allowance,
         expect=PER_ACCOUNT),
    Case("bank's own limit", f"GET {ACC}/balances/", 429, arrange=_bank_limit(0), expect=BANK_LIMIT),
    Case("general limit on account data", f"GET {ACC}/details/", 429, arrange=_limits(general={"account_data": 0}),
         expect=RATE_LIMIT),
    # 5xx: declared on details, balances and transactions (500 and 503, with a bank `type`), nowhere else (tolerance c)
    Case("bank error", f"GET {ACC}/transactions/", 500, arrange=_faults(error_status=500),
         expect={"type": "UnknownRequestError"}),
    Case("bank unavailable", f"GET {ACC}/balances/", 503, arrange=_faults(error_status=503),
         expect={"type": "ServiceError"}),
    Case("metadata in an outage", f"GET {ACC}/", 504, arrange=_faults(error_status=504), expect={"type": ABSENT}),
    Case("requisitions in an outage", f"GET {REQ}/", 502, arrange=_faults(error_status=502, path_prefix=REQ),
         expect={"type": ABSENT}),
)
# fmt: on


def _send(scene: Scene, case: Case) -> httpx.Response:
    method, path = case.call.split(" ", 1)
    headers = {
        "bearer": {"Authorization": f"Bearer {scene.access}"},
        "invalid": {"Authorization": "Bearer not-a-real-token"},
        "none": {},
    }[case.auth]
    multipart = {name: (None, scene.fill(value)) for name, value in (case.multipart or {}).items()}
    return scene.api.request(
        method,
        scene.fill(path),
        params=scene.fill(dict(case.query)),
        json=scene.fill(case.json),
        data=scene.fill(case.form),
        files=multipart or None,
        headers=headers,
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
            detail=lambda error: getattr(error, "details", error),
        )
        # Facts §9c: the general limit headers come with every response.
        assert all(name in response.headers for name in GENERAL_LIMIT_HEADERS), dict(response.headers)

    def test_every_operation_of_the_spec_has_a_success_case(self) -> None:
        documented = operations(_spec_document())
        succeeded = with_ids(case.call for case in CASES if case.status < 300)
        assert len(documented) == 19
        assert documented - succeeded == set()

    def test_the_spec_is_the_official_copy(self) -> None:
        assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == SPEC_SHA256


class TestTolerances:
    """The three excuses stop exactly where the spec stops: a near miss is a violation."""

    ERROR = {"summary": "Something", "detail": "went wrong", "status_code": 0}

    def test_a_token_call_without_authorization_is_excused(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange(
            "POST", "/api/v2/token/refresh/", 401, self.ERROR, auth=False, sent={"refresh": "r"}
        )
        assert spec_violations(openapi, *exchange) == ([], [])

    def test_a_token_call_with_a_bad_body_is_not(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("POST", "/api/v2/token/refresh/", 401, self.ERROR, auth=False, sent={})
        request_errors, _ = spec_violations(openapi, *exchange)
        assert [type(error) for error in request_errors] == [InvalidRequestBody]

    def test_a_data_call_without_authorization_is_not(self, openapi: OpenAPI) -> None:
        request_errors, _ = spec_violations(openapi, *made_up_exchange("GET", f"{REQ}/", 200, {}, auth=False))
        assert [type(error) for error in request_errors] == [SecurityValidationError]

    def test_400_for_a_malformed_account_id_is_excused(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", f"/api/v2/accounts/{MALFORMED_ID}/", 400, self.ERROR)
        assert spec_violations(openapi, *exchange) == ([], [])

    def test_400_on_account_metadata_for_anything_else_is_not(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", f"/api/v2/accounts/{uuid.uuid4()}/", 400, self.ERROR)
        _, response_errors = spec_violations(openapi, *exchange)
        assert [type(error) for error in response_errors] == [ResponseNotFound]

    def test_an_excused_status_still_needs_an_error_body(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", f"/api/v2/accounts/{MALFORMED_ID}/", 400, {"error": "bad id"})
        _, response_errors = spec_violations(openapi, *exchange)
        assert response_errors

    def test_5xx_where_none_is_declared_is_excused(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("DELETE", f"{REQ}/{uuid.uuid4()}/", 502, self.ERROR)
        assert spec_violations(openapi, *exchange) == ([], [])

    def test_an_undeclared_5xx_beside_declared_ones_is_not(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", f"/api/v2/accounts/{uuid.uuid4()}/transactions/", 502, self.ERROR)
        _, response_errors = spec_violations(openapi, *exchange)
        assert [type(error) for error in response_errors] == [ResponseNotFound]

    def test_an_undeclared_4xx_is_not(self, openapi: OpenAPI) -> None:
        exchange = made_up_exchange("GET", f"/api/v2/accounts/{uuid.uuid4()}/", 409, self.ERROR)
        _, response_errors = spec_violations(openapi, *exchange)
        assert [type(error) for error in response_errors] == [ResponseNotFound]
