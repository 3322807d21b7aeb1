"""The GoCardless token pair at rest: encrypted in `gc_tokens`, still shared by every client, readable across a key
rotation, and plaintext rows from before encryption read and then encrypted.

Fixtures: `engine` is a fresh migrated database of the test's own (`isolated_database_url`), because the store
commits on connections of its own; `sandbox` is the GoCardless sandbox server over HTTP, whose counters say how many
`token/new` calls really reached it. Keys are made per test, never the run's generated one.
"""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from src.db.encryption import SEALED_PREFIX, SecretBox
from src.db.engine import build_engine
from src.integrations.gocardless import DatabaseTokenStore, reseal_token_pairs, token_key
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.tokens import TokenPair
from tests.harness.sandbox import SandboxControl

TOKEN_NEW = "POST /api/v2/token/new/"


@pytest.fixture
def engine(isolated_database_url: str) -> Iterator[Engine]:
    engine = build_engine(isolated_database_url, pool_size=2, max_overflow=2)
    try:
        yield engine
    finally:
        engine.dispose()


def new_key() -> str:
    return Fernet.generate_key().decode()


def client_with(sandbox: SandboxControl, store: DatabaseTokenStore) -> GoCardlessClient:
    return GoCardlessClient(
        base_url=sandbox.base_url,
        secret_id=sandbox.secret_id,
        secret_key=sandbox.secret_key,
        token_store=store,
        sleep=lambda _: None,
    )


def store_for(engine: Engine, sandbox: SandboxControl, *keys: str) -> DatabaseTokenStore:
    return DatabaseTokenStore(engine, token_key(sandbox.secret_id, sandbox.base_url), SecretBox(list(keys)))


def stored_row(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM gc_tokens")).mappings().all()
    assert len(rows) == 1
    return dict(rows[0])


def token_new_calls(sandbox: SandboxControl) -> int:
    return int(sandbox.counters()["endpoints"].get(TOKEN_NEW, 0))


A_PAIR = TokenPair(
    access="access-token-in-clear-0123456789",
    access_expires_at=datetime.now(UTC) + timedelta(hours=20),
    refresh="refresh-token-in-clear-0123456789",
    refresh_expires_at=datetime.now(UTC) + timedelta(days=20),
)


class TestAtRest:
    def test_the_database_row_holds_no_token_in_clear(self, engine: Engine, sandbox: SandboxControl) -> None:
        store = store_for(engine, sandbox, new_key())
        with client_with(sandbox, store) as client:
            assert client.list_institutions("GB")
        pair = store.load()
        assert pair is not None
        assert len(pair.access) > 20
        assert len(pair.refresh) > 20
        row = stored_row(engine)
        dumped = repr(row)
        assert pair.access not in dumped
        assert pair.refresh not in dumped
        # Not merely transformed: no long piece of either token survives (a JWT's header and payload included).
        for token in (pair.access, pair.refresh):
            for part in token.split("."):
                assert len(part) < 8 or part not in dumped
        assert row["access_token"].startswith(SEALED_PREFIX)
        assert row["refresh_token"].startswith(SEALED_PREFIX)

    def test_a_second_client_reuses_the_stored_pair_against_the_sandbox(
        self, engine: Engine, sandbox: SandboxControl
    ) -> None:
        key = new_key()
        with client_with(sandbox, store_for(engine, sandbox, key)) as first:
            first.list_institutions("GB")
        with client_with(sandbox, store_for(engine, sandbox, key)) as second:
            assert second.get_institution("SANDBOXFINANCE_SFIN0000").id == "SANDBOXFINANCE_SFIN0000"
        assert token_new_calls(sandbox) == 1

    def test_the_same_token_is_stored_differently_each_time(self, engine: Engine, sandbox: SandboxControl) -> None:
        store = store_for(engine, sandbox, new_key())
        store.save(A_PAIR)
        first = stored_row(engine)["access_token"]
        store.save(A_PAIR)
        assert stored_row(engine)["access_token"] != first  # a fresh IV: equal tokens do not show as equal


class TestRotation:
    def test_rows_under_an_older_key_are_read_and_moved_to_the_first_key(
        self, engine: Engine, sandbox: SandboxControl
    ) -> None:
        old, new = new_key(), new_key()
        store_for(engine, sandbox, old).save(A_PAIR)

        loaded = store_for(engine, sandbox, new, old).load()

        assert loaded == A_PAIR
        row = stored_row(engine)
        only_new = SecretBox([new])
        assert only_new.open(row["access_token"]).value == A_PAIR.access
        assert only_new.open(row["refresh_token"]).value == A_PAIR.refresh

    def test_reseal_moves_every_row_to_the_first_key(self, engine: Engine, sandbox: SandboxControl) -> None:
        old, new = new_key(), new_key()
        store_for(engine, sandbox, old).save(A_PAIR)
        DatabaseTokenStore(engine, token_key("other-id", sandbox.base_url), SecretBox([new])).save(A_PAIR)

        report = reseal_token_pairs(engine, SecretBox([new, old]))

        assert (report.resealed, report.current, report.unreadable) == (1, 1, 0)
        assert store_for(engine, sandbox, new).load() == A_PAIR
        assert reseal_token_pairs(engine, SecretBox([new])).resealed == 0

    def test_a_row_no_key_opens_is_replaced_by_a_new_pair(
        self, engine: Engine, sandbox: SandboxControl, caplog: pytest.LogCaptureFixture
    ) -> None:
        forgotten = new_key()
        with client_with(sandbox, store_for(engine, sandbox, forgotten)) as first:
            first.list_institutions("GB")
        stale = stored_row(engine)["access_token"]
        current = new_key()
        with caplog.at_level(logging.WARNING), client_with(sandbox, store_for(engine, sandbox, current)) as second:
            assert second.list_institutions("GB")
        assert token_new_calls(sandbox) == 2
        assert "cannot be decrypted" in caplog.text
        assert stale not in caplog.text
        assert SecretBox([current]).open(stored_row(engine)["access_token"]).current


class TestPlaintextFromBeforeEncryption:
    def test_a_plaintext_row_is_read_then_stored_encrypted(self, engine: Engine, sandbox: SandboxControl) -> None:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO gc_tokens (key, access_token, access_expires_at, refresh_token, refresh_expires_at) "
                    "VALUES (:key, :access, :access_at, :refresh, :refresh_at)"
                ),
                {
                    "key": token_key(sandbox.secret_id, sandbox.base_url),
                    "access": A_PAIR.access,
                    "access_at": A_PAIR.access_expires_at,
                    "refresh": A_PAIR.refresh,
                    "refresh_at": A_PAIR.refresh_expires_at,
                },
            )
        key = new_key()

        assert store_for(engine, sandbox, key).load() == A_PAIR

        row = stored_row(engine)
        assert A_PAIR.access not in repr(row)
        assert A_PAIR.refresh not in repr(row)
        assert SecretBox([key]).open(row["refresh_token"]).value == A_PAIR.refresh
