"""A test never reaches a Dagster it did not start. A shell running `make dev` (or a developer's `.env` habits) can
carry DAGSTER_URL, DAGSTER_HOME, DAGSTER_PORT…: tests/conftest.py clears every `DAGSTER_*` variable before settings
are read, and points the API's Dagster client at a closed loopback port instead of the default one, where
`make dev` runs Dagster. Tests that want a Dagster bring their own (the `dagster` fixture, a fault server, an
override of `get_dagster_client`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from src.settings import settings
from tests.harness.live import NO_DAGSTER_URL
from tests.harness.sandbox import PROJECT_ROOT

# What the test set-up leaves, seen from a process that had an outer Dagster in its environment.
_PROBE = """
import json, os
import tests.conftest
from src.providers.dagster.client import get_dagster_client
from src.settings import settings
print(json.dumps({
    "variables": sorted(name for name in os.environ if name.startswith("DAGSTER_")),
    "dagster_url": settings.dagster_url,
    "dagster_port": settings.dagster_port,
    "location": settings.dagster_location_name,
    "client": get_dagster_client().url,
}))
"""


def test_this_test_process_has_no_dagster_variable_and_no_dagster() -> None:
    assert [name for name in os.environ if name.startswith("DAGSTER_")] == []
    assert settings.dagster_url == NO_DAGSTER_URL


def test_an_outer_dagster_in_the_environment_is_not_what_tests_reach(tmp_path: Path) -> None:
    outer = {
        **os.environ,
        "DAGSTER_URL": "http://127.0.0.1:3001",
        "DAGSTER_PORT": "3101",
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "DAGSTER_LOCATION_NAME": "outer",
    }
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=PROJECT_ROOT, env=outer, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["variables"] == []
    assert (seen["dagster_url"], seen["dagster_port"], seen["location"]) == (NO_DAGSTER_URL, 3001, None)
    assert seen["client"] == f"{NO_DAGSTER_URL}/graphql"  # the client every endpoint gets (DagsterDep)
