"""Settings: defaults derived as docs/ARCHITECTURE.md says, bad values refused with a sentence naming the variable."""

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from src.settings import (
    OFFICIAL_ENABLEBANKING_BASE_URL,
    OFFICIAL_GOCARDLESS_BASE_URL,
    SANDBOX_ENABLEBANKING_APPLICATION_ID,
    Settings,
    describe_validation_error,
    ensure_enablebanking_sandbox_keys,
)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class TestDefaults:
    def test_without_credentials_gocardless_is_the_sandbox(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("GOCARDLESS_BASE_URL", raising=False)
        settings = _settings(sandbox_port=9999)
        assert settings.uses_sandbox
        assert settings.gocardless_base_url == "http://127.0.0.1:9999"

    def test_with_credentials_gocardless_is_the_real_one(self) -> None:
        settings = _settings(gocardless_secret_id="id", gocardless_secret_key="key")
        assert not settings.uses_sandbox
        assert settings.gocardless_base_url == OFFICIAL_GOCARDLESS_BASE_URL

    def test_urls_follow_the_ports(self) -> None:
        settings = _settings(api_port=8100, dagster_port=3101)
        assert settings.dagster_url == "http://localhost:3101"
        assert settings.public_base_url == "http://127.0.0.1:8100"
        assert settings.frontend_url == "http://127.0.0.1:8100/"

    def test_documented_defaults(self) -> None:
        settings = _settings()
        assert (settings.api_port, settings.dagster_port, settings.sandbox_port) == (8000, 3001, 8765)
        assert settings.gocardless_countries == ["GB"]
        assert (settings.sync_overlap_days, settings.extract_concurrency) == (10, 8)
        assert (settings.expiring_soon_days, settings.job_launch_window_minutes) == (14, 10)

    def test_countries_from_a_comma_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GOCARDLESS_COUNTRIES", "gb, de,FR")
        assert _settings().gocardless_countries == ["GB", "DE", "FR"]

    def test_database_url_is_pointed_at_psycopg(self) -> None:
        settings = _settings(database_url="postgres://u:p@db.internal:5433/finsync")
        assert settings.database_url == "postgresql+psycopg://u:p@db.internal:5433/finsync"


class TestRefused:
    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            ({"database_url": "mysql://u:p@h/db"}, "DATABASE_URL: must be a postgresql:// URL"),
            ({"database_url": "postgresql://u:p@h"}, "DATABASE_URL: names no database"),
            ({"database_url": "not a url"}, "DATABASE_URL: not a URL"),
            ({"api_port": 70000}, "API_PORT"),
            ({"gocardless_secret_id": "only-the-id"}, "GOCARDLESS_SECRET_KEY"),
            ({"finsync_env": "production"}, "JWT_SECRET is required"),
            ({"gocardless_countries": ["GBR"]}, "not an ISO 3166"),
            (
                {"finsync_env": "production", "jwt_secret": "s" * 32, "finsync_demo_account": True},
                "FINSYNC_DEMO_ACCOUNT is for `finsync dev` only",
            ),
        ],
    )
    def test_bad_values_get_one_clear_line(self, values: dict[str, object], expected: str) -> None:
        with pytest.raises(ValidationError) as caught:
            _settings(**values)
        message = describe_validation_error(caught.value)
        assert expected in message
        assert "\n" not in message

    def test_the_password_of_a_bad_url_is_not_repeated(self) -> None:
        with pytest.raises(ValidationError) as caught:
            _settings(database_url="mysql://u:hunter2@h/db")
        assert "hunter2" not in describe_validation_error(caught.value)


class TestJwtSecret:
    def test_development_generates_one_secret_and_keeps_it(self, tmp_path: object) -> None:
        settings = _settings(finsync_data_dir=tmp_path)
        first = settings.get_jwt_secret()
        assert len(first) >= 32
        assert _settings(finsync_data_dir=tmp_path).get_jwt_secret() == first


