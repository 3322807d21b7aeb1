"""A throwaway PostgreSQL for a benchmark run: embedded in a temporary folder (or BENCH_DATABASE_URL's server),
migrated to head, with the same pool the application uses."""

import os
import tempfile
import uuid
from pathlib import Path

from src.db.embedded import create_database_if_missing, start_embedded_postgres
from src.db.migrate import upgrade_to_head


def fresh_database() -> str:
    server = os.environ.get("BENCH_DATABASE_URL")
    if server:
        from src.settings import normalise_database_url

        admin = normalise_database_url(server).render_as_string(hide_password=False)
    else:
        admin = start_embedded_postgres(
            Path(tempfile.mkdtemp(prefix="finsync-bench-")) / "pgdata", cleanup_mode="delete"
        )
    url = create_database_if_missing(admin, f"finsync_bench_{uuid.uuid4().hex[:8]}")
    upgrade_to_head(url)
    return url
