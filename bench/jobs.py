"""Sync jobs end to end, in one run against one fresh database and one sandbox bank:

1. Sync now → running → completed through the live API, with Dagster configured as finsync's dev instance
   (deploy/dagster.dev.yaml: queued coordinator dequeuing every second; the connection job runs in process) —
   beside the same connection job launched with Dagster's defaults: a second Dagster whose dagster.yaml is empty
   (QueuedRunCoordinator dequeuing every 5 s) and whose run uses the multiprocess executor. finsync's job pins
   the in-process executor and refuses an executor override in run config, so the default side loads
   bench/_default_location.py: the same job (name, assets, ops, run config) with no executor named. It is
   launched directly with DagsterClient.launch and polled with .run() for STARTED and SUCCESS.
2. GET /api/jobs/{id} requests/s for a running job (the sandbox's latency fault keeps the run busy) with 100
   concurrent pollers, beside GET /health on the same API server, and the GraphQL requests Dagster received
   meanwhile, counted by a proxy in front of Dagster's webserver (the API's DAGSTER_URL points at it).

The two Dagsters run one after the other (the machine has few cores), each stopped before the next starts.
"""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from src.providers.dagster.client import DagsterClient, Launched, RunState
from src.sync_runs import CONNECTION_JOB
from tests.harness.dagster import LiveDagster
from tests.harness.dagster_faults import SlowProxy
from tests.harness.live import LiveApi, connect_sandbox_bank, registered_client, wait_for_job
from tests.harness.sandbox import PROJECT_ROOT, SandboxControl, SandboxServer

PASSWORD = "bench jobs passphrase"  # noqa: S105 - a throwaway user of a throwaway database
TERMINAL = {"completed", "failed", "canceled"}
DAGSTER_TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
POLL_EVERY = 0.1
RUN_TIMEOUT = 300.0
FEW_POLLERS = 10


class _WorkspaceDagster(LiveDagster):
    """LiveDagster on another workspace file and, when asked, Dagster's default instance (an empty dagster.yaml)."""

    def __init__(self, workdir: Path, *, env: dict[str, str], workspace: Path, default_instance: bool) -> None:
        super().__init__(workdir, env=env, workspace=workspace)
        if default_instance:
            (self.home / "dagster.yaml").write_text("")


def _default_workspace(folder: Path) -> Path:
    path = folder / "workspace.yaml"
    path.write_text(
        "load_from:\n"
        "  - python_file:\n"
        f"      relative_path: {PROJECT_ROOT / 'bench' / '_default_location.py'}\n"
        "      attribute: defs\n"
        "      location_name: finsync\n"
        f"      working_directory: {PROJECT_ROOT}\n"
    )
    return path


class _User:
    """A user of the live API who connects the sandbox bank (as tests/jobs/test_sync_live.py does)."""

    def __init__(self, base_url: str) -> None:
        self.http = registered_client(base_url, "bench-jobs", PASSWORD)

    def connect(self) -> tuple[str, str]:
        return connect_sandbox_bank(self.http)

    def wait(self, job_id: str, until: set[str] = TERMINAL, *, started: bool = False) -> dict[str, Any]:
        def reached(job: dict[str, Any]) -> bool:
            return job["status"] in until and (not started or bool(job["started_at"]) or job["status"] in TERMINAL)

        return wait_for_job(self.http, job_id, reached, timeout=RUN_TIMEOUT, every=POLL_EVERY)

    def close(self) -> None:
        self.http.close()


def _sync_now(user: _User, connection_id: str) -> tuple[float, float, float]:
    """One Sync now: seconds from the click to the job reading running, to Dagster's start time showing on the
    job (the run is STARTED), and to completed; the job is polled every 100 ms."""
    clicked = time.perf_counter()
    response = user.http.post(f"/api/connections/{connection_id}/sync")
    if response.status_code != 202:
        raise RuntimeError(f"Sync now answered {response.status_code}: {response.text}")
    job = response.json()
    running = started = None
    while True:
        now = time.perf_counter()
        if job["status"] != "pending" and running is None:
            running = now
        if (job["started_at"] or job["status"] in TERMINAL) and started is None:
            started = now
        if job["status"] in TERMINAL:
            if job["status"] != "completed":
                raise RuntimeError(f"the sync ended {job['status']}: {job.get('error_message')}")
            assert running is not None
            assert started is not None
            return running - clicked, started - clicked, now - clicked
        if now - clicked > RUN_TIMEOUT:
            raise RuntimeError(f"the sync did not finish within {RUN_TIMEOUT:.0f} s")
        time.sleep(POLL_EVERY)
        job = user.job(job["id"])


