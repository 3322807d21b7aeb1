"""Dagster for the dev stack and the test harness: the instance's home, and when it counts as ready.

Both `finsync dev` and the live-Dagster test harness use these, so the tests exercise the instance a developer runs.
"""

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from src.db.migrate import PROJECT_ROOT

LOCATION_NAME = "finsync"
DEV_INSTANCE_FILE = PROJECT_ROOT / "deploy" / "dagster.dev.yaml"

READY_QUERY = """
query FinsyncReady {
  repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } } } }
  instance { daemonHealth { daemonStatus(daemonType: "QUEUED_RUN_COORDINATOR") { healthy } } }
}
"""


def prepare_home(home: Path, env: Mapping[str, str]) -> None:
    """Make `home` a Dagster instance: deploy/dagster.dev.yaml as its dagster.yaml (copied on every start, so an
    edit to the file takes effect), and its SQLite storage created once, before any Dagster process starts.

    Started together on an empty home, the webserver and the daemon both stamp the storage's schema version and
    then refuse to load ("more than one head"); creating it first avoids that race."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEV_INSTANCE_FILE, home / "dagster.yaml")
    subprocess.run(
        [sys.executable, "-c", "import dagster; dagster.DagsterInstance.get().dispose()"],
        env={**env, "DAGSTER_HOME": str(home.resolve())},
        cwd=str(PROJECT_ROOT),
        check=True,
        capture_output=True,
        timeout=120,
    )


LIVENESS_QUERY = """
query FinsyncAlive {
  instance { daemonHealth { daemonStatus(daemonType: "QUEUED_RUN_COORDINATOR") { healthy } } }
}
"""


def liveness(client: httpx.Client, url: str) -> str | None:
    """None while the webserver answers GraphQL and Dagster calls the run queue's daemon healthy. Unlike
    readiness, a code location that fails to load (a syntax error being fixed) is not a dead Dagster."""
    try:
        response = client.post(f"{url}/graphql", json={"query": LIVENESS_QUERY}, timeout=5)
        response.raise_for_status()
        healthy = bool(response.json()["data"]["instance"]["daemonHealth"]["daemonStatus"]["healthy"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        return f"no answer ({type(exc).__name__})"
    return None if healthy else "the run queue's daemon is unhealthy"


def readiness(client: httpx.Client, url: str) -> str | None:
    """None when Dagster at `url` has loaded the finsync location and its run queue is served by a healthy daemon;
    otherwise what is still missing, for a progress or failure message."""
    try:
        response = client.post(f"{url}/graphql", json={"query": READY_QUERY}, timeout=5)
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        nodes = data["repositoriesOrError"].get("nodes") or []
        loaded = any(node["location"]["name"] == LOCATION_NAME for node in nodes)
        healthy = bool(data["instance"]["daemonHealth"]["daemonStatus"]["healthy"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        return f"no answer yet ({type(exc).__name__})"
    if loaded and healthy:
        return None
    return f"location loaded: {loaded}, queue daemon healthy: {healthy}"
