"""A live API (uvicorn over loopback) on a migrated database of the test's own, for what only a real server shows:
raw sockets, the access log, memory under large bodies, a real browser."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.live import LiveApi


@pytest.fixture
def live_api(tmp_path: Path, isolated_database_url: str) -> Iterator[LiveApi]:
    api = LiveApi(tmp_path / "api.log", env={"DATABASE_URL": isolated_database_url})
    try:
        yield api
    finally:
        api.stop()
