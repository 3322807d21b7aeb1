"""`finsync migrate`: migrates the configured database, and bad configuration ends in one clear line."""

import os
import subprocess
import sys
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from src.db.migrate import alembic_config

FINSYNC = [sys.executable, "-m", "src.cli"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    return subprocess.run(FINSYNC + args, env=environment, capture_output=True, text=True, timeout=120, check=False)


class TestMigrate:
    def test_migrates_the_database_named_by_database_url(self, isolated_database_url: str) -> None:
        engine = create_engine(isolated_database_url)
        try:
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE alembic_version"))
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        finally:
            engine.dispose()
        result = _run(["migrate"], DATABASE_URL=isolated_database_url)
        assert result.returncode == 0, result.stderr
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        engine = create_engine(isolated_database_url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        finally:
            engine.dispose()

    def test_without_database_url_uses_the_embedded_server_in_the_data_dir(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["FINSYNC_DATA_DIR"] = str(tmp_path / "data")
        result = subprocess.run(
            [*FINSYNC, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
        assert "newest schema" in result.stdout


class TestBadConfiguration:
    def test_malformed_database_url(self) -> None:
        result = _run(["migrate"], DATABASE_URL="mysql://root:hunter2@localhost/finsync")
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines == [lines[0]]
        assert "DATABASE_URL" in lines[0]
        assert "postgresql://" in lines[0]
        assert "Traceback" not in result.stderr
        assert "hunter2" not in result.stderr

    def test_unreachable_database_fails_fast(self) -> None:
        started = time.monotonic()
        result = _run(["migrate"], DATABASE_URL="postgresql://finsync:hunter2@127.0.0.1:1/finsync")
        elapsed = time.monotonic() - started
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("finsync: cannot reach the database at 127.0.0.1:1/finsync")
        assert "hunter2" not in result.stderr
        assert elapsed < 30


class TestSandbox:
    def test_the_enablebanking_sandbox_without_its_key_is_one_line(self, tmp_path: Path) -> None:
        environment = {
            name: value for name, value in os.environ.items() if not name.startswith("SANDBOX_ENABLEBANKING_")
        }
        result = subprocess.run(
            [*FINSYNC, "sandbox", "--provider", "enablebanking", "--port", "1"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "finsync: the Enable Banking sandbox needs SANDBOX_ENABLEBANKING_APPLICATION_ID and "
            "SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE (the application's PEM public key or certificate)"
        ]

    def test_a_key_file_that_holds_no_key_is_one_line(self, tmp_path: Path) -> None:
        (tmp_path / "key.pem").write_text("not a key")
        result = _run(
            ["sandbox", "--provider", "enablebanking", "--port", "1"],
            SANDBOX_ENABLEBANKING_APPLICATION_ID="5b1b1b0e-6c1e-4b5f-9a57-0f1a1e2b3c4d",
            SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE=str(tmp_path / "key.pem"),
        )
        assert result.returncode == 2
        assert result.stderr.strip() == f"finsync: {tmp_path / 'key.pem'} holds no PEM public key or certificate"
