"""Enable Banking wired from Settings: a client that the sandbox accepts (live credentials, or the sandbox's own
key pair), the start check's sentence for what an operator must fix, and failures in the API's envelope.

The sandbox is the real server over HTTP (`enablebanking_sandbox`, its key pair made for the run).
"""

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from src.exceptions import AppError
from src.integrations.enablebanking import (
    ProblemCheck,
    build_enablebanking_client,
    enablebanking_problem,
    enablebanking_status,
    upstream_error,
    warn_about_enablebanking,
)
from src.providers.enablebanking import errors as eb
from src.settings import Settings, settings
from tests.harness.enablebanking import APPLICATION_ID, EnableBankingSandboxControl, make_key_pair
from tests.harness.sandbox import free_port


def _live(sandbox: EnableBankingSandboxControl, private_key_file: Path) -> Settings:
    """Real credentials, pointed at the sandbox."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        enablebanking_application_id=APPLICATION_ID,
        enablebanking_private_key_file=private_key_file,
        enablebanking_base_url=sandbox.base_url,
    )


def _sandbox_mode(sandbox: EnableBankingSandboxControl, tmp_path: Path) -> Settings:
    """No credentials: the sandbox's application and the operator's own sandbox key pair (the run's)."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        finsync_data_dir=tmp_path,
        enablebanking_base_url=sandbox.base_url,
        sandbox_enablebanking_application_id=APPLICATION_ID,
        sandbox_enablebanking_public_key_file=sandbox.keys.public_key_file,
        sandbox_enablebanking_private_key_file=sandbox.keys.private_key_file,
    )


def test_both_modes_build_a_client_the_sandbox_accepts(
    enablebanking_sandbox: EnableBankingSandboxControl, tmp_path: Path
) -> None:
    for config in (
        _live(enablebanking_sandbox, enablebanking_sandbox.private_key_file),
        _sandbox_mode(enablebanking_sandbox, tmp_path),
    ):
        with build_enablebanking_client(config) as client:
            assert client.application_id == APPLICATION_ID
            assert client.verify_application().active
        assert enablebanking_problem(config) is None


def test_an_inactive_application_is_one_sentence(enablebanking_sandbox: EnableBankingSandboxControl) -> None:
    enablebanking_sandbox.set_application_active(False)
    try:
        problem = enablebanking_problem(_live(enablebanking_sandbox, enablebanking_sandbox.private_key_file))
    finally:
        enablebanking_sandbox.set_application_active(True)
    assert problem == (
        f"The Enable Banking application {APPLICATION_ID} is not active: activate it in the Enable Banking "
        "control panel."
    )


def test_a_wrong_key_is_named_without_the_key(
    enablebanking_sandbox: EnableBankingSandboxControl, tmp_path: Path
) -> None:
    wrong = make_key_pair(tmp_path, "wrong")
    problem = enablebanking_problem(_live(enablebanking_sandbox, wrong.private_key_file))
    assert problem is not None
    assert problem.startswith(f"Enable Banking refuses finsync's key for application {APPLICATION_ID}:")
    assert "ENABLEBANKING_PRIVATE_KEY_FILE" in problem
    assert "\n" not in problem
    assert "PRIVATE KEY" not in problem  # no PEM
    assert "eyJ" not in problem  # no JWT

    sandbox_mode = _sandbox_mode(enablebanking_sandbox, tmp_path).model_copy(
        update={"sandbox_enablebanking_private_key_file": wrong.private_key_file}
    )
    assert enablebanking_problem(sandbox_mode) == (
        f"The Enable Banking sandbox refuses finsync's key for application {APPLICATION_ID}: start it with "
        f"SANDBOX_ENABLEBANKING_APPLICATION_ID={APPLICATION_ID} and "
        f"SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE={enablebanking_sandbox.keys.public_key_file} (as `make dev` does)."
    )


def test_the_sandbox_not_running_is_one_sentence(tmp_path: Path) -> None:
    """Without credentials and without a sandbox: finsync makes its key pair and says the sandbox is not there."""
    port = free_port()
    config = Settings(_env_file=None, finsync_data_dir=tmp_path, enablebanking_sandbox_port=port)  # type: ignore[call-arg]
    assert enablebanking_problem(config) == (
        f"The Enable Banking sandbox cannot be reached at http://127.0.0.1:{port}."
    )
    assert (tmp_path / "enablebanking" / "sandbox-private.pem").exists()


def test_the_start_check_is_one_warning_line(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing answers: the client's own request lines stay quiet, the check says it once, without a traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(settings, "enablebanking_base_url", url)
    enablebanking_status.forget()
    try:
        with caplog.at_level(logging.INFO):
            problem = warn_about_enablebanking()
        assert enablebanking_status.current() == problem
    finally:
        enablebanking_status.forget()
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", f"Enable Banking is not usable: The Enable Banking sandbox cannot be reached at {url}.")
    ]
    assert caplog.records[0].exc_info is None


@pytest.mark.parametrize(
    ("error", "status", "code", "headers"),
    [
        (eb.ConnectionFailedError("timed out"), 503, "enablebanking_unavailable", {"Retry-After": "30"}),
        (eb.UpstreamServerError("500", status_code=500), 503, "enablebanking_unavailable", {"Retry-After": "30"}),
        (eb.BankError("t", status_code=408, error_code="ASPSP_TIMEOUT"), 503, "enablebanking_unavailable", None),
        (eb.MisconfiguredError("401", status_code=401), 503, "enablebanking_unavailable", {}),
        (eb.BankError("b", status_code=400, error_message="Bank says no"), 502, "enablebanking_error", {}),
        (eb.SessionEndedError("s", status_code=401, error_code="EXPIRED_SESSION"), 502, "enablebanking_error", {}),
    ],
)
def test_failures_in_the_apis_envelope(
    error: eb.EnableBankingError, status: int, code: str, headers: dict[str, str] | None
) -> None:
    answer = upstream_error(error)
    assert isinstance(answer, AppError)
    assert (answer.status_code, answer.error_code) == (status, code)
    if headers is not None:
        assert answer.headers == headers
    if isinstance(error, eb.MisconfiguredError):
        assert "the operator must fix its Enable Banking key or application" in answer.detail
    if error.error_message:
        assert error.error_message in answer.detail


def test_a_rate_limit_says_when_to_retry() -> None:
    answer = upstream_error(eb.RateLimitedError("429", reset_at=datetime.now(UTC) + timedelta(seconds=120)))
    assert answer.status_code == 503
    assert 100 < int(answer.headers["Retry-After"]) <= 120


def test_the_check_is_asked_once_per_minute() -> None:
    now = [0.0]
    answers = iter(["down", "still down"])
    calls: list[str] = []

    def check() -> str | None:
        calls.append("asked")
        return next(answers)

    status = ProblemCheck(check, ttl_seconds=60, clock=lambda: now[0])
    assert status.current() == "down"
    now[0] = 59
    assert status.current() == "down"
    assert calls == ["asked"]
    now[0] = 61
    assert status.current() == "down"  # stale: answered at once, asked again in the background
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while status.current() != "still down":
        assert datetime.now(UTC) < deadline
    assert calls == ["asked", "asked"]
