"""Test harness.

- One PostgreSQL per test run (`tests/harness/database.py`): embedded in a temporary folder, or TEST_DATABASE_URL.
  Under pytest-xdist (`make test` runs two workers) each worker has its own; the controller starts none.
  The schema is built by the migrations, never `create_all`.
- `db_session`: for in-process tests. A connection holds an outer transaction that is rolled back at teardown;
  the Session joins it with savepoints, so code that commits (the unit of work) still leaves nothing behind.
- `api_client`: the FastAPI app in-process; each request is a unit of work on `db_session` (a savepoint that
  commits when the endpoint returns and rolls back when it raises).
- `isolated_database_url`: a fresh migrated database of its own, for tests that drive live processes (uvicorn,
  `finsync dev`, Dagster), which cannot see an uncommitted outer transaction.
- `sandbox`: the GoCardless sandbox, a real server process shared by the run and reset before each test;
  the fixture's methods drive its `/_sandbox/` controls (tests/harness/sandbox.py).
- The environment is pointed away from the developer's `.data/` and GoCardless credentials before `src` is
  imported, so tests and a running `make dev` never touch each other. Every `DAGSTER_*` variable is cleared too
  (DAGSTER_URL, DAGSTER_HOME, DAGSTER_PORT, …), and the API's Dagster is a closed loopback port (NO_DAGSTER_URL,
  also in the live API processes), not the default one where `make dev` listens: a test that wants a Dagster
  brings its own (the `dagster` fixture, a fault server, or a client of its own through `app.dependency_overrides`).
"""

import os
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# The environment is set when this file is imported, before anything imports `src.settings` (a conftest of a
# sub-folder, a test module): settings are read once, at import.
os.environ["FINSYNC_ENV"] = "development"
os.environ["FINSYNC_DATA_DIR"] = tempfile.mkdtemp(prefix="finsync-test-data-")
os.environ["PASSWORD_HASHING"] = "fast"
for _name in ("DATABASE_URL", "GOCARDLESS_SECRET_ID", "GOCARDLESS_SECRET_KEY", "GOCARDLESS_BASE_URL", "JWT_SECRET"):
    os.environ.pop(_name, None)
for _name in [name for name in os.environ if name.startswith("DAGSTER_")]:
    os.environ.pop(_name)

from src.settings import settings as _settings  # noqa: E402 - after the environment above
from tests.harness import database  # noqa: E402
from tests.harness.live import NO_DAGSTER_URL  # noqa: E402
from tests.harness.sandbox import SandboxControl, SandboxServer  # noqa: E402

# Without DAGSTER_URL the API would ask http://localhost:3001, the port `make dev` runs Dagster on.
_settings.dagster_url = NO_DAGSTER_URL

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from src.models import User
    from src.providers.gocardless.client import GoCardlessClient

_state: dict[str, database.TestDatabases] = {}


