"""Enable Banking wired into finsync: its client built from Settings, the start-up check, and its failures in the
API's words. The API (through `src.kit.dependencies`) and the Dagster resources both build clients here.

Credentials: `ENABLEBANKING_APPLICATION_ID` and `ENABLEBANKING_PRIVATE_KEY_FILE` talk to Enable Banking; without
them the client talks to the Enable Banking sandbox as Settings' sandbox application, signing with the key pair
made once in the data dir (`ensure_enablebanking_sandbox_keys`), whose public half the sandbox is started with.
There is no token to store: every process signs its own short-lived JWT with the private key.

Failures during a synchronous call (the connect flow): 502 when Enable Banking or the bank refused, 503 (with
Retry-After where it helps) when either is unavailable or rate-limits us, or when finsync's own key or application
is unusable (the operator's to fix). Raw httpx or provider errors never reach the error handler.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from src.exceptions import AppError
from src.providers.enablebanking import errors as eb
from src.providers.enablebanking.client import EnableBankingClient
from src.settings import Settings, ensure_enablebanking_sandbox_keys, settings

log = logging.getLogger(__name__)

# The start-up check must never hold a start-up back long: one attempt, a few seconds.
PROBLEM_CHECK_TIMEOUT_SECONDS = 5.0
# How long `GET /api/meta` reuses the last answer of the check.
PROBLEM_CACHE_SECONDS = 60.0


# -- the client ---------------------------------------------------------------------------------------------------
def enablebanking_credentials(config: Settings) -> tuple[str, Path]:
    """The application id and private key file: Enable Banking's when set, else the sandbox's (made if missing)."""
    if config.enablebanking_application_id is not None and config.enablebanking_private_key_file is not None:
        return config.enablebanking_application_id, config.enablebanking_private_key_file
    private_key_file, _ = ensure_enablebanking_sandbox_keys(config)
    return config.sandbox_enablebanking_application_id, private_key_file


def build_enablebanking_client(config: Settings, **client_kwargs: Any) -> EnableBankingClient:
    """A client on the configured Enable Banking (or its sandbox); `client_kwargs` go to EnableBankingClient
    (max_connections, timeout, max_attempts, …)."""
    application_id, private_key_file = enablebanking_credentials(config)
    return EnableBankingClient.from_key_file(
        application_id=application_id,
        private_key_file=private_key_file,
        base_url=config.enablebanking_base_url,
        **client_kwargs,
    )


@cache
def shared_enablebanking_client() -> EnableBankingClient:
    """The API process's client: one connection pool per process, built on first use."""
    return build_enablebanking_client(settings)


# -- the start-up check -------------------------------------------------------------------------------------------
class _QuietWhileChecking(logging.Filter):
    """The check's answer is its one line: the client's own request lines (a failed connection is a warning there)
    are dropped while this thread checks, and only then (other threads' requests still log)."""

    checking = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.checking, "active", False)


logging.getLogger(EnableBankingClient.__module__).addFilter(_QuietWhileChecking())


def enablebanking_problem(config: Settings) -> str | None:
    """What stops finsync from using Enable Banking, in one sentence for the operator, or None when all is well."""
    _QuietWhileChecking.checking.active = True
    try:
        return _problem(config)
    finally:
        _QuietWhileChecking.checking.active = False


def _problem(config: Settings) -> str | None:
    """Asks Enable Banking about the application once (a refused key, an inactive application, no answer). The
    sentence names the application and the address, never the key or the token.
    """
    where = "the Enable Banking sandbox" if config.uses_enablebanking_sandbox else "Enable Banking"
    subject = where[:1].upper() + where[1:]
    try:
        client = build_enablebanking_client(config, timeout=PROBLEM_CHECK_TIMEOUT_SECONDS, max_attempts=1)
    except eb.EnableBankingError as exc:  # the key file is missing or bad (its message names the file, not its content)
        hint = ""
        if config.uses_enablebanking_sandbox and config.sandbox_enablebanking_public_key_file is not None:
            hint = (
                " (SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE is set, so finsync signs with the private key in "
                "SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE)"
            )
        return f"finsync cannot sign its Enable Banking requests: {exc}{hint}."
    except OSError as exc:  # the sandbox key pair cannot be made (the data dir is not writable)
        return f"finsync cannot make its Enable Banking sandbox key pair in {config.finsync_data_dir}: {exc.strerror}."
    application_id = client.application_id
    try:
        with client:
            client.verify_application()
    except eb.MisconfiguredError as exc:
        if exc.status_code is None and config.uses_enablebanking_sandbox:  # answered, but switched off
            return (
                f"The Enable Banking application {application_id} is not active in the Enable Banking sandbox: "
                'activate it there (POST /_sandbox/application {"active": true}).'
            )
        if exc.status_code is None:
            return (
                f"The Enable Banking application {application_id} is not active: activate it in the Enable Banking "
                "control panel."
            )
        return _refused_key(config, application_id)
    except eb.ConnectionFailedError:
        return f"{subject} cannot be reached at {config.enablebanking_base_url}."
    except eb.UpstreamServerError as exc:
        status = f" (HTTP {exc.status_code})" if exc.status_code else ""
        return f"{subject} at {config.enablebanking_base_url} is failing{status}; it may be down."
    except eb.EnableBankingError as exc:
        code = exc.error_code or (f"HTTP {exc.status_code}" if exc.status_code else "an error")
        return f"{subject} refused finsync's check of application {application_id} ({code})."
    return None


