"""The SimpleFIN sandbox for tests: a real `finsync sandbox --provider simplefin` process on a loopback port, and a
handle on its `/_sandbox/` controls."""

import base64
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from src.devstack.stack import sandbox_argv
from tests.harness.sandbox import ControlSurface, SubprocessServer, free_port


class SimpleFinSandboxServer(SubprocessServer):
    """A `finsync sandbox --provider simplefin` subprocess on a free loopback port."""

    def __init__(self, log_path: Path, *, state_file: Path | None = None, port: int | None = None) -> None:
        port = port or free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("SANDBOX_SIMPLEFIN_")}
        argv = sandbox_argv(port, state_file, provider="simplefin")
        super().__init__(argv, env, log_path, port=port, what="the SimpleFIN sandbox")


class SimpleFinSandboxControl(ControlSurface):
    """The test's handle on the SimpleFIN sandbox's controls, and the protocol's calls a client would make."""

    def setup_token(self, customer: str = "jordan") -> str:
        """A new single-use setup token (Base64 of the claim URL) for a test customer; `demo`: the demo token."""
        token: str = self._post("/_sandbox/tokens", {"customer": customer})["token"]
        return token

    def claim(self, token: str) -> str:
        """The Access URL a setup token gives (asserting the claim succeeded)."""
        response = httpx.post(base64.b64decode(token).decode(), timeout=10)
        response.raise_for_status()
        return response.text

    def set_access(self, access_url: str, **flags: bool) -> dict[str, Any]:
        """revoked, payment_required for an Access URL."""
        result: dict[str, Any] = self._post(f"/_sandbox/access/{urlsplit(access_url).username}", flags)
        return result

    def report_problem(self, code: str, **ids: str) -> None:
        self._post("/_sandbox/problems", {"code": code, **ids})

    def settings(self, **values: Any) -> dict[str, Any]:
        """versions (["1.0"] or ["1.0", "2.0"]), warn_after, block_after."""
        result: dict[str, Any] = self._post("/_sandbox/settings", values)
        return result

    def set_faults(self, **faults: Any) -> None:
        """error_status (500/502/503/504), error_count, error_rate, latency_ms, path_prefix."""
        self._post("/_sandbox/faults", faults)


def read_accounts(access_url: str, **params: Any) -> httpx.Response:
    """`GET {access_url}/accounts` as a client does: the Access URL's credentials as HTTP Basic auth."""
    parts = urlsplit(access_url)
    root = f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}"
    return httpx.get(f"{root}/accounts", params=params, auth=(parts.username or "", parts.password or ""), timeout=30)
