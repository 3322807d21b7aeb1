"""`finsync dev`: the whole local stack in one terminal, until Ctrl-C.

Order: PostgreSQL (embedded unless DATABASE_URL is set) → migrations → the demo user → the local SMTP server
(unless SMTP_HOST is set: aiosmtpd in this process on MAILBOX_PORT, each message saved under `<data dir>/mail/`,
src/devstack/mailbox.py) → the GoCardless sandbox (unless GoCardless credentials are set) → the Enable Banking
sandbox (unless Enable Banking credentials are set; its key pair is made once in the data dir) → Dagster
(`dagster dev`) → the API. Every child inherits one environment, so all of them use the database, the sandboxes,
the mail server and the Dagster this process started. It prints the
URLs and one ready line once every service answers, and checks Enable Banking's application once in the background
(a problem is one warning line); then it watches them (src/devstack/supervision.py): a child that exits or stops
answering is named in one line and restarted, and the stack stops with one line when that keeps happening or the
database stops answering. Ctrl-C (or SIGTERM) stops every child's whole process group.
"""

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy.orm import sessionmaker

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_user
from src.db.embedded import check_database, describe_url, ensure_database_url
from src.db.engine import build_engine
from src.db.migrate import PROJECT_ROOT, upgrade_to_head
from src.db.unit_of_work import unit_of_work
from src.devstack import dagster
from src.devstack.mailbox import MAILBOX_HOST, start_mailbox
from src.devstack.ports import dev_ports, ensure_ports_free
from src.devstack.processes import ManagedProcess
from src.devstack.supervision import Service, Supervisor, wait_until_ready
from src.integrations.enablebanking import enablebanking_problem
from src.settings import ConfigurationError, Settings, ensure_enablebanking_sandbox_keys

log = logging.getLogger(__name__)

READY_LINE = "ready"
ENABLEBANKING_SANDBOX = "enablebanking-sandbox"


def say(message: str) -> None:
    """The supervisor's own lines, prefixed like the children's."""
    print(f"[finsync] {message}", flush=True)


class _StopRequested(Exception):
    pass


