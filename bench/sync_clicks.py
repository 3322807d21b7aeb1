"""Sync now clicked again and again on one connection across a day of the bank's time: no answer may be a 5xx.

A live API, the live Dagster (finsync's dev instance) and the sandbox bank on one fresh database. One user connects
the sandbox bank, then clicks Sync now `clicks` times on that connection, the sandbox clock moving forward by a day
÷ `clicks` between two clicks (so the bank's daily per-account allowance runs out and comes back, tokens expire and
are renewed, pending items book), reading the job after each click as the page does. Clicks land while a run is
still going (the same job answers), after it has ended (a new job), and while the bank allows no more calls (429).
Every answer's status code is counted; the last job is waited for.
"""

import collections
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.harness.dagster import LiveDagster
from tests.harness.live import LiveApi, connect_sandbox_bank, registered_client, wait_for_job
from tests.harness.sandbox import SandboxControl, SandboxServer

PASSWORD = "bench clicks passphrase"  # noqa: S105 - a throwaway user of a throwaway database
DAY_SECONDS = 86_400.0


def run(url: str, *, clicks: int = 200, pause: float = 0.25) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="finsync-bench-clicks-"))
    server = SandboxServer(workdir / "sandbox.log")
    sandbox = SandboxControl(server.base_url)
    env = {"DATABASE_URL": url, "GOCARDLESS_BASE_URL": server.base_url}
    dagster: LiveDagster | None = None
    api: LiveApi | None = None
    try:
        sandbox.reset()  # GoCardless's own per-account allowance (4 calls a day and scope)
        dagster = LiveDagster(workdir / "dagster", env=env)
        dagster.start()
        api = LiveApi(workdir / "api.log", env={**env, "DAGSTER_URL": dagster.url})
        http = registered_client(api.base_url, "bench-clicks", PASSWORD)
        try:
            connection_id, first = connect_sandbox_bank(http)
            wait_for_job(http, first, timeout=300)
            click_codes: collections.Counter[int] = collections.Counter()
            poll_codes: collections.Counter[int] = collections.Counter()
            job_ids: list[str] = []
            started = time.monotonic()
            for _ in range(clicks):
                sandbox.advance_clock(seconds=DAY_SECONDS / clicks)
                answer = http.post(f"/api/connections/{connection_id}/sync")
                click_codes[answer.status_code] += 1
                if answer.status_code in (200, 202):
                    job_id = answer.json()["id"]
                    if not job_ids or job_ids[-1] != job_id:
                        job_ids.append(job_id)
                    poll_codes[http.get(f"/api/jobs/{job_id}").status_code] += 1
                time.sleep(pause)
            clicking = time.monotonic() - started
            last = wait_for_job(http, job_ids[-1], timeout=300) if job_ids else None
            ended = collections.Counter(
                wait_for_job(http, job_id, timeout=300)["status"] for job_id in job_ids[:-1]
            ) + collections.Counter([last["status"]] if last else [])
        finally:
            http.close()
        log = api.logs()
    finally:
        if api is not None:
            api.stop()
        if dagster is not None:
            dagster.close()
        sandbox.close()
        server.stop()
    return {
        "clicks": clicks,
        "click_codes": dict(sorted(click_codes.items())),
        "poll_codes": dict(sorted(poll_codes.items())),
        "server_errors": sum(n for code, n in (click_codes + poll_codes).items() if code >= 500),
        "jobs": len(job_ids),
        "jobs_ended": dict(ended),
        "clicking_seconds": clicking,
        "tracebacks_in_api_log": log.count("Traceback") + log.count('traceback="'),
    }
