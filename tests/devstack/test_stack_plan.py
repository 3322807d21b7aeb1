"""What `finsync dev` will start, decided before anything starts: which services, on which ports, with what env."""

from pathlib import Path

import httpx
import pytest

from src.devstack.ports import dev_ports
from src.devstack.stack import _child_environment, _services, mail_directory
from src.settings import Settings, ensure_enablebanking_sandbox_keys


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(finsync_data_dir=tmp_path / "data", api_port=18000, dagster_port=13001, **values)


def test_without_credentials_both_sandboxes_start_first(tmp_path: Path) -> None:
    settings = _settings(tmp_path, sandbox_port=18765, enablebanking_sandbox_port=18766)
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    with httpx.Client() as client:
        services = _services(settings, env, client)
    assert [service.process.name for service in services] == ["sandbox", "enablebanking-sandbox", "dagster", "api"]
    assert services[0].ready_before_next
    assert services[1].ready_before_next
    assert dev_ports(settings) == {
        "API_PORT": 18000,
        "DAGSTER_PORT": 13001,
        "SANDBOX_PORT": 18765,
        "ENABLEBANKING_SANDBOX_PORT": 18766,
        "MAILBOX_PORT": 8025,
    }
    assert "--state-file" in services[0].process.argv
    argv = services[1].process.argv
    assert argv[argv.index("--provider") + 1] == "enablebanking"
    assert argv[argv.index("--port") + 1] == "18766"
    assert Path(argv[argv.index("--state-file") + 1]).is_relative_to(settings.finsync_data_dir.resolve())
    assert services[1].url == "http://127.0.0.1:18766"


def test_with_enablebanking_credentials_no_enablebanking_sandbox(tmp_path: Path) -> None:
    from tests.harness.enablebanking import make_key_pair

    keys = make_key_pair(tmp_path)
    settings = _settings(
        tmp_path, enablebanking_application_id="app-id", enablebanking_private_key_file=keys.private_key_file
    )
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    with httpx.Client() as client:
        services = _services(settings, env, client)
    assert [service.process.name for service in services] == ["sandbox", "dagster", "api"]
    assert "ENABLEBANKING_SANDBOX_PORT" not in dev_ports(settings)


def test_with_gocardless_credentials_no_sandbox_and_its_port_is_not_needed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, gocardless_secret_id="id", gocardless_secret_key="key")
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    with httpx.Client() as client:
        services = _services(settings, env, client)
    assert [service.process.name for service in services] == ["enablebanking-sandbox", "dagster", "api"]
    assert "SANDBOX_PORT" not in dev_ports(settings)


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


def test_the_enablebanking_sandbox_and_the_children_share_one_key_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox reads its public key and application id from its environment; the children (with another working
    directory) find the private half through theirs: the same pair, by absolute paths."""
    for name in ("SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE", "SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANDBOX_ENABLEBANKING_STATE_FILE", "/elsewhere/state.json")
    monkeypatch.chdir(tmp_path)
    settings = Settings(finsync_data_dir=Path("relative-data"), sandbox_enablebanking_application_id="app-from-dotenv")
    private_path, public_path = (path.resolve() for path in ensure_enablebanking_sandbox_keys(settings))
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    assert env["SANDBOX_ENABLEBANKING_APPLICATION_ID"] == "app-from-dotenv"
    assert env["SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE"] == str(
        tmp_path / "relative-data/enablebanking/sandbox-public.pem"
    )
    assert env["SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE"] == str(private_path)
    assert "SANDBOX_ENABLEBANKING_STATE_FILE" not in env
    monkeypatch.chdir("/")
    child = Settings(**{"finsync_data_dir": env["FINSYNC_DATA_DIR"]}, **_sandbox_key_values(env))
    assert child.enablebanking_sandbox_key_files == (private_path, public_path)


def _sandbox_key_values(env: dict[str, str]) -> dict[str, str]:
    return {
        "sandbox_enablebanking_public_key_file": env["SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE"],
        "sandbox_enablebanking_private_key_file": env["SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE"],
    }


def test_without_a_mail_server_the_children_send_to_the_local_one(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mailbox_port=18025)
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    assert (env["SMTP_HOST"], env["SMTP_PORT"], env["SMTP_TLS"]) == ("127.0.0.1", "18025", "none")
    assert dev_ports(settings)["MAILBOX_PORT"] == 18025
    assert mail_directory(settings) == settings.finsync_data_dir.resolve() / "mail"
    child = Settings(**{"smtp_host": env["SMTP_HOST"], "smtp_port": env["SMTP_PORT"], "smtp_tls": env["SMTP_TLS"]})
    assert (child.smtp_host, child.smtp_port, child.smtp_tls) == ("127.0.0.1", 18025, "none")


def test_a_mail_server_of_the_persons_own_is_kept_and_no_local_one_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("SMTP_PORT", "465")
    settings = _settings(tmp_path)
    assert settings.smtp_host == "mail.example.com"
    env = _child_environment(settings, "postgresql+psycopg://u@/finsync", settings.finsync_data_dir.resolve())
    assert (env["SMTP_HOST"], env["SMTP_PORT"]) == ("mail.example.com", "465")
    assert "SMTP_TLS" not in env
    assert "MAILBOX_PORT" not in dev_ports(settings)