def _is_xdist_controller(config: pytest.Config) -> bool:
    """`make test` runs the suite on two pytest-xdist workers; the controller that hands out tests runs none."""
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _is_xdist_controller(config):
        return
    databases = database.prepare()
    _state["databases"] = databases
    os.environ["DATABASE_URL"] = databases.main_url

    from src.db import dispose_engine
    from src.settings import settings

    settings.database_url = databases.main_url
    dispose_engine()

    # Every TestClient starts an app; the Enable Banking start check would log its line in the background, late,
    # into whichever test captures logs then. The check itself is tested directly (tests/integrations).
    from src.integrations.enablebanking import mark_start_checked

    mark_start_checked()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), the tests that share the session's live Dagster run on one worker
    (one Dagster started, not one per worker), and those that start whole `make dev` stacks run one after another."""
    for item in items:
        if "dagster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("dagster"))
        elif item.path.parent.name == "e2e" or item.path.name == "test_dev.py":
            item.add_marker(pytest.mark.xdist_group("stack"))


def pytest_unconfigure(config: pytest.Config) -> None:
    databases = _state.pop("databases", None)
    if databases is None:
        return
    from src.db import dispose_engine

    dispose_engine()
    database.teardown(databases)


@pytest.fixture(scope="session")
def test_databases() -> database.TestDatabases:
    return _state["databases"]


@pytest.fixture
def db_session() -> Iterator["Session"]:
    from sqlalchemy.orm import Session

    from src.db import get_engine

    connection = get_engine().connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def api_client(db_session: "Session") -> Iterator["TestClient"]:
    from fastapi.testclient import TestClient

    from src.api.app import create_app
    from src.kit.dependencies import get_session

    app = create_app()

    def _unit_of_work() -> Iterator["Session"]:
        # Like the real unit of work, inside the test's outer transaction: `db_session` joins it with
        # savepoints, so commit releases one and rollback undoes only this request's writes. What the test
        # arranged before the request is committed (into the outer transaction) first.
        db_session.commit()
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _unit_of_work
    from src.kit.dependencies import get_enablebanking
    from tests.harness.enablebanking import unreachable_enablebanking_client

    unreachable = unreachable_enablebanking_client()
    app.dependency_overrides[get_enablebanking] = lambda: unreachable
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(api_client: "TestClient") -> "TestClient":
    """The name the accounts and transactions tests use for `api_client`."""
    return api_client


@pytest.fixture
def isolated_database_url(test_databases: database.TestDatabases) -> Iterator[str]:
    url = test_databases.clone()
    try:
        yield url
    finally:
        test_databases.drop(url)


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path_factory.mktemp("sandbox") / "sandbox.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox_server.base_url)
    control.reset()
    try:
        yield control
    finally:
        control.close()


@pytest.fixture
def pipeline_database(isolated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator["Engine"]:
    """Point this process's engine (assets, token store) at a fresh database of the test's own."""
    from src.db import dispose_engine, get_engine
    from src.settings import settings

    dispose_engine()
    monkeypatch.setattr(settings, "database_url", isolated_database_url)
    try:
        yield get_engine()
    finally:
        dispose_engine()


@pytest.fixture
def gocardless(sandbox: SandboxControl) -> Iterator["GoCardlessClient"]:
    """A GoCardless client talking to the sandbox, its token kept in memory (outside the test's transaction)."""
    from src.providers.gocardless.client import GoCardlessClient
    from src.providers.gocardless.tokens import InMemoryTokenStore

    with GoCardlessClient(
        base_url=sandbox.base_url,
        secret_id=sandbox.secret_id,
        secret_key=sandbox.secret_key,
        token_store=InMemoryTokenStore(),
        sleep=lambda _: None,
    ) as client:
        yield client


@pytest.fixture
def api(api_client: "TestClient", gocardless: "GoCardlessClient") -> "TestClient":
    """`api_client` whose GoCardless calls go to the sandbox."""
    from src.kit.dependencies import get_gocardless

    api_client.app.dependency_overrides[get_gocardless] = lambda: gocardless  # type: ignore[attr-defined]
    return api_client


@pytest.fixture
def user(db_session: "Session") -> "User":
    from tests.factories import create_user_with_password

    return create_user_with_password(db_session)


@pytest.fixture
def headers(user: "User") -> dict[str, str]:
    from tests.factories import auth_headers

    return auth_headers(user)


if TYPE_CHECKING:
    from tests.harness.dagster import LiveDagster


@pytest.fixture(scope="session")
def dagster(
    test_databases: database.TestDatabases, sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator["LiveDagster"]:
    """A live Dagster (webserver + daemon, deploy/dagster.dev.yaml) shared by the session, on a database of its
    own and the session's sandbox. Started on first use; under CI=true a failure to start fails, never skips."""
    from tests.harness.dagster import LiveDagster

    database_url = test_databases.clone("dagster")
    server = LiveDagster(
        tmp_path_factory.mktemp("dagster"),
        # The tests here count each connection's runs and jobs: the background sync would add its own.
        env={"DATABASE_URL": database_url, "GOCARDLESS_BASE_URL": sandbox_server.base_url, "BACKGROUND_SYNC": "false"},
    )
    try:
        server.start()
    except Exception as exc:
        server.close()
        test_databases.drop(database_url)
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"Dagster did not start: {exc}")
    try:
        yield server
    finally:
        server.close()
        test_databases.drop(database_url)


if TYPE_CHECKING:
    from tests.harness.enablebanking import EnableBankingSandboxControl, EnableBankingSandboxServer
    from tests.harness.simplefin import SimpleFinSandboxControl, SimpleFinSandboxServer


@pytest.fixture(scope="session")
def enablebanking_sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator["EnableBankingSandboxServer"]:
    """The Enable Banking sandbox, a real server process shared by the run, with a key pair made for the run
    (`server.keys.private_key_file` is the application's private key; tests/harness/enablebanking.py)."""
    from tests.harness.enablebanking import EnableBankingSandboxServer, make_key_pair

    directory = tmp_path_factory.mktemp("enablebanking")
    server = EnableBankingSandboxServer(directory / "sandbox.log", make_key_pair(directory))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def simplefin_sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator["SimpleFinSandboxServer"]:
    """The SimpleFIN sandbox, a real server process shared by the run (tests/harness/simplefin.py)."""
    from tests.harness.simplefin import SimpleFinSandboxServer

    server = SimpleFinSandboxServer(tmp_path_factory.mktemp("simplefin") / "sandbox.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def simplefin_sandbox(simplefin_sandbox_server: "SimpleFinSandboxServer") -> Iterator["SimpleFinSandboxControl"]:
    """The SimpleFIN sandbox reset for this test; its methods drive the `/_sandbox/` controls."""
    from tests.harness.simplefin import SimpleFinSandboxControl

    control = SimpleFinSandboxControl(simplefin_sandbox_server.base_url)
    control.reset()
    try:
        yield control
    finally:
        control.close()


@pytest.fixture
def enablebanking_sandbox(
    enablebanking_sandbox_server: "EnableBankingSandboxServer",
) -> Iterator["EnableBankingSandboxControl"]:
    """The Enable Banking sandbox reset for this test; its methods drive the `/_sandbox/` controls."""
    from tests.harness.enablebanking import EnableBankingSandboxControl

    control = EnableBankingSandboxControl(enablebanking_sandbox_server.base_url, enablebanking_sandbox_server.keys)
    control.reset()
    try:
        yield control
    finally:
        control.close()