def _launch_direct(client: DagsterClient, connection_id: str) -> tuple[float, float]:
    """The connection job with the multiprocess executor: seconds from launch to STARTED and to SUCCESS."""
    config = {
        "execution": {"config": {"multiprocess": {}}},
        "ops": {"*": {"config": {"connection_id": connection_id}}},
    }
    launched_at = time.perf_counter()
    result = client.launch(CONNECTION_JOB, config)
    if not isinstance(result, Launched):
        raise RuntimeError(f"the default-executor launch failed: {result}")
    started = None
    while True:
        state = client.run(result.run_id)
        now = time.perf_counter()
        if not isinstance(state, RunState):
            raise RuntimeError(f"reading the run failed: {state}")
        if state.status in {"STARTED", *DAGSTER_TERMINAL} and started is None:
            started = now
        if state.status in DAGSTER_TERMINAL:
            if state.status != "SUCCESS":
                raise RuntimeError(f"the default-executor run ended {state.status}: {state.failure_message}")
            assert started is not None
            return started - launched_at, now - launched_at
        if now - launched_at > RUN_TIMEOUT:
            raise RuntimeError(f"the default-executor run did not finish within {RUN_TIMEOUT:.0f} s")
        time.sleep(POLL_EVERY)


async def _hammer(base_url: str, path: str, headers: dict[str, str], seconds: float, pollers: int) -> dict[str, Any]:
    """`pollers` tasks GET `path` back to back for `seconds`: answers completed within the window, per second.
    Requests still in flight when the window closes are abandoned (the server may go on working on them: wait for
    it to recover before measuring anything else)."""
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    counts = {"ok": 0, "failed": 0, "not_running": 0, "in_flight": 0}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=seconds + 60) as client:

        async def poller() -> None:
            while True:
                counts["in_flight"] += 1
                try:
                    response = await client.get(path)
                except httpx.HTTPError:
                    counts["failed"] += 1
                    continue
                finally:
                    counts["in_flight"] -= 1
                if response.status_code != 200:
                    counts["failed"] += 1
                    continue
                counts["ok"] += 1
                if path.startswith("/api/jobs/") and b'"status":"running"' not in response.content:
                    counts["not_running"] += 1

        tasks = [asyncio.create_task(poller()) for _ in range(pollers)]
        await asyncio.sleep(seconds)
        unfinished = counts.pop("in_flight")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {**counts, "rate": counts["ok"] / seconds, "in_flight_at_close": unfinished, "elapsed": seconds}


