"""A live Dagster for tests: `dagster-webserver` and `dagster-daemon run` on the project's workspace.yaml.

The two processes are what `dagster dev` runs, started separately so that the test owns each one's process group:
the webserver's and the daemon's code servers, and the run workers the daemon launches, are stopped with them and
never outlive the test run. The instance is deploy/dagster.dev.yaml copied into a temporary DAGSTER_HOME, so the
tests exercise the queue and the per-connection tag limit the developer's stack uses. `stop()` then `start()`
brings Dagster back on the same port and home (the same runs), for tests of Dagster going away.
"""

import atexit
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from src.devstack.dagster import prepare_home, readiness
from src.devstack.processes import ManagedProcess
from src.sync_runs import CONNECTION_TAG
from tests.harness.sandbox import PROJECT_ROOT, free_port

START_TIMEOUT = 120.0

_RUN_COUNT_QUERY = """
query HarnessRunCount($filter: RunsFilter) {
  runsOrError(filter: $filter) { __typename ... on Runs { count } ... on PythonError { message } }
}
"""


class LiveDagster:
    """Dagster's webserver and daemon as subprocesses of the test run, on a free loopback port."""

    def __init__(
        self, workdir: Path, *, env: dict[str, str], port: int | None = None, workspace: Path | None = None
    ) -> None:
        self.workspace = workspace or PROJECT_ROOT / "workspace.yaml"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = workdir / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.webserver_log = workdir / "webserver.log"
        self.daemon_log = workdir / "daemon.log"
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(self.home), "DAGSTER_URL": self.url}
        self._processes: list[ManagedProcess] = []
        self._logs: list[Any] = []
        self._http = httpx.Client(timeout=5)
        atexit.register(self.stop)  # a session that dies half-way still takes the processes down

    @property
    def database_url(self) -> str | None:
        """The database the runs write to (the test's to arrange rows in, e.g. a connection to sync)."""
        return self.env.get("DATABASE_URL")

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start both processes and wait until GraphQL answers, the location is loaded and the queue runs."""
        if self._processes:
            raise RuntimeError("Dagster is already running")
        prepare_home(self.home, self.env)
        bin_dir = Path(sys.executable).parent
        workspace = str(self.workspace)
        commands = {
            "dagster-webserver": (
                [str(bin_dir / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(self.port)],
                self.webserver_log,
            ),
            "dagster-daemon": ([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], self.daemon_log),
        }
        for name, (argv, log_path) in commands.items():
            log_file = log_path.open("a")
            self._logs.append(log_file)
            process = ManagedProcess(name, argv, env=self.env, cwd=str(PROJECT_ROOT))
            process.start(log_file)
            self._processes.append(process)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.name} exited ({process.poll()}):\n{self.logs()}")
            missing = readiness(self._http, self.url)
            if missing is None:
                return
            last = missing
            time.sleep(0.25)
        raise RuntimeError(f"Dagster was not ready within {timeout:.0f} s ({last}):\n{self.logs()}")

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A GraphQL request of the harness's own (tests check the client against Dagster, not against itself)."""
        response = self._http.post(f"{self.url}/graphql", json={"query": document, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise ValueError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def run_count(self, tag_value: str | None = None) -> int:
        """How many runs Dagster holds, or how many carry `finsync/connection_id=<tag_value>`."""
        run_filter = {"tags": [{"key": CONNECTION_TAG, "value": tag_value}]} if tag_value is not None else {}
        answer = self.query(_RUN_COUNT_QUERY, {"filter": run_filter})["runsOrError"]
        if answer["__typename"] != "Runs":
            raise ValueError(f"runsOrError answered {answer}")
        return int(answer["count"])

    def logs(self, tail: int = 60) -> str:
        """The last lines of both logs, for failure messages."""
        for log_file in self._logs:
            log_file.flush()
        parts = []
        for path in (self.webserver_log, self.daemon_log):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop both process groups (SIGTERM, then SIGKILL for whatever is left); safe to call twice."""
        processes, self._processes = self._processes, []
        # In parallel: each takes a few seconds to shut its code server down.
        stoppers = [threading.Thread(target=process.stop, kwargs={"timeout": 15}) for process in processes]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        logs, self._logs = self._logs, []
        for log_file in logs:
            log_file.close()

    def close(self) -> None:
        self.stop()
        self._http.close()
        atexit.unregister(self.stop)
