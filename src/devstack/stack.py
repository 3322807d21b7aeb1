"""`finsync dev`: database, migrations, then the services, until Ctrl-C.

Order: PostgreSQL (embedded unless DATABASE_URL is set) → migrations → the API on 127.0.0.1:API_PORT. The
sandbox and Dagster join as their issues land. Every child inherits DATABASE_URL, so all of them use the one
database this process started or checked.
"""

import logging
import os
import signal
import sys
import time
from types import FrameType

import httpx

from src.db.embedded import describe_url, ensure_database_url
from src.db.migrate import upgrade_to_head
from src.devstack.ports import ensure_port_free
from src.devstack.processes import ManagedProcess
from src.settings import Settings

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 120


def say(message: str) -> None:
    """The supervisor's own lines, prefixed like the children's."""
    print(f"[finsync] {message}", flush=True)


class _StopRequested(Exception):
    pass


def _raise_stop(signum: int, _: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _wait_until_healthy(url: str, children: list[ManagedProcess]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.poll()} before it was ready")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_SECONDS} s")


def run_dev(settings: Settings) -> int:
    ensure_port_free(settings.api_port, "API_PORT")
    url = ensure_database_url(settings)
    say(f"database: {describe_url(url)}")
    upgrade_to_head(url)
    say("migrations: up to date")

    env = dict(os.environ)
    env["DATABASE_URL"] = url
    api = ManagedProcess(
        "api",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "src.api.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.api_port),
            "--no-access-log",
        ],
        env=env,
    )
    children = [api]
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        for child in children:
            child.start()
        api_url = f"http://127.0.0.1:{settings.api_port}"
        _wait_until_healthy(f"{api_url}/health", children)
        say(f"API:      {api_url}  (docs: {api_url}/docs)")
        say("ready — press Ctrl-C to stop")
        while True:
            for child in children:
                code = child.poll()
                if code is not None:
                    say(f"{child.name} exited with code {code}; stopping")
                    return 1
            time.sleep(0.5)
    except _StopRequested as stop:
        say(f"{stop} received; stopping")
        return 0
    finally:
        # Ignore further Ctrl-C while the children stop, so a second press cannot orphan them.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(children):
            child.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("stopped")