class ProblemCheck:
    """A provider check's last answer, asked again at most once per `ttl_seconds`, so a page that polls
    `GET /api/meta` costs no call to the provider. A stale answer is served while a background thread asks again;
    only the very first caller waits (at most the check's own timeout)."""

    def __init__(
        self,
        check: Callable[[], str | None],
        *,
        ttl_seconds: float = PROBLEM_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._value: str | None = None
        self._checked_at: float | None = None
        self._refreshing = False

    def refresh(self) -> str | None:
        """Ask now and keep the answer."""
        with self._refresh_lock:
            return self._ask()

    def current(self) -> str | None:
        """The last answer; asked now only when there is none yet, in the background when it is stale."""
        with self._lock:
            value, checked_at = self._value, self._checked_at
            if checked_at is not None and self._clock() - checked_at >= self._ttl and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self.refresh, name="enablebanking-check", daemon=True).start()
        if checked_at is not None:
            return value
        with self._refresh_lock:  # several first callers: one asks, the others read its answer
            with self._lock:
                if self._checked_at is not None:
                    return self._value
            return self._ask()

    def _ask(self) -> str | None:
        try:
            value = self._check()
        finally:
            with self._lock:
                self._refreshing = False
        with self._lock:
            self._value, self._checked_at = value, self._clock()
        return value

    def forget(self) -> None:
        """Drop the last answer (the configuration changed)."""
        with self._lock:
            self._value, self._checked_at = None, None


enablebanking_status = ProblemCheck(lambda: enablebanking_problem(settings))


def warn_about_enablebanking(logger: logging.Logger = log) -> str | None:
    """The start check: ask once (refreshing `enablebanking_status`) and log one warning line when something is
    wrong. Meant for a background thread: it never raises and never blocks a start-up."""
    try:
        problem = enablebanking_status.refresh()
    except Exception as exc:  # a check must not kill its thread with a traceback
        problem = f"finsync could not check Enable Banking ({type(exc).__name__})."
    if problem is not None:
        mode = "sandbox" if settings.uses_enablebanking_sandbox else "live"
        logger.warning(
            "Enable Banking is not usable: %s",
            problem,
            extra={"provider": "enablebanking", "mode": mode, "base_url": settings.enablebanking_base_url},
        )
    return problem


_start_check = threading.Event()


def start_check_once() -> None:
    """The start check, once per process, in the background: an API process starts one app, but a process that
    builds many (the test suite) must not have a late warning line from one start land in another's logs."""
    if _start_check.is_set():
        return
    _start_check.set()
    threading.Thread(target=warn_about_enablebanking, name="enablebanking-check", daemon=True).start()


def mark_start_checked() -> None:
    """Let `start_check_once` do nothing in this process (the test suite, whose Enable Banking is set per test)."""
    _start_check.set()


def _refused_key(config: Settings, application_id: str) -> str:
    if config.uses_enablebanking_sandbox:
        _, public_key_file = config.enablebanking_sandbox_key_files
        return (
            f"The Enable Banking sandbox refuses finsync's key for application {application_id}: start it with "
            f"SANDBOX_ENABLEBANKING_APPLICATION_ID={application_id} and "
            f"SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE={public_key_file} (as `make dev` does)."
        )
    return (
        f"Enable Banking refuses finsync's key for application {application_id}: ENABLEBANKING_PRIVATE_KEY_FILE must "
        "be the private key registered for ENABLEBANKING_APPLICATION_ID."
    )


# -- its failures in the API's words --------------------------------------------------------------------------------
class EnableBankingUnavailableError(AppError):
    status_code = 503
    code = "enablebanking_unavailable"


class EnableBankingRefusedError(AppError):
    status_code = 502
    code = "enablebanking_error"


_BANK_UNAVAILABLE = {"ASPSP_TIMEOUT"}


def upstream_error(exc: eb.EnableBankingError) -> AppError:
    """The answer for an Enable Banking failure during a synchronous call (the connect flow)."""
    if isinstance(exc, eb.RateLimitedError):
        retry = 60
        if exc.reset_at is not None:
            retry = max(1, int((exc.reset_at - datetime.now(UTC)).total_seconds()))
        return EnableBankingUnavailableError(
            "Enable Banking or the bank is rate-limiting us; please try again later.",
            headers={"Retry-After": str(retry)},
        )
    if isinstance(exc, eb.ConnectionFailedError | eb.UpstreamServerError) or (
        isinstance(exc, eb.BankError) and (exc.error_code in _BANK_UNAVAILABLE or exc.status_code in {408, 504})
    ):
        return EnableBankingUnavailableError(
            "Enable Banking or the bank is not answering right now; please try again in a minute.",
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, eb.MisconfiguredError):
        return EnableBankingUnavailableError(
            "finsync cannot use Enable Banking right now; the operator must fix its Enable Banking key or application."
        )
    detail = exc.error_message or exc.error_code or "Enable Banking refused the request."
    if isinstance(exc, eb.BankError):
        return EnableBankingRefusedError(f"The bank refused the request through Enable Banking: {detail}")
    return EnableBankingRefusedError(f"Enable Banking refused the request: {detail}")
