"""The GoCardless sandbox for tests: one real server process per test run, reset before each test.

`SandboxControl` wraps the `/_sandbox/` control surface so that a test sets its scene in a line:
`sandbox.link(account_count=3)`, `sandbox.set_faults(error_rate=0.3)`, `sandbox.advance_clock(days=2)`, …
Everything else goes over HTTP to the official paths under `/api/v2/`, exactly as the client talks to GoCardless.
`SubprocessServer` starts, awaits and stops a server process; both sandboxes' servers are one.
"""

import os
import random
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from src.devstack.stack import sandbox_argv

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_ID = "sandbox-secret-id"
SECRET_KEY = "sandbox-secret-key"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_LISTEN_LOW = 10_000
_WORKER_SLICE = 1_500
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port for a server a test starts, free now and unlikely to be taken before the server binds it.

    A port from `bind(0)` comes out of the kernel's ephemeral range, the same range every outgoing connection
    (and every `bind(0)` of Dagster's code servers) draws its local port from: a stack that binds its port
    seconds after the pick (migrations first) lost it to one of those. So ports come from below that range, a slice
    per xdist worker so that two workers never pick the same one, never the same one twice in a process.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    low = _LISTEN_LOW + index * _WORKER_SLICE
    high = min(low + _WORKER_SLICE, _ephemeral_range()[0])
    # From a random point of the slice: two test runs on one machine do not walk the same ports in the same order.
    start = random.randrange(low, high) if high > low else low  # noqa: S311 - spreading ports, not secrets
    for port in [*range(start, high), *range(low, start)]:
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as probe:  # the slice is spent (or below the range there is no room): the old way
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_answering(
    process: "subprocess.Popen[bytes]", url: str, log_path: Path, what: str, timeout: float = 60
) -> None:
    """Wait until `url` answers 2xx; fail with the process's log when it exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s: {log_path.read_text()}")


def terminate(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def ok(response: httpx.Response) -> Any:
    """The body of a 200, read through an official path; anything else fails the test with the body it got."""
    assert response.status_code == 200, response.text
    return response.json()


class SubprocessServer:
    """A server subprocess on a loopback port (a free one unless given), its output appended to `log_path`; it
    answers `ready_path` by the time the constructor returns, and `stop()` ends it."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        *,
        port: int,
        what: str,
        ready_path: str = "/",
    ) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = log_path.open("a")
        self.process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until_answering(self.process, self.base_url + ready_path, log_path, what)

    def stop(self) -> None:
        terminate(self.process)
        self._log.close()


class SandboxServer(SubprocessServer):
    """A `finsync sandbox` subprocess on a free loopback port."""

    def __init__(self, log_path: Path, *, state_file: Path | None = None, port: int | None = None) -> None:
        port = port or free_port()
        env = {**os.environ, "SANDBOX_SECRET_ID": SECRET_ID, "SANDBOX_SECRET_KEY": SECRET_KEY}
        env.pop("SANDBOX_STATE_FILE", None)
        super().__init__(sandbox_argv(port, state_file), env, log_path, port=port, what="the sandbox")


class ControlSurface:
    """A sandbox's `/_sandbox/` controls that both sandboxes have alike: reset, the clock, the one-call link, the
    faults, the call counters."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=30)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.post(path, json=body or {})
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._post("/_sandbox/reset")

    def advance_clock(self, *, days: float = 0, seconds: float = 0) -> dict[str, Any]:
        result: dict[str, Any] = self._post("/_sandbox/clock", {"advance_days": days, "advance_seconds": seconds})
        return result

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get("/_sandbox/clock").json()
        return result

    def link(self, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._post("/_sandbox/link", options)
        return result

    def clear_faults(self) -> None:
        self._http.delete("/_sandbox/faults").raise_for_status()

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get("/_sandbox/counters").json()
        return result

    def reset_counters(self) -> None:
        self._http.delete("/_sandbox/counters").raise_for_status()

    def close(self) -> None:
        self._http.close()


class SandboxControl(ControlSurface):
    """The test's handle on the sandbox: its address, its secrets and its `/_sandbox/` controls."""

    secret_id = SECRET_ID
    secret_key = SECRET_KEY

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.api_url = f"{base_url}/api/v2"

    def set_faults(self, *, account_id: str | None = None, **faults: Any) -> None:
        """latency_ms, error_rate, error_status (500/502/503/504), burst_429, error_count (the next N calls
        fail), path_prefix (default: the account paths), methods (default: all)."""
        self._post("/_sandbox/faults", {**faults, **({"account_id": account_id} if account_id else {})})

    def link(self, **options: Any) -> dict[str, Any]:
        """A linked requisition in one call: institution_id, customer, account_count, max_historical_days,
        access_valid_for_days, access_scope, redirect, reference. Returns the requisition payload."""
        return super().link(**options)

    def approve(self, requisition_id: str, *, customer: str = "alice", account_count: int | None = None) -> Any:
        body: dict[str, Any] = {"customer": customer}
        if account_count is not None:
            body["account_count"] = account_count
        return self._post(f"/_sandbox/requisitions/{requisition_id}/approve", body)

    def deny(self, requisition_id: str) -> Any:
        return self._post(f"/_sandbox/requisitions/{requisition_id}/deny")

    def expire(self, account_id: str, kind: str = "access_expired") -> None:
        """kind: agreement (the EUA ran out), access_expired (the bank revoked it), inactive (account closed)."""
        self._post(f"/_sandbox/accounts/{account_id}/expire", {"kind": kind})

    def suspend(self, account_id: str) -> None:
        self._post(f"/_sandbox/accounts/{account_id}/suspend")

    def restore(self, account_id: str) -> None:
        self._post(f"/_sandbox/accounts/{account_id}/restore")

    def hide_transaction(self, account_id: str, transaction_id: str) -> None:
        self._post(f"/_sandbox/accounts/{account_id}/hide", {"transaction_id": transaction_id})

    def set_id_mode(self, account_id: str, mode: str) -> None:
        """stable · reissued (new ids on every fetch) · blank (no ids at all)."""
        self._post(f"/_sandbox/accounts/{account_id}/id-mode", {"mode": mode})

    def set_bank_limit(self, account_id: str, limit: int | None) -> None:
        self._post(f"/_sandbox/accounts/{account_id}/bank-limit", {"limit": limit})

    def set_limits(self, **limits: Any) -> dict[str, Any]:
        """account_daily, general={bucket: limit or [limit, window]}, access_lifetime, refresh_lifetime."""
        result: dict[str, Any] = self._post("/_sandbox/limits", limits)
        return result

    def token(self) -> str:
        """A fresh access token, for tests that call the official API directly."""
        response = self._http.post(
            "/api/v2/token/new/", json={"secret_id": self.secret_id, "secret_key": self.secret_key}
        )
        response.raise_for_status()
        return str(response.json()["access"])
