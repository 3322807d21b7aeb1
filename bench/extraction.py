"""Extraction wall time: 50 accounts behind 100 ms of sandbox latency, with the configured pool beside a pool of
one, in the same run (same sandbox, database, client and pool). Medians of a few repeats."""

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from src.db import dispose_engine, get_engine
from src.ingest import extraction
from src.integrations.gocardless import build_gocardless_client
from src.models.enums import GcScope
from src.settings import settings
from tests.harness.ingest import connect_sandbox
from tests.harness.sandbox import SandboxControl, SandboxServer


def run(url: str, *, accounts: int = 50, latency_ms: int = 100, pool: int = 8, repeats: int = 3) -> dict[str, float]:
    settings.database_url = url
    dispose_engine()
    server = SandboxServer(Path(tempfile.mkdtemp(prefix="finsync-bench-sandbox-")) / "sandbox.log")
    sandbox = SandboxControl(server.base_url)
    try:
        sandbox.reset()
        sandbox.set_limits(account_daily=10_000, general={"account_data": 100_000})
        engine = get_engine()
        connection_id = connect_sandbox(engine, sandbox, account_count=accounts)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            targets = extraction.account_targets(session, [connection_id])
        config = settings.model_copy(update={"gocardless_base_url": server.base_url})
        client = build_gocardless_client(config, engine, max_connections=pool * 2)
        client.tokens.access_token()  # the token is not what is measured
        sandbox.set_faults(latency_ms=latency_ms)
        timings: dict[int, list[float]] = {pool: [], 1: []}
        for _ in range(repeats):
            for size in (pool, 1):
                started = time.perf_counter()
                extraction.extract_scope(factory, client, targets, GcScope.balances, concurrency=size)
                timings[size].append(time.perf_counter() - started)
        max_in_flight = sandbox.counters()["max_in_flight"]
        client.close()
    finally:
        sandbox.close()
        server.stop()
        dispose_engine()
    pooled, serial = statistics.median(timings[pool]), statistics.median(timings[1])
    return {
        "accounts": float(accounts),
        "pool": float(pool),
        "pooled_seconds": pooled,
        "serial_seconds": serial,
        "speedup": serial / pooled,
        "max_in_flight": float(max_in_flight),
    }
