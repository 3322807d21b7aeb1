"""The newcomer's minute: `make dev` on a fresh data dir until the first sync of the sandbox bank has completed.

Each repeat starts `make dev` (free ports, a data dir of its own, as tests/e2e does) and measures: the ready line;
then, as the demo user through the API, connecting the sandbox bank (consent approved) until the first sync job
completes; Ctrl-C until every process of the stack is gone; a second start on the same data until ready. The
target is the issue's: connected and synced within a minute of `make dev`, the dependencies being installed.
"""

import statistics
import tempfile
import time
from pathlib import Path

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.harness.devstack import (
    DevStack,
    signed_in,
    stack_environment,
    stack_processes,
)
from tests.harness.live import connect_sandbox_bank, wait_for_job


def _stop(stack: DevStack, data_dir: Path) -> float:
    started = time.monotonic()
    stack.interrupt()
    while stack_processes(data_dir):
        if time.monotonic() - started > 60:
            raise RuntimeError(f"Ctrl-C left processes behind: {stack_processes(data_dir)}")
        time.sleep(0.05)
    return time.monotonic() - started


def run(repeats: int = 3) -> dict[str, float]:
    ready, synced, stopped, again = [], [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="finsync-bench-dev-") as workdir:
            data_dir = Path(workdir) / "data"
            env = stack_environment(data_dir)
            stack = DevStack(env, Path(workdir) / "first.log")
            try:
                started = time.monotonic()
                stack.wait_ready()
                ready.append(time.monotonic() - started)
                with signed_in(stack.api_url, DEMO_EMAIL, DEMO_PASSWORD) as api:
                    _, job_id = connect_sandbox_bank(api)
                    job = wait_for_job(api, job_id)
                if job["status"] != "completed":
                    raise RuntimeError(f"the first sync ended {job['status']}: {job.get('error_message')}")
                synced.append(time.monotonic() - started)
                stopped.append(_stop(stack, data_dir))
            finally:
                stack.close()
            second = DevStack(env, Path(workdir) / "second.log")
            try:
                started = time.monotonic()
                second.wait_ready()
                again.append(time.monotonic() - started)
                stopped.append(_stop(second, data_dir))
            finally:
                second.close()
    return {
        "ready_s": statistics.median(ready),
        "first_sync_s": statistics.median(synced),
        "stop_s": statistics.median(stopped),
        "second_ready_s": statistics.median(again),
        "repeats": float(repeats),
    }