class TestOnlySettingsReadsTheEnvironment:
    """Configuration is read in one place: a module that reads `os.environ` itself bypasses validation and `.env`.

    Allowed, each for its reason: the sandbox (a stand-in for the providers, it reads its own variables and imports
    nothing from the rest of src/), the dev supervisor (it copies the environment into its children's), and the
    embedded database (it *writes* DATABASE_URL for the processes it starts)."""

    ALLOWED = {
        "src/settings.py",
        "src/devstack/stack.py",
        "src/devstack/processes.py",
        "src/db/embedded.py",
    }

    @staticmethod
    def _reads(path: Path) -> list[str]:
        found = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
                found.append(f"{path}:{node.lineno} os.{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                found += [f"{path}:{node.lineno} from os import {a.name}" for a in node.names if "env" in a.name]
        return found

    def test_nothing_outside_settings_reads_the_environment(self) -> None:
        sources = [p for p in Path("src").rglob("*.py") if not p.is_relative_to("src/sandbox")]
        assert len(sources) > 50  # the scan saw the code base, not an empty folder
        reads = [read for path in sources if str(path) not in self.ALLOWED for read in self._reads(path)]
        assert reads == []

    def test_the_scan_finds_a_read(self, tmp_path: Path) -> None:
        module = tmp_path / "module.py"
        module.write_text("import os\nSECRET = os.environ.get('X', 'y')\n")
        assert self._reads(module) == [f"{module}:2 os.environ"]

    def test_the_sandbox_credentials_come_from_settings(self) -> None:
        configured = Settings(_env_file=None, sandbox_secret_id="id-from-env", sandbox_secret_key="key-from-env")
        from src.integrations.gocardless import gocardless_credentials

        assert gocardless_credentials(configured) == ("id-from-env", "key-from-env")
        real = Settings(_env_file=None, sandbox_secret_id="x", gocardless_secret_id="real", gocardless_secret_key="k")
        assert gocardless_credentials(real) == ("real", "k")


class TestEnableBanking:
    @staticmethod
    def _key_file(tmp_path: Path) -> Path:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = tmp_path / "enablebanking.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return path

    @pytest.fixture(autouse=True)
    def _no_enablebanking_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in (
            "ENABLEBANKING_APPLICATION_ID",
            "ENABLEBANKING_PRIVATE_KEY_FILE",
            "ENABLEBANKING_BASE_URL",
            "SANDBOX_ENABLEBANKING_APPLICATION_ID",
            "SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE",
            "SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE",
        ):
            monkeypatch.delenv(name, raising=False)

    def test_without_credentials_enable_banking_is_the_sandbox(self, tmp_path: Path) -> None:
        settings = _settings(enablebanking_sandbox_port=9876, finsync_data_dir=tmp_path)
        assert settings.uses_enablebanking_sandbox
        assert settings.enablebanking_application_id is None
        assert settings.enablebanking_private_key_file is None
        assert settings.enablebanking_base_url == "http://127.0.0.1:9876"
        assert settings.sandbox_enablebanking_application_id == SANDBOX_ENABLEBANKING_APPLICATION_ID
        assert settings.enablebanking_sandbox_key_files == (
            tmp_path / "enablebanking" / "sandbox-private.pem",
            tmp_path / "enablebanking" / "sandbox-public.pem",
        )

    def test_with_credentials_the_real_api_unless_a_url_is_set(self, tmp_path: Path) -> None:
        path = self._key_file(tmp_path)
        settings = _settings(enablebanking_application_id="app-id", enablebanking_private_key_file=str(path))
        assert not settings.uses_enablebanking_sandbox
        assert settings.enablebanking_base_url == OFFICIAL_ENABLEBANKING_BASE_URL == "https://api.enablebanking.com"
        assert _settings(enablebanking_base_url="http://eb.internal/").enablebanking_base_url == "http://eb.internal"

    def test_the_sandbox_key_pair_is_made_once_and_its_halves_match(self, tmp_path: Path) -> None:
        from cryptography.hazmat.primitives import serialization

        settings = _settings(finsync_data_dir=tmp_path)
        private_path, public_path = ensure_enablebanking_sandbox_keys(settings)
        assert (private_path, public_path) == settings.enablebanking_sandbox_key_files
        private_pem, public_pem = private_path.read_bytes(), public_path.read_bytes()
        assert private_path.stat().st_mode & 0o077 == 0  # the private key is the owner's only
        # A second process of the stack (a new Settings on the same data dir) finds the same pair.
        assert ensure_enablebanking_sandbox_keys(_settings(finsync_data_dir=tmp_path)) == (private_path, public_path)
        assert (private_path.read_bytes(), public_path.read_bytes()) == (private_pem, public_pem)
        private_key = serialization.load_pem_private_key(private_pem, password=None)
        derived = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert derived == public_pem

    def test_an_operators_own_sandbox_pair_is_used_and_nothing_is_made(self, tmp_path: Path) -> None:
        private = self._key_file(tmp_path)
        public = tmp_path / "own-public.pem"
        public.write_text("whatever the sandbox reads")
        settings = _settings(
            finsync_data_dir=tmp_path / "data",
            sandbox_enablebanking_public_key_file=str(public),
            sandbox_enablebanking_private_key_file=str(private),
        )
        assert ensure_enablebanking_sandbox_keys(settings) == (private, public)
        assert not (tmp_path / "data").exists()

    def test_only_the_sandboxs_own_public_key_makes_nothing_and_says_what_is_missing(self, tmp_path: Path) -> None:
        """The sandbox started by hand reads only its public key: finsync must not make a pair it would refuse."""
        from src.integrations.enablebanking import enablebanking_problem

        settings = _settings(
            finsync_data_dir=tmp_path / "data", sandbox_enablebanking_public_key_file=str(tmp_path / "public.pem")
        )
        private_path, public_path = ensure_enablebanking_sandbox_keys(settings)
        assert public_path == tmp_path / "public.pem"
        assert not private_path.exists()
        problem = enablebanking_problem(settings)
        assert problem is not None
        assert f"cannot read the Enable Banking private key file {private_path}" in problem
        assert "SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE" in problem

    def test_both_set_with_a_readable_pem_key(self, tmp_path: Path) -> None:
        path = self._key_file(tmp_path)
        settings = _settings(
            enablebanking_application_id="app-id",
            enablebanking_private_key_file=str(path),
            enablebanking_base_url="http://127.0.0.1:8766/",
        )
        assert settings.enablebanking_application_id == "app-id"
        assert settings.enablebanking_private_key_file == path
        assert settings.enablebanking_base_url == "http://127.0.0.1:8766"

    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            ({"enablebanking_application_id": "app-id"}, "set both ENABLEBANKING_APPLICATION_ID and"),
            ({"enablebanking_private_key_file": "/nonexistent/x.pem"}, "ENABLEBANKING_PRIVATE_KEY_FILE, or neither"),
            (
                {"enablebanking_application_id": "app-id", "enablebanking_private_key_file": "/nonexistent/x.pem"},
                "ENABLEBANKING_PRIVATE_KEY_FILE /nonexistent/x.pem cannot be read",
            ),
        ],
    )
    def test_refused_in_one_line(self, values: dict[str, object], expected: str) -> None:
        with pytest.raises(ValidationError) as caught:
            _settings(**values)
        message = describe_validation_error(caught.value)
        assert expected in message
        assert "\n" not in message

    def test_a_file_that_is_not_a_pem_key_is_refused_without_its_content(self, tmp_path: Path) -> None:
        path = tmp_path / "key.pem"
        path.write_text("hunter2-not-a-key")
        with pytest.raises(ValidationError) as caught:
            _settings(enablebanking_application_id="app-id", enablebanking_private_key_file=str(path))
        message = describe_validation_error(caught.value)
        assert "is not an unencrypted PEM private key" in message
        assert "hunter2" not in message
        assert "\n" not in message
