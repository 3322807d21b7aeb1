"""The test run's PostgreSQL: an embedded server of its own in a temporary folder (never `.data/`), or the server
named by TEST_DATABASE_URL.

Two databases per run: a migrated *template* nobody connects to, and the main test database cloned from it.
Tests that drive live processes get a fresh clone each (`CREATE DATABASE … TEMPLATE`, tens of milliseconds),
because those processes cannot see an in-process test's uncommitted outer transaction.

This module imports nothing from `src` at import time: `src.settings` must first see the environment that
`prepare()` sets.
"""

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql


@dataclass
class TestDatabases:
    admin_url: str  # the server's maintenance database, for CREATE/DROP DATABASE
    template_name: str
    main_url: str
    embedded_dir: Path | None

    def url_for(self, name: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def clone(self, prefix: str = "iso") -> str:
        """A new database with the migrated schema; returns its URL."""
        name = f"{self.template_name.removesuffix('_tpl')}_{prefix}_{uuid.uuid4().hex[:8]}"
        with _admin(self.admin_url) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(self.template_name)
                )
            )
        return self.url_for(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with _admin(self.admin_url) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_libpq(url), autocommit=True)


def prepare() -> TestDatabases:
    """Start (or reach) the server, build the migrated template and the main test database, export the URL."""
    from src.db.embedded import start_embedded_postgres  # no settings import behind this one

    embedded_dir: Path | None = None
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url:
        from src.settings import normalise_database_url

        admin_url = normalise_database_url(server_url).render_as_string(hide_password=False)
    else:
        embedded_dir = Path(tempfile.mkdtemp(prefix="finsync-test-pg-"))
        admin_url = start_embedded_postgres(embedded_dir / "pgdata", cleanup_mode="delete")

    stem = f"finsync_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    template = f"{stem}_tpl"
    with _admin(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
    databases = TestDatabases(admin_url=admin_url, template_name=template, main_url="", embedded_dir=embedded_dir)
    template_url = databases.url_for(template)

    from src.db.migrate import upgrade_to_head

    upgrade_to_head(template_url)
    databases.main_url = databases.clone("main")
    return databases


def teardown(databases: TestDatabases) -> None:
    """Drop what this run created (an embedded server is deleted with its folder when the process exits)."""
    if databases.embedded_dir is not None:
        return
    with _admin(databases.admin_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (databases.template_name.removesuffix("_tpl") + "%",),
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name))))
