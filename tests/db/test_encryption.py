"""FINSYNC_SECRET_KEY: required in production, generated once in development, a list for rotation; the box that
uses it; and `finsync secrets` (a new key without any configuration, re-encryption after a rotation).

Settings are built directly (no `.env`); the CLI runs in a subprocess where the point is that nothing else is
configured, and in-process otherwise (its database is a fresh one of the test's own, `isolated_database_url`).
"""

import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from src.db.encryption import SEALED_PREFIX, SecretBox, UndecryptableSecretError
from src.settings import Settings, describe_validation_error


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def new_key() -> str:
    return Fernet.generate_key().decode()


PRODUCTION = {"finsync_env": "production", "jwt_secret": "j" * 48, "password_hashing": "standard"}


class TestSettings:
    def test_production_without_a_key_is_refused_in_one_line(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("FINSYNC_SECRET_KEY", raising=False)
        with pytest.raises(ValidationError) as caught:
            _settings(**PRODUCTION)
        message = describe_validation_error(caught.value)
        assert "FINSYNC_SECRET_KEY is required when FINSYNC_ENV=production" in message
        assert "\n" not in message

    def test_production_with_a_key_starts(self) -> None:
        key = new_key()
        assert _settings(**PRODUCTION, finsync_secret_key=key).get_secret_keys() == [key]

    def test_a_blank_key_counts_as_none(self) -> None:
        with pytest.raises(ValidationError, match="FINSYNC_SECRET_KEY is required"):
            _settings(**PRODUCTION, finsync_secret_key="  ")

    def test_a_malformed_key_is_refused_without_repeating_it(self) -> None:
        with pytest.raises(ValidationError) as caught:
            _settings(finsync_secret_key=f"{new_key()},not-a-key-hunter2")
        assert "hunter2" not in describe_validation_error(caught.value)
        assert "FINSYNC_SECRET_KEY" in describe_validation_error(caught.value)

    def test_a_list_is_read_in_order_the_first_writes(self) -> None:
        first, second = new_key(), new_key()
        assert _settings(finsync_secret_key=f" {first}, {second} ").get_secret_keys() == [first, second]

    def test_development_generates_one_key_into_the_data_dir_and_keeps_it(self, tmp_path: Path) -> None:
        keys = _settings(finsync_data_dir=tmp_path).get_secret_keys()
        assert len(keys) == 1
        SecretBox(keys)  # a valid Fernet key
        path = tmp_path / "secret_key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert _settings(finsync_data_dir=tmp_path).get_secret_keys() == keys
        assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left

    def test_processes_starting_together_agree_on_one_key(self, tmp_path: Path) -> None:
        found: list[list[str]] = []
        barrier = threading.Barrier(8)

        def start() -> None:
            settings = _settings(finsync_data_dir=tmp_path)
            barrier.wait()
            found.append(settings.get_secret_keys())

        threads = [threading.Thread(target=start) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(found) == 8
        assert len({key for keys in found for key in keys}) == 1


class TestSecretBox:
    def test_seal_and_open(self) -> None:
        box = SecretBox([new_key()])
        stored = box.seal("a secret")
        assert stored.startswith(SEALED_PREFIX)
        assert "a secret" not in stored
        opened = box.open(stored)
        assert (opened.value, opened.current) == ("a secret", True)
        assert "a secret" not in repr(opened)

    def test_older_keys_read_and_only_the_first_writes(self) -> None:
        old, new = new_key(), new_key()
        stored_under_old = SecretBox([old]).seal("kept")
        rotated = SecretBox([new, old])
        assert rotated.open(stored_under_old).value == "kept"
        assert not rotated.open(stored_under_old).current
        assert SecretBox([new]).open(rotated.seal("kept")).value == "kept"

    def test_a_value_no_key_opens_is_an_error_without_the_value(self) -> None:
        stored = SecretBox([new_key()]).seal("lost")
        with pytest.raises(UndecryptableSecretError) as caught:
            SecretBox([new_key()]).open(stored)
        assert stored.removeprefix(SEALED_PREFIX) not in str(caught.value)

    def test_a_changed_value_is_refused(self) -> None:
        box = SecretBox([new_key()])
        stored = box.seal("a secret")
        tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
        with pytest.raises(UndecryptableSecretError):
            box.open(tampered)

    def test_plaintext_from_before_encryption_is_read_as_not_current(self) -> None:
        opened = SecretBox([new_key()]).open("eyJhbGciOi.plain.token")
        assert (opened.value, opened.current) == ("eyJhbGciOi.plain.token", False)


class TestCommands:
    def test_new_key_needs_no_configuration_even_in_production(self, tmp_path: Path) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"FINSYNC_SECRET_KEY", "JWT_SECRET", "DATABASE_URL"}
        }
        env["FINSYNC_ENV"] = "production"
        result = subprocess.run(
            [sys.executable, "-m", "src.cli", "secrets", "new-key"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        key = result.stdout.strip()
        assert _settings(**PRODUCTION, finsync_secret_key=key).get_secret_keys() == [key]

    def test_reencrypt_moves_stored_tokens_to_the_first_key(
        self,
        isolated_database_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        from pydantic import SecretStr

        from src.cli import main
        from src.db.engine import build_engine
        from src.integrations.gocardless import DatabaseTokenStore
        from src.providers.gocardless.tokens import TokenPair
        from src.settings import settings

        old, new = new_key(), new_key()
        pair = TokenPair(
            access="access-in-clear",
            access_expires_at=datetime.now(UTC) + timedelta(hours=1),
            refresh="refresh-in-clear",
            refresh_expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        engine = build_engine(isolated_database_url, pool_size=1, max_overflow=0)
        try:
            DatabaseTokenStore(engine, "a" * 64, SecretBox([old])).save(pair)
            monkeypatch.setenv("DATABASE_URL", isolated_database_url)  # the command exports it; restored after
            monkeypatch.setattr(settings, "database_url", isolated_database_url)
            monkeypatch.setattr(settings, "finsync_secret_key", SecretStr(f"{new},{old}"))

            assert main(["secrets", "reencrypt"]) == 0
            assert "1 re-encrypted with the first key, 0 already were" in capsys.readouterr().out
            assert DatabaseTokenStore(engine, "a" * 64, SecretBox([new])).load() == pair

            assert main(["secrets", "reencrypt"]) == 0
            assert "0 re-encrypted with the first key, 1 already were" in capsys.readouterr().out
        finally:
            engine.dispose()
