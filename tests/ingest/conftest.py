"""Fixtures for the tests of `src/ingest`: each test has a database of its own (`pipeline_database`, because the
extraction and the derivations commit one unit of work per step and per account, as the assets do) and the
sandbox over HTTP; `ingest` extracts and derives a connection on both without Dagster (tests/harness/ingest.py)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.harness.ingest import Ingest, ingest_into
from tests.harness.sandbox import SandboxControl


@pytest.fixture
def ingest(pipeline_database: Engine, sandbox: SandboxControl) -> Iterator[Ingest]:
    with ingest_into(pipeline_database, sandbox) as handle:
        yield handle
