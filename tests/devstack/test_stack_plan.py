"""What `finsync dev` will start, decided before anything starts: which services, on which ports, with what env."""

from pathlib import Path

import httpx
import pytest

from src.devstack.stack import _child_environment, _ports, _services
from src.settings import Settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(finsync_data_dir=tmp_path / "data", api_port=18000, dagster_port=13001, **values)


def test_without_gocardless_credentials_the_sandbox_starts_first(tmp_path: Path) -> None:
    settings = _settings(tmp_path, sandbox_port=18765)
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    with httpx.Client() as client:
        services = _services(settings, env, client)
    assert [service.process.name for service in services] == ["sandbox", "dagster", "api"]
    assert services[0].ready_before_next
    assert _ports(settings) == {"API_PORT": 18000, "DAGSTER_PORT": 13001, "SANDBOX_PORT": 18765}
    assert "--state-file" in services[0].process.argv


def test_with_gocardless_credentials_no_sandbox_and_its_port_is_not_needed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, gocardless_secret_id="id", gocardless_secret_key="key")
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    with httpx.Client() as client:
        services = _services(settings, env, client)
    assert [service.process.name for service in services] == ["dagster", "api"]
    assert "SANDBOX_PORT" not in _ports(settings)


def test_every_child_shares_one_database_one_dagster_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_URL", raising=False)
    settings = _settings(tmp_path)
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    assert env["DATABASE_URL"] == "postgresql+psycopg://u@/finsync"
    assert env["DAGSTER_URL"] == "http://127.0.0.1:13001"  # IPv4, where dagster dev listens
    assert Path(env["DAGSTER_HOME"]).is_absolute()
    assert Path(env["FINSYNC_DATA_DIR"]).is_absolute()
    assert env["FINSYNC_DEMO_ACCOUNT"] == "true"  # the page offers the demo user this stack created


def test_the_sandbox_gets_the_credentials_finsync_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set only in `.env` (which Settings reads and the sandbox does not), the pair still reaches the sandbox."""
    monkeypatch.delenv("SANDBOX_SECRET_ID", raising=False)
    monkeypatch.delenv("SANDBOX_SECRET_KEY", raising=False)
    settings = _settings(tmp_path, sandbox_secret_id="id-from-dotenv", sandbox_secret_key="key-from-dotenv")
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    assert (env["SANDBOX_SECRET_ID"], env["SANDBOX_SECRET_KEY"]) == ("id-from-dotenv", "key-from-dotenv")