def _run_status(dagster_url: str, database_url: str, job_id: str) -> str | None:
    """The job's run status as Dagster has it (QUEUED, STARTED, SUCCESS, …)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            run_id = db.execute(text("SELECT dagster_run_id FROM jobs WHERE id = :j"), {"j": job_id}).scalar_one()
    finally:
        engine.dispose()
    with DagsterClient(dagster_url) as client:
        state = client.run(str(run_id))
    return state.status if isinstance(state, RunState) else None


def _wait_responsive(base_url: str, timeout: float = 120.0) -> None:
    """Until /health answers within a second again (after abandoned requests, the server may still be busy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the API did not recover within {timeout:.0f} s")


def run(
    url: str, *, repeats: int = 5, pollers: int = 100, poll_seconds: float = 5.0, latency_ms: int = 8000
) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="finsync-bench-jobs-"))
    server = SandboxServer(workdir / "sandbox.log")
    sandbox = SandboxControl(server.base_url)
    env = {"DATABASE_URL": url, "GOCARDLESS_BASE_URL": server.base_url}
    dagster: LiveDagster | None = None
    proxy: SlowProxy | None = None
    api: LiveApi | None = None
    user: _User | None = None
    figures: dict[str, float] = {}
    try:
        sandbox.reset()
        sandbox.set_limits(account_daily=10_000)

        # -- finsync's Dagster (deploy/dagster.dev.yaml), through the API ------------------------------------
        dagster = LiveDagster(workdir / "finsync-dagster", env=env)
        dagster.start()
        proxy = SlowProxy(dagster.url)  # no delay: it only counts
        api = LiveApi(workdir / "api.log", env={**env, "DAGSTER_URL": proxy.url})
        user = _User(api.base_url)
        connection_id, first_job = user.connect()
        first = user.wait(first_job)  # the callback's first sync: a warm-up, not measured
        if first["status"] != "completed":
            raise RuntimeError(f"the first sync ended {first['status']}: {first.get('error_message')}")
        figures["accounts"] = float(len(first["outcomes"]))
        samples = [_sync_now(user, connection_id) for _ in range(repeats)]
        figures["finsync_running_s"] = statistics.median(s[0] for s in samples)
        figures["finsync_started_s"] = statistics.median(s[1] for s in samples)
        figures["finsync_completed_s"] = statistics.median(s[2] for s in samples)

        # -- 100 pollers on a running job, beside /health; Dagster's GraphQL requests meanwhile ---------------
        sandbox.set_faults(latency_ms=latency_ms)
        response = user.http.post(f"/api/connections/{connection_id}/sync")
        response.raise_for_status()
        job_id = response.json()["id"]
        user.wait(job_id, {"running"}, started=True)
        headers = {"Authorization": str(user.http.headers["Authorization"])}
        # With fewer pollers than the API's database pool has connections, then with `pollers`.
        before = proxy.graphql_requests
        few = asyncio.run(_hammer(api.base_url, f"/api/jobs/{job_id}", headers, poll_seconds, FEW_POLLERS))
        graphql_few = proxy.graphql_requests - before
        before = proxy.graphql_requests
        jobs = asyncio.run(_hammer(api.base_url, f"/api/jobs/{job_id}", headers, poll_seconds, pollers))
        graphql = proxy.graphql_requests - before
        still = _run_status(dagster.url, url, job_id)  # Dagster's own word: the API may not be answering now
        _wait_responsive(api.base_url)
        health = asyncio.run(_hammer(api.base_url, "/health", {}, poll_seconds, pollers))
        figures.update(
            jobs_rps=jobs["rate"],
            jobs_failed=float(jobs["failed"]),
            jobs_not_running=float(jobs["not_running"] + few["not_running"]),
            still_running=float(still == "STARTED"),
            jobs_few_rps=few["rate"],
            jobs_few_failed=float(few["failed"]),
            few_pollers=float(FEW_POLLERS),
            graphql_few_requests=float(graphql_few),
            graphql_few_per_s=graphql_few / few["elapsed"],
            health_rps=health["rate"],
            health_failed=float(health["failed"]),
            jobs_vs_health=jobs["rate"] / health["rate"],
            graphql_requests=float(graphql),
            graphql_per_s=graphql / jobs["elapsed"],
            poll_seconds=jobs["elapsed"],
            pollers=float(pollers),
        )
        sandbox.clear_faults()
        user.http.post(f"/api/jobs/{job_id}/cancel")
        user.wait(job_id)
        user.close()
        user = None
        api.stop()
        api = None
        proxy.stop()
        proxy = None
        dagster.close()

        # -- Dagster's defaults: empty dagster.yaml, multiprocess executor, launched directly -----------------
        default_dir = workdir / "default-dagster"
        default_dir.mkdir()
        dagster = _WorkspaceDagster(
            default_dir, env=env, workspace=_default_workspace(default_dir), default_instance=True
        )
        dagster.start()
        with DagsterClient(dagster.url) as client:
            _launch_direct(client, connection_id)  # warm-up, as the callback's first sync is on finsync's side
            direct = [_launch_direct(client, connection_id) for _ in range(repeats)]
        figures["default_started_s"] = statistics.median(s[0] for s in direct)
        figures["default_completed_s"] = statistics.median(s[1] for s in direct)
        figures["completed_ratio"] = figures["finsync_completed_s"] / figures["default_completed_s"]
        figures["repeats"] = float(repeats)
    finally:
        if user is not None:
            user.close()
        if api is not None:
            api.stop()
        if proxy is not None:
            proxy.stop()
        if dagster is not None:
            dagster.close()
        sandbox.close()
        server.stop()
    return figures
