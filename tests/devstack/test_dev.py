"""`finsync dev` beside the newcomer's path (tests/e2e/test_make_dev.py): another database, ports already taken."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.devstack import READY_MARK, DevStack, left_behind, stack_environment, stack_processes
from tests.harness.sandbox import PROJECT_ROOT


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    return stack_environment(tmp_path / "data")


@pytest.fixture
def stacks() -> Iterator[list[DevStack]]:
    started: list[DevStack] = []
    yield started
    for stack in started:
        stack.close()


def _run_dev_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "src.cli", "dev"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestDev:
    def test_with_database_url_it_uses_that_server_and_restarts_a_child_that_dies(
        self, dev_env: dict[str, str], stacks: list[DevStack], tmp_path: Path, isolated_database_url: str
    ) -> None:
        env = {**dev_env, "DATABASE_URL": isolated_database_url}
        stack = DevStack(env, tmp_path / "dev.log")
        stacks.append(stack)
        stack.wait_ready()
        assert stack.get("/health").status_code == 200
        meta = stack.get("/api/meta").json()
        assert meta["gocardless"] == "sandbox"
        # The Enable Banking sandbox is up too, with the key pair the API signs with: the API's check finds no problem.
        assert meta["providers"] == [
            {"name": "gocardless", "mode": "sandbox", "problem": None},
            {"name": "enablebanking", "mode": "sandbox", "problem": None},
        ]
        assert httpx.get(f"{stack.enablebanking_sandbox_url}/", timeout=10).status_code == 200
        assert (
            f"[finsync] enablebanking sandbox: {stack.enablebanking_sandbox_url} (stands in for Enable Banking)"
            in stack.output()
        )
        assert (Path(env["FINSYNC_DATA_DIR"]) / "enablebanking" / "sandbox-private.pem").exists()
        assert not (Path(env["FINSYNC_DATA_DIR"]) / "postgres").exists()
        assert not any("postgres -D" in command for command in stack_processes(Path(env["FINSYNC_DATA_DIR"])).values())

        # A child dies under the running stack: one line says so, the child comes back, and only then is the stack
        # called ready again.
        (sandbox_pid,) = [
            pid
            for pid, command in stack_processes(Path(env["FINSYNC_DATA_DIR"])).items()
            if "src.cli sandbox" in command and "enablebanking" not in command
        ]
        os.kill(sandbox_pid, signal.SIGKILL)
        stack.wait_for(READY_MARK, count=2, timeout=60)
        lines = [line for line in stack.output().splitlines() if line.startswith("[finsync] ")]
        died = lines.index("[finsync] sandbox exited with code -9; restarting it (1 of 3)")
        assert lines[died + 1 :] == ["[finsync] sandbox is back", lines[-1]]
        assert lines[-1].startswith(READY_MARK)
        assert httpx.get(f"{stack.sandbox_url}/", timeout=10).status_code == 200
        assert sum(line.startswith(READY_MARK) for line in lines) == 2
        assert not any("warning: Enable Banking" in line for line in lines)

        assert stack.interrupt() in (0, -signal.SIGINT)
        assert not left_behind(Path(env["FINSYNC_DATA_DIR"]))

    def test_ctrl_c_while_it_starts_stops_what_has_started(
        self, dev_env: dict[str, str], stacks: list[DevStack], tmp_path: Path
    ) -> None:
        stack = DevStack(dev_env, tmp_path / "dev.log")
        stacks.append(stack)
        deadline = time.monotonic() + 120
        while "[dagster]" not in stack.output():  # the database and the sandbox are up, Dagster on its way
            assert stack.process.poll() is None, stack.output()
            assert time.monotonic() < deadline, stack.output()
            time.sleep(0.1)
        data_dir = Path(dev_env["FINSYNC_DATA_DIR"])
        assert stack_processes(data_dir)
        assert stack.interrupt() in (0, -signal.SIGINT)
        assert "[finsync] SIGINT received; stopping" in stack.output()
        assert "[finsync] stopped" in stack.output()
        assert "Traceback" not in stack.output()
        assert not left_behind(data_dir)

    @pytest.mark.parametrize("variable", ["API_PORT", "DAGSTER_PORT", "SANDBOX_PORT", "ENABLEBANKING_SANDBOX_PORT"])
    def test_a_port_in_use_is_named_before_anything_starts(self, dev_env: dict[str, str], variable: str) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", int(dev_env[variable])))
            taken.listen()
            result = _run_dev_once(dev_env)
        assert result.returncode == 2
        assert f"port {dev_env[variable]}" in result.stderr
        assert variable in result.stderr
        assert "Traceback" not in result.stderr
        assert not (Path(dev_env["FINSYNC_DATA_DIR"]) / "postgres").exists(), "it started the database first"

    def test_two_services_on_one_port_are_refused(self, dev_env: dict[str, str]) -> None:
        result = _run_dev_once({**dev_env, "SANDBOX_PORT": dev_env["API_PORT"]})
        assert result.returncode == 2
        assert "API_PORT and SANDBOX_PORT" in result.stderr
        assert "Traceback" not in result.stderr
