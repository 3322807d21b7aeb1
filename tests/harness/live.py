"""A live API process (uvicorn on a free loopback port) for tests that go over real HTTP, as a browser would."""

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from src.devstack.stack import api_argv
from tests.harness.sandbox import PROJECT_ROOT, free_port, terminate, wait_until_answering

SANDBOX_INSTITUTION = "SANDBOXFINANCE_SFIN0000"
NO_DAGSTER_URL = "http://127.0.0.1:1"  # a closed loopback port: an API given no Dagster of the test's reaches none
UNFINISHED = ("pending", "running")


class LiveApi:
    def __init__(self, log_path: Path, *, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        environment = {**os.environ, "API_PORT": str(self.port), "DAGSTER_URL": NO_DAGSTER_URL, **env}
        self.process = subprocess.Popen(
            api_argv(self.port),
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until_answering(self.process, f"{self.base_url}/health", log_path, "the API")

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        terminate(self.process)
        self._log.close()


def registered_client(api_url: str, email_prefix: str, password: str) -> httpx.Client:
    """A new user of the live API (unique e-mail), signed in: its client carries the access token."""
    client = httpx.Client(base_url=api_url, timeout=30)
    email = f"{email_prefix}-{time.monotonic_ns()}@example.com"
    client.post("/auth/register", json={"email": email, "password": password}).raise_for_status()
    return sign_in(client, email, password)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Client:
    """Sign `client` in through the OAuth2 password flow: its requests carry the access token from now on."""
    response = client.post("/auth/token", data={"username": email, "password": password})
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client


def connect_sandbox_bank(api: httpx.Client, customer: str = "alice") -> tuple[str, str]:
    """Connect the sandbox's test bank as a person would, minus the browser: create the connection, approve as
    `customer` on the consent page (its form, posted), follow the bank's redirect to the callback. Answers the
    connection's id and the id of the first sync job the callback started."""
    link = api.post("/api/connections", json={"institution_id": SANDBOX_INSTITUTION}).json()["link"]
    consent = httpx.post(link, data={"action": "approve", "customer": customer}, timeout=30)
    callback = api.get(consent.headers["location"], follow_redirects=False)
    outcome = parse_qs(urlsplit(callback.headers["location"]).query)
    if outcome.get("status") != ["active"]:
        raise RuntimeError(f"the sandbox connection did not become active: {outcome}")
    return outcome["connection_id"][0], outcome["job_id"][0]


def wait_for_job(
    api: httpx.Client,
    job_id: str,
    until: Callable[[dict[str, Any]], bool] = lambda job: job["status"] not in UNFINISHED,
    *,
    timeout: float = 120,
    every: float = 0.2,
) -> dict[str, Any]:
    """Poll `GET /api/jobs/{id}` until `until(job)` holds (by default: the job has ended); the job as last read."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        response = api.get(f"/api/jobs/{job_id}")
        response.raise_for_status()
        job: dict[str, Any] = response.json()
        seen.append(job["status"])
        if until(job):
            return job
        time.sleep(every)
    raise TimeoutError(f"job {job_id} did not get there within {timeout:.0f} s (last statuses: {seen[-5:]})")
