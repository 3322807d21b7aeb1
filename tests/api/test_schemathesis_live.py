"""Schemathesis, every check (`--checks all`), over every operation of a live API: it finds nothing.

The API is uvicorn over loopback on a migrated database of its own, with the sandbox server as GoCardless, and
schemathesis calls it as a registered user (the bearer token of `POST /auth/token`). It runs as a person runs it,
`schemathesis run <api>/openapi.json --checks all`, with the checkout's schemathesis.toml, a bounded number of
examples per operation and a fixed seed, so that the run stays under a minute and a failure can be replayed.
The rate limits answer part of the requests with 429: documented, with `Retry-After`, so a valid answer.
"""

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.live import LiveApi, registered_client
from tests.harness.sandbox import PROJECT_ROOT, SandboxControl

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES_PER_OPERATION = 12
SEED = 14
PASSWORD = "schemathesis passphrase"


@pytest.fixture
def live_api(tmp_path: Path, isolated_database_url: str, sandbox: SandboxControl) -> Iterator[LiveApi]:
    api = LiveApi(
        tmp_path / "api.log", env={"DATABASE_URL": isolated_database_url, "GOCARDLESS_BASE_URL": sandbox.base_url}
    )
    try:
        yield api
    finally:
        api.stop()


def test_schemathesis_finds_nothing_over_every_operation(live_api: LiveApi, tmp_path: Path) -> None:
    user = registered_client(live_api.base_url, "schemathesis", PASSWORD)
    started = time.monotonic()
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--no-color",
            "--config-file",
            str(PROJECT_ROOT / "schemathesis.toml"),
            "run",
            f"{live_api.base_url}/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: {user.headers['Authorization']}",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            str(SEED),
        ],
        cwd=tmp_path,  # nothing of the run lands in the checkout
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    took = time.monotonic() - started
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-12000:]
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert selected is not None, report[-3000:]
    assert int(selected[1]) == int(selected[2]) == int(selected[3]) >= 20, selected[0]
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert cases is not None, report[-3000:]
    assert cases[1] == cases[2], cases[0]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in report, report[-3000:]
    assert took < 120, f"schemathesis took {took:.0f} s"
