"""`make dev` as a person runs it, for tests: its own process group, free ports, a data dir of its own.

`stack_processes()` finds every process the stack started — children, Dagster's code servers and run workers, the
embedded PostgreSQL that daemonises itself — by the FINSYNC_DATA_DIR each one inherited, so a test can prove that
Ctrl-C left none of them behind without knowing their names in advance.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from src.devstack.stack import READY_LINE
from tests.harness.live import sign_in
from tests.harness.sandbox import PROJECT_ROOT, free_port

READY_MARK = f"[finsync] {READY_LINE}"


def stack_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment for a stack on free ports, minus anything that would point it elsewhere."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DAGSTER_URL", "DAGSTER_HOME", "GOCARDLESS_BASE_URL", "PUBLIC_BASE_URL"}
        and not key.startswith(("GOCARDLESS_SECRET", "ENABLEBANKING_", "SANDBOX_", "MAKE", "MFLAGS"))
    }
    env.update(
        FINSYNC_DATA_DIR=str(data_dir),
        API_PORT=str(free_port()),
        DAGSTER_PORT=str(free_port()),
        SANDBOX_PORT=str(free_port()),
        ENABLEBANKING_SANDBOX_PORT=str(free_port()),
        MAILBOX_PORT=str(free_port()),
    )
    env.update(extra)
    return env


class DevStack:
    """`make dev` started in a process group of its own, as a terminal starts it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.api_url = f"http://127.0.0.1:{env['API_PORT']}"
        self.sandbox_url = f"http://127.0.0.1:{env['SANDBOX_PORT']}"
        self.enablebanking_sandbox_url = f"http://127.0.0.1:{env['ENABLEBANKING_SANDBOX_PORT']}"
        self.dagster_url = f"http://127.0.0.1:{env['DAGSTER_PORT']}"
        self._log = log_path.open("w")
        # `-o .venv/.synced`: the environment is the one running these tests; make must not re-sync it.
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "-s", "-o", ".venv/.synced", f"BIN={Path(sys.executable).parent}", "dev"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_MARK in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"make dev exited early ({self.process.returncode}):\n{self.output()[-6000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"make dev not ready within {timeout:.0f} s:\n{self.output()[-6000:]}")

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 60) -> None:
        """Until `text` appears `count` times in the stack's output; fail with the output's tail when it exits or
        time runs out."""
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"make dev exited ({self.process.returncode}) before {text!r}:\n{self.output()[-6000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {text!r} within {timeout:.0f} s:\n{self.output()[-6000:]}")
            time.sleep(0.2)

    def database_url(self) -> str:
        """The stack's embedded PostgreSQL, reached by its socket (from postmaster.pid) without registering this
        process as one of the server's users, which would keep it running after the stack stops."""
        lines = (Path(self.env["FINSYNC_DATA_DIR"]) / "postgres" / "postmaster.pid").read_text().splitlines()
        port, socket_dir = lines[3].strip(), lines[4].strip()
        return f"postgresql+psycopg://postgres@/finsync?host={socket_dir}&port={port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.api_url}{path}", timeout=10)

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        """Last resort for a failed test: kill whatever the stack left, by group and by inherited data dir."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in stack_processes(Path(self.env["FINSYNC_DATA_DIR"])):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()


def stack_processes(data_dir: Path) -> dict[int, str]:
    """Live processes (pid → command line) whose environment carries FINSYNC_DATA_DIR=`data_dir`."""
    marker = f"FINSYNC_DATA_DIR={data_dir}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state != "Z" and marker in environ.split(b"\0"):
            found[int(entry.name)] = command
    return found


def left_behind(data_dir: Path, grace: float = 20) -> dict[int, str]:
    """The stack's processes still alive after `grace` seconds (a daemonised PostgreSQL takes a moment to go)."""
    deadline = time.monotonic() + grace
    while (left := stack_processes(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@contextlib.contextmanager
def signed_in(api_url: str, email: str, password: str) -> Iterator[httpx.Client]:
    """An API client carrying a fresh access token of this user."""
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield sign_in(client, email, password)