def _raise_stop(signum: int, _: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _http_ok(client: httpx.Client, url: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        try:
            status = client.get(url, timeout=2).status_code
        except httpx.HTTPError as exc:
            return f"no answer yet ({type(exc).__name__})"
        return None if status == 200 else f"answers {status}"

    return missing


def _http_answers(client: httpx.Client, url: str) -> Callable[[], str | None]:
    """Still alive: any HTTP answer counts (the API's /health answers 503 while the database is away, which is the
    database's problem, watched on its own)."""

    def silent() -> str | None:
        try:
            client.get(url, timeout=5)
        except httpx.HTTPError as exc:
            return f"no answer ({type(exc).__name__})"
        return None

    return silent


def _database_probe(url: str) -> Callable[[], str | None]:
    def silent() -> str | None:
        try:
            check_database(url, timeout_seconds=3)
        except ConfigurationError as exc:
            return str(exc)
        return None

    return silent


def _create_demo_user(url: str) -> None:
    engine = build_engine(url, pool_size=1, max_overflow=0)
    try:
        with unit_of_work(sessionmaker(engine)) as session:
            created = ensure_demo_user(session)
    finally:
        engine.dispose()
    say(f"demo user: {DEMO_EMAIL} / {DEMO_PASSWORD} ({'created' if created else 'already there'})")


def _child_environment(settings: Settings, database_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["FINSYNC_DATA_DIR"] = str(data_dir)
    env["DAGSTER_HOME"] = str(settings.dagster_home.resolve())
    env["FINSYNC_DEMO_ACCOUNT"] = "true"  # the page offers the demo user this process created
    # The Dagster this process starts listens on IPv4 loopback; `localhost` may resolve to ::1 first.
    env.setdefault("DAGSTER_URL", f"http://127.0.0.1:{settings.dagster_port}")
    # The sandbox reads its credentials from its environment only, finsync from Settings (which also reads `.env`):
    # pass the pair Settings holds, so that both sides agree wherever it was set.
    env["SANDBOX_SECRET_ID"] = settings.sandbox_secret_id.get_secret_value()
    env["SANDBOX_SECRET_KEY"] = settings.sandbox_secret_key.get_secret_value()
    if settings.uses_enablebanking_sandbox:
        # The same for the Enable Banking sandbox: its application id, and the key pair as absolute paths, so the
        # sandbox (public half) and finsync's children (private half) agree whatever their working directory.
        private_key_file, public_key_file = settings.enablebanking_sandbox_key_files
        env["SANDBOX_ENABLEBANKING_APPLICATION_ID"] = settings.sandbox_enablebanking_application_id
        env["SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE"] = str(public_key_file.resolve())
        env["SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE"] = str(private_key_file.resolve())
        env.pop("SANDBOX_ENABLEBANKING_STATE_FILE", None)  # the state file is the data dir's (`--state-file`)
    if settings.smtp_host is None:
        # No mail server of the person's own: the children send e-mail to the local one this process starts.
        env["SMTP_HOST"] = MAILBOX_HOST
        env["SMTP_PORT"] = str(settings.mailbox_port)
        env["SMTP_TLS"] = "none"
    return env


def mail_directory(settings: Settings) -> Path:
    """Where the local SMTP server saves each message."""
    return settings.finsync_data_dir.resolve() / "mail"


def api_argv(port: int) -> list[str]:
    """The API as the dev stack and the live-API tests run it: uvicorn on loopback (finsync logs each request)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "src.api.app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]


def sandbox_argv(port: int, state_file: Path | None = None, *, provider: str = "gocardless") -> list[str]:
    """A provider's sandbox (`finsync sandbox --provider …`) on loopback, its state kept in `state_file` when given."""
    return [sys.executable, "-m", "src.cli", "sandbox", "--provider", provider, "--port", str(port)] + (
        ["--state-file", str(state_file)] if state_file else []
    )


def enablebanking_sandbox_argv(port: int, state_file: Path | None = None) -> list[str]:
    """The Enable Banking sandbox on loopback, its sessions kept in `state_file` when given."""
    return sandbox_argv(port, state_file, provider="enablebanking")


def _enablebanking_sandbox(settings: Settings, env: dict[str, str], http: httpx.Client) -> Service:
    url = f"http://127.0.0.1:{settings.enablebanking_sandbox_port}"
    state_file = settings.finsync_data_dir.resolve() / "enablebanking" / "sandbox-state.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    process = ManagedProcess(
        ENABLEBANKING_SANDBOX,
        enablebanking_sandbox_argv(settings.enablebanking_sandbox_port, state_file),
        env=env,
        cwd=str(PROJECT_ROOT),
    )
    return Service(
        process, _http_ok(http, f"{url}/"), url, alive=_http_answers(http, f"{url}/"), ready_before_next=True
    )


def _services(settings: Settings, env: dict[str, str], http: httpx.Client) -> list[Service]:
    bin_dir = Path(sys.executable).parent
    services = []
    if settings.uses_sandbox:
        sandbox_url = f"http://127.0.0.1:{settings.sandbox_port}"
        state_file = settings.finsync_data_dir.resolve() / "sandbox" / "state.json"
        state_file.parent.mkdir(parents=True, exist_ok=True)
        sandbox = ManagedProcess(
            "sandbox",
            sandbox_argv(settings.sandbox_port, state_file),
            env=env,
            cwd=str(PROJECT_ROOT),
        )
        services.append(
            Service(
                sandbox,
                _http_ok(http, f"{sandbox_url}/"),
                sandbox_url,
                alive=_http_answers(http, f"{sandbox_url}/"),
                ready_before_next=True,
            )
        )
    if settings.uses_enablebanking_sandbox:
        services.append(_enablebanking_sandbox(settings, env, http))
    dagster_url = f"http://127.0.0.1:{settings.dagster_port}"
    dagster_dev = ManagedProcess(
        "dagster",
        [
            str(bin_dir / "dagster"),
            "dev",
            "-h",
            "127.0.0.1",
            "-p",
            str(settings.dagster_port),
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
        ],
        env=env,
        cwd=str(PROJECT_ROOT),
    )
    home = settings.dagster_home.resolve()
    services.append(
        Service(
            dagster_dev,
            lambda: dagster.readiness(http, dagster_url),
            dagster_url,
            alive=lambda: dagster.liveness(http, dagster_url),
            silence_limit=30.0,  # a run starting up can keep the webserver busy for a while
            prepare=lambda: dagster.prepare_home(home, env),
        )
    )
    api_url = f"http://127.0.0.1:{settings.api_port}"
    api = ManagedProcess("api", api_argv(settings.api_port), env=env, cwd=str(PROJECT_ROOT))
    services.append(
        Service(api, _http_ok(http, f"{api_url}/health"), api_url, alive=_http_answers(http, f"{api_url}/health"))
    )
    return services


def run_dev(settings: Settings) -> int:
    ensure_ports_free(dev_ports(settings))
    # From here on Ctrl-C (or SIGTERM) ends the start-up as cleanly as the running stack: whatever has started stops.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    http = httpx.Client()
    started: list[ManagedProcess] = []
    mailbox = None
    try:
        url = ensure_database_url(settings)
        say(f"database: {describe_url(url)}")
        upgrade_to_head(url)
        say("migrations: up to date")
        _create_demo_user(url)
        if settings.smtp_host is None:
            mailbox = start_mailbox(mail_directory(settings), settings.mailbox_port)
            say(f"mail:      SMTP on {MAILBOX_HOST}:{settings.mailbox_port}, saved in {mail_directory(settings)}")
        # The development key for secrets at rest exists before any child starts, so they all read the same one.
        settings.get_secret_keys()
        if settings.uses_enablebanking_sandbox:
            ensure_enablebanking_sandbox_keys(settings)  # before the sandbox and the children read it

        env = _child_environment(settings, url, settings.finsync_data_dir.resolve())
        services = _services(settings, env, http)
        for service in services:
            service.start()
            started.append(service.process)
            if service.ready_before_next:
                wait_until_ready([service])
        wait_until_ready(services)
        _announce(services)
        threading.Thread(target=_check_enablebanking, args=(settings,), name="enablebanking-check", daemon=True).start()
        supervisor = Supervisor(
            services, say=say, announce_ready=lambda: _say_ready(services), database=_database_probe(url)
        )
        while (code := supervisor.step()) is None:
            time.sleep(0.5)
        return code
    except _StopRequested as stop:
        say(f"{stop} received; stopping")
        return 0
    except RuntimeError as exc:
        say(f"{exc}; stopping")
        return 1
    finally:
        # Ignore further Ctrl-C while the children stop, so a second press cannot orphan them.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in reversed(started):
            process.stop()
        if mailbox is not None:
            mailbox.stop()
        http.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("stopped")


def _announce(services: list[Service]) -> None:
    by_name = {service.process.name: service.url for service in services}
    say(f"web page:  {by_name['api']}/")
    say(f"API docs:  {by_name['api']}/docs")
    say(f"Dagster:   {by_name['dagster']}")
    if "sandbox" in by_name:
        say(f"sandbox:   {by_name['sandbox']} (stands in for GoCardless)")
    if ENABLEBANKING_SANDBOX in by_name:
        say(f"enablebanking sandbox: {by_name[ENABLEBANKING_SANDBOX]} (stands in for Enable Banking)")
    _say_ready(services)


def _check_enablebanking(settings: Settings) -> None:
    """One line when Enable Banking cannot be used (a refused key, an inactive application, no answer); silence
    when it can. Runs in the background: the stack is already up and stays up either way."""
    try:
        problem = enablebanking_problem(settings)
    except Exception as exc:  # a start check must not end in a traceback
        problem = f"finsync could not check Enable Banking ({type(exc).__name__})."
    if problem is not None:
        say(f"warning: Enable Banking is not usable: {problem}")


def _say_ready(services: list[Service]) -> None:
    api_url = next(service.url for service in services if service.name == "api")
    say(f"{READY_LINE}: open {api_url}/ and sign in as {DEMO_EMAIL} — press Ctrl-C to stop")
