"""`finsync dev` as a person uses it: it comes up, answers /health, and Ctrl-C leaves nothing behind."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from src.db.migrate import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent's wait() is missing.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


class DevStack:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "src.cli", "dev"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives `make dev`
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready" in self.output():
                return
            if self.process.poll() is not None:
                pytest.fail(f"finsync dev exited early:\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"finsync dev not ready in {timeout} s:\n{self.output()}")

    def interrupt(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        return self.process.wait(timeout=60)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FINSYNC_DATA_DIR"] = str(tmp_path / "data")
    env["API_PORT"] = str(_free_port())
    return env


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[DevStack]]:
    started: list[DevStack] = []
    yield started
    for stack in started:
        stack.close()


def _start(stacks: list[DevStack], env: dict[str, str], log_path: Path) -> DevStack:
    stack = DevStack(env, log_path)
    stacks.append(stack)
    return stack


class TestDev:
    def test_embedded_stack_serves_health_and_ctrl_c_stops_everything(
        self, dev_env: dict[str, str], stacks: list[DevStack], tmp_path: Path
    ) -> None:
        stack = _start(stacks, dev_env, tmp_path / "dev.log")
        stack.wait_ready()
        response = httpx.get(f"http://127.0.0.1:{dev_env['API_PORT']}/health", timeout=5)
        assert response.status_code == 200

        api_pid = int(re.findall(r"Started server process \[(\d+)\]", stack.output())[0])
        postmaster = Path(dev_env["FINSYNC_DATA_DIR"]) / "postgres" / "postmaster.pid"
        postgres_pid = int(postmaster.read_text().splitlines()[0])
        assert _alive(api_pid)
        assert _alive(postgres_pid)

        assert stack.interrupt() == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (_alive(api_pid) or _alive(postgres_pid)):
            time.sleep(0.2)
        assert not _alive(api_pid), "the API outlived Ctrl-C"
        assert not _alive(postgres_pid), "the embedded PostgreSQL outlived Ctrl-C"
        assert "stopped" in stack.output()

    def test_second_start_reuses_the_data(
        self, dev_env: dict[str, str], stacks: list[DevStack], tmp_path: Path
    ) -> None:
        first = _start(stacks, dev_env, tmp_path / "first.log")
        first.wait_ready()
        assert first.interrupt() == 0
        assert "Running upgrade" in first.output()
        second = _start(stacks, dev_env, tmp_path / "second.log")
        second.wait_ready()
        assert "Running upgrade" not in second.output()
        assert httpx.get(f"http://127.0.0.1:{dev_env['API_PORT']}/health", timeout=5).status_code == 200
        assert second.interrupt() == 0

    def test_with_database_url_it_uses_that_server(
        self, dev_env: dict[str, str], stacks: list[DevStack], tmp_path: Path, isolated_database_url: str
    ) -> None:
        env = {**dev_env, "DATABASE_URL": isolated_database_url}
        stack = _start(stacks, env, tmp_path / "dev.log")
        stack.wait_ready()
        assert httpx.get(f"http://127.0.0.1:{env['API_PORT']}/health", timeout=5).status_code == 200
        assert not (Path(env["FINSYNC_DATA_DIR"]) / "postgres").exists()
        assert stack.interrupt() == 0

    def test_a_port_in_use_is_named(self, dev_env: dict[str, str]) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", int(dev_env["API_PORT"])))
            taken.listen()
            result = subprocess.run(
                [sys.executable, "-m", "src.cli", "dev"],
                cwd=PROJECT_ROOT,
                env=dev_env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        assert result.returncode == 2
        assert f"port {dev_env['API_PORT']}" in result.stderr
        assert "API_PORT" in result.stderr
        assert "Traceback" not in result.stderr
