"""The deployment files (docker-compose.yml, deploy/dagster.yaml, the Dockerfile) held against the code they run.

No Docker engine is needed. The compose file is read as YAML and its `${VAR}` interpolation is done here as Compose
does it, with a `.env` of placeholder secrets; what each container would then see is checked against
src/settings.py, workspace.yaml and the Dockerfile. deploy/dagster.yaml is loaded by Dagster itself, once against
its schema and once as a real instance on the test run's PostgreSQL.
"""

import fnmatch
import posixpath
import re
import shlex
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from src.settings import OFFICIAL_GOCARDLESS_BASE_URL, Environment, Settings, normalise_database_url
from tests.harness import database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DAGSTER_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"
DAGSTER_DEV_YAML = PROJECT_ROOT / "deploy" / "dagster.dev.yaml"
WORKSPACE_YAML = PROJECT_ROOT / "workspace.yaml"

SERVICES = {"postgres", "migrate", "api", "dagster-webserver", "dagster-daemon"}
FINSYNC_SERVICES = ("migrate", "api", "dagster-webserver", "dagster-daemon")
DAGSTER_SERVICES = ("dagster-webserver", "dagster-daemon")

# What an operator's .env holds: the variables the compose file refuses to start without.
DOTENV = {
    "POSTGRES_PASSWORD": "pg-0123456789abcdef",
    "JWT_SECRET": "jwt-secret-for-the-deployment-tests",
    "FINSYNC_SECRET_KEY": "ZGVwbG95bWVudC10ZXN0cy1rZXktMzItYnl0ZXMhISE=",  # 32 bytes, URL-safe base64
    "GOCARDLESS_SECRET_ID": "gocardless-id",
    "GOCARDLESS_SECRET_KEY": "gocardless-key",
}


# -- Compose interpolation ----------------------------------------------------------------------------------------


class MissingVariableError(Exception):
    """`${NAME:?message}` (or `?`) met an unset or empty NAME: Compose stops with the message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: `$$`, `$NAME`, `${NAME}` and `${NAME<op>arg}` with nested arguments."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_braced(text[i + 2 : end], env))
            i = end + 1
        elif match := _NAME.match(text, i + 1):
            out.append(env.get(match.group(), ""))
            i = match.end()
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unclosed ${{ in {text!r}")


def _braced(expression: str, env: Mapping[str, str]) -> str:
    match = _NAME.match(expression)
    if match is None:
        raise ValueError(f"not a variable: ${{{expression}}}")
    name, rest = match.group(), expression[match.end() :]
    value = env.get(name)
    if not rest:
        return value or ""
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise ValueError(f"interpolation Compose does not support: ${{{expression}}}")
    argument = rest[len(operator) :]
    present = bool(value) if operator.startswith(":") else value is not None
    if operator.endswith("-"):
        return value if present and value is not None else interpolate(argument, env)
    if operator.endswith("?"):
        if not present or value is None:
            raise MissingVariableError(name, interpolate(argument, env))
        return value
    return interpolate(argument, env) if present else ""


def _resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    return node


def load_compose(env: Mapping[str, str] = DOTENV) -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())  # YAML merge keys (`<<: *anchor`) are resolved here
    resolved: dict[str, Any] = _resolve(document, env)
    return resolved


# -- Reading the files --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {name: "" if value is None else str(value) for name, value in raw.items()}


def option(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


def published_ports(service: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) for each `ports:` entry; a host IP in front is dropped."""
    pairs = []
    for entry in service.get("ports", []):
        *_, host, container = str(entry).split(":")
        pairs.append((int(host), int(container)))
    return pairs


def instance_env_vars(node: Any) -> set[str]:
    """The environment variables a Dagster instance file reads (`{env: NAME}` anywhere in it)."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {str(node["env"])}
        return set().union(*(instance_env_vars(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(instance_env_vars(value) for value in node))
    return set()


def settings_env_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, continuation lines joined, grouped by stage."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def image_layout() -> tuple[dict[str, str], dict[str, str], str, list[str]]:
    """What the final image holds: (build-context path → path in the image, ENV, WORKDIR, RUN commands)."""
    by_stage: dict[str, dict[str, str]] = {}
    copied: dict[str, str] = {}
    env: dict[str, str] = {}
    workdir = "/"
    runs: list[str] = []
    for index, stage in enumerate(dockerfile_stages()):
        copied, env, workdir, runs = {}, {}, "/", []
        for keyword, arguments in stage:
            if keyword == "FROM":
                words = arguments.split()
                name = words[-1] if len(words) >= 3 and words[-2].upper() == "AS" else str(index)
                by_stage[name] = copied
            elif keyword == "WORKDIR":
                workdir = posixpath.normpath(posixpath.join(workdir, arguments))
            elif keyword == "ENV":
                for word in shlex.split(arguments):  # the KEY=value form
                    key, _, value = word.partition("=")
                    env[key] = value
            elif keyword == "RUN":
                runs.append(arguments)
            elif keyword == "COPY":
                words = shlex.split(arguments)
                flags = dict(word[2:].split("=", 1) for word in words if word.startswith("--"))
                *sources, destination = [word for word in words if not word.startswith("--")]
                target = posixpath.normpath(posixpath.join(workdir, destination))
                into_directory = destination.endswith("/") or len(sources) > 1
                for source in sources:
                    if "from" in flags:
                        prefix = source.rstrip("/")
                        for context_path, path in by_stage[flags["from"]].items():
                            if path == prefix or path.startswith(prefix + "/"):
                                copied[context_path] = target + path[len(prefix) :]
                    else:
                        source = posixpath.normpath(source)
                        copied[source] = (
                            posixpath.join(target, posixpath.basename(source)) if into_directory else target
                        )
    return copied, env, workdir, runs


def dockerignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
            return True
    return False


# -- The services -------------------------------------------------------------------------------------------------


def test_the_stack_is_the_five_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_every_finsync_service_runs_the_one_image_built_from_the_project_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    images = set()
    for name in FINSYNC_SERVICES:
        build = services[name]["build"]
        context = build if isinstance(build, str) else build["context"]
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (PROJECT_ROOT / context / dockerfile).resolve() == DOCKERFILE, name
        images.add(services[name]["image"])
    assert len(images) == 1, f"one image tag for every finsync service, got {images}"
    assert "build" not in services["postgres"]
    assert services["postgres"]["image"].startswith("postgres:")


def test_the_api_listens_on_settings_api_port(services: dict[str, dict[str, Any]]) -> None:
    import src.api.app

    port = Settings.model_fields["api_port"].default
    api = services["api"]
    command = api["command"]
    assert command[:2] == ["uvicorn", "src.api.app:app"]
    assert hasattr(src.api.app, "app")
    assert option(command, "--host") == "0.0.0.0"  # noqa: S104 - inside its container
    assert option(command, "--port") == str(port)
    assert published_ports(api) == [(port, port)]
    assert f"127.0.0.1:{port}/health" in " ".join(api["healthcheck"]["test"])


def test_the_dagster_webserver_listens_on_settings_dagster_port_where_the_services_look_for_it(
    services: dict[str, dict[str, Any]],
) -> None:
    port = Settings.model_fields["dagster_port"].default
    webserver = services["dagster-webserver"]
    command = webserver["command"]
    assert command[0] == "dagster-webserver"
    assert option(command, "-h") == "0.0.0.0"  # noqa: S104 - inside its container
    assert option(command, "-p") == str(port)
    assert [container for _, container in published_ports(webserver)] == [port]
    assert f"127.0.0.1:{port}/server_info" in " ".join(webserver["healthcheck"]["test"])
    for name in FINSYNC_SERVICES:
        url = urlsplit(environment(services[name])["DAGSTER_URL"])
        assert (url.scheme, url.hostname, url.port) == ("http", "dagster-webserver", port), name


def test_the_dagster_commands_load_the_project_workspace(services: dict[str, dict[str, Any]]) -> None:
    copied, _, workdir, _ = image_layout()
    assert services["dagster-daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in DAGSTER_SERVICES:
        workspace = option(services[name]["command"], "-w")
        assert (PROJECT_ROOT / workspace).is_file(), name
        assert copied.get(workspace) == posixpath.join(workdir, workspace), f"the image lacks {workspace}"
    workspace_config = yaml.safe_load(WORKSPACE_YAML.read_text())
    locations = {entry["python_file"]["location_name"] for entry in workspace_config["load_from"]}
    for entry in workspace_config["load_from"]:
        assert (PROJECT_ROOT / entry["python_file"]["relative_path"]).is_file()
    for name in FINSYNC_SERVICES:
        assert environment(services[name])["DAGSTER_LOCATION_NAME"] in locations, name


def test_migrate_runs_finsync_migrate(services: dict[str, dict[str, Any]]) -> None:
    from src.cli import _parser

    command = services["migrate"]["command"]
    assert command == ["finsync", "migrate"]
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["finsync"] == "src.cli:main"
    assert _parser().parse_args(command[1:]).command == "migrate"


def test_services_start_in_order(services: dict[str, dict[str, Any]]) -> None:
    postgres = services["postgres"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"  # a one-shot: it exits 0 when the schema is current
    for name in ("api", *DAGSTER_SERVICES):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name


# -- Environment --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FINSYNC_SERVICES)
def test_every_variable_a_service_sets_is_read_by_finsync_or_its_dagster_instance(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    allowed = settings_env_names()
    if name in DAGSTER_SERVICES:
        allowed |= instance_env_vars(yaml.safe_load(DAGSTER_YAML.read_text())) | {"DAGSTER_HOME"}
    unknown = set(environment(services[name])) - allowed
    assert not unknown, f"{name} sets variables nothing reads (a typo?): {sorted(unknown)}"


@pytest.mark.parametrize("name", FINSYNC_SERVICES)
def test_settings_accept_each_service_environment_as_production(
    services: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in settings_env_names():  # the test run's own settings must not leak in
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment(services[name]).items():
        monkeypatch.setenv(variable, value)
    settings = Settings(_env_file=None)
    assert settings.finsync_env is Environment.production
    assert settings.database_url is not None
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == DOTENV["JWT_SECRET"]
    assert settings.get_secret_keys() == [DOTENV["FINSYNC_SECRET_KEY"]]
    assert not settings.uses_sandbox
    assert settings.gocardless_base_url == OFFICIAL_GOCARDLESS_BASE_URL
    assert settings.frontend_url == f"{settings.public_base_url}/"


def test_the_api_and_the_pipelines_share_one_configuration(services: dict[str, dict[str, Any]]) -> None:
    names = settings_env_names()
    configurations = {
        name: {key: value for key, value in environment(services[name]).items() if key in names}
        for name in FINSYNC_SERVICES
    }
    assert all(configuration == configurations["api"] for configuration in configurations.values())


def test_the_frontend_follows_the_public_base_url() -> None:
    services = load_compose({**DOTENV, "PUBLIC_BASE_URL": "https://finsync.example.com"})["services"]
    env = environment(services["api"])
    assert env["PUBLIC_BASE_URL"] == "https://finsync.example.com"
    assert env["FRONTEND_URL"] == "https://finsync.example.com/"
    services = load_compose({**DOTENV, "FRONTEND_URL": "https://app.example.com/"})["services"]
    assert environment(services["api"])["FRONTEND_URL"] == "https://app.example.com/"


@pytest.mark.parametrize("secret", sorted(DOTENV))
@pytest.mark.parametrize("empty", [False, True], ids=["unset", "empty"])
def test_the_stack_will_not_start_without_a_secret(secret: str, empty: bool) -> None:
    env = {name: value for name, value in DOTENV.items() if name != secret}
    if empty:
        env[secret] = ""
    with pytest.raises(MissingVariableError) as info:
        load_compose(env)
    assert info.value.name == secret


# -- The database -------------------------------------------------------------------------------------------------


def init_scripts(postgres: Mapping[str, Any]) -> list[Path]:
    scripts = []
    for volume in postgres.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if target.startswith("/docker-entrypoint-initdb.d/"):
            assert source.startswith("./"), f"{volume}: an init script is a file of the project"
            scripts.append(PROJECT_ROOT / source)
    return scripts


def test_database_url_points_at_the_postgres_service_and_what_it_creates(
    services: dict[str, dict[str, Any]],
) -> None:
    postgres = environment(services["postgres"])
    assert postgres["POSTGRES_PASSWORD"] == DOTENV["POSTGRES_PASSWORD"]
    for name in FINSYNC_SERVICES:
        url = normalise_database_url(environment(services[name])["DATABASE_URL"])
        assert url.host == "postgres", name
        assert (url.port or 5432) == 5432, name
        assert url.username == postgres["POSTGRES_USER"], name
        assert url.password == postgres["POSTGRES_PASSWORD"], name
        assert url.database == postgres["POSTGRES_DB"], name


def test_dagster_storage_is_its_own_database_on_the_same_server(services: dict[str, dict[str, Any]]) -> None:
    postgres = environment(services["postgres"])
    scripts = init_scripts(services["postgres"])
    assert scripts
    assert all(script.is_file() for script in scripts)
    created = {
        name for script in scripts for name in re.findall(r"CREATE\s+DATABASE\s+(\w+)", script.read_text(), re.I)
    }
    for name in DAGSTER_SERVICES:
        env = environment(services[name])
        assert env["DAGSTER_PG_HOST"] == "postgres", name
        assert env["DAGSTER_PG_PORT"] == "5432", name
        assert env["DAGSTER_PG_USER"] == postgres["POSTGRES_USER"], name
        assert env["DAGSTER_PG_PASSWORD"] == postgres["POSTGRES_PASSWORD"], name
        assert env["DAGSTER_PG_DB"] in created, f"{name}: no init script creates {env['DAGSTER_PG_DB']}"
        # dagster-postgres keeps its own alembic_version table: sharing finsync's database would collide.
        assert env["DAGSTER_PG_DB"] != postgres["POSTGRES_DB"], name


# -- Dagster's instance -------------------------------------------------------------------------------------------


def test_both_dagster_services_set_every_variable_the_instance_reads(services: dict[str, dict[str, Any]]) -> None:
    read = instance_env_vars(yaml.safe_load(DAGSTER_YAML.read_text()))
    assert {"DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"} <= read
    for name in DAGSTER_SERVICES:
        env = environment(services[name])
        missing = sorted(variable for variable in read if not env.get(variable))
        assert not missing, f"{name} does not set {missing}"
    assert environment(services["dagster-webserver"]) == environment(services["dagster-daemon"])


def test_compute_logs_live_on_a_volume_both_dagster_services_mount(compose: dict[str, Any]) -> None:
    _, image_env, _, runs = image_layout()
    volumes = set()
    for name in DAGSTER_SERVICES:
        env = environment(compose["services"][name])
        assert env["DAGSTER_HOME"] == image_env["DAGSTER_HOME"], name
        storage = env["DAGSTER_STORAGE_DIR"]
        # Where LocalArtifactStorage (base_dir DAGSTER_HOME) puts its files, next to the compute logs.
        assert storage == posixpath.join(env["DAGSTER_HOME"], "storage"), name
        mounts = {
            target: source for source, target, *_ in (str(v).split(":") for v in compose["services"][name]["volumes"])
        }
        assert storage in mounts, f"{name} does not mount a volume at {storage}"
        volumes.add(mounts[storage])
    assert len(volumes) == 1, "the webserver shows the logs the daemon's runs write: one volume for both"
    assert volumes <= set(compose["volumes"])
    # A new named volume copies the image's directory, owner included: the image must create it for finsync.
    assert any(f"mkdir -p {storage}" in run for run in runs)


def test_the_image_holds_the_project_where_its_code_looks_for_it() -> None:
    from src.db import migrate

    copied, _, workdir, _ = image_layout()
    # src/db/migrate.py finds alembic.ini and migrations/ in the project root, the parent of src/; the Dagster
    # commands and uvicorn run from WORKDIR.
    assert Path(migrate.__file__).resolve().parents[2] == PROJECT_ROOT
    for path in ("src", "migrations", "alembic.ini", "workspace.yaml"):
        assert copied.get(path) == posixpath.join(workdir, path), f"the image lacks {path} at {workdir}/{path}"
    ignore_file = PROJECT_ROOT / ".dockerignore"
    patterns = [line.strip() for line in ignore_file.read_text().splitlines() if line.strip()[:1] not in ("", "#")]
    for path in copied:
        files = [Path(path)] if (PROJECT_ROOT / path).is_file() else (PROJECT_ROOT / path).rglob("*")
        for file in files:
            relative = file.relative_to(PROJECT_ROOT) if file.is_absolute() else file
            if "__pycache__" not in relative.parts:
                assert not dockerignored(relative.as_posix(), patterns), f".dockerignore leaves {relative} out"


def test_the_image_puts_the_instance_file_in_dagster_home() -> None:
    copied, image_env, _, _ = image_layout()
    assert copied.get("deploy/dagster.yaml") == posixpath.join(image_env["DAGSTER_HOME"], "dagster.yaml")


def test_the_instance_file_passes_dagsters_schema(
    services: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    for variable, value in environment(services["dagster-daemon"]).items():
        monkeypatch.setenv(variable, value)
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert set(config["storage"]) == {"postgres"}


def test_the_run_queue_is_the_one_development_uses() -> None:
    from src.providers.dagster import client
    from src.sync_runs import CONNECTION_TAG

    production = yaml.safe_load(DAGSTER_YAML.read_text())["run_coordinator"]
    development = yaml.safe_load(DAGSTER_DEV_YAML.read_text())["run_coordinator"]
    assert production == development
    assert production["class"] == "QueuedRunCoordinator"
    limits = production["config"]["tag_concurrency_limits"]
    assert limits == [{"key": CONNECTION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    assert client.CONNECTION_TAG == CONNECTION_TAG


@pytest.fixture
def dagster_database(test_databases: database.TestDatabases) -> Iterator[str]:
    from src.db.embedded import create_database_if_missing

    url = create_database_if_missing(test_databases.admin_url, f"dagster_deploy_{uuid.uuid4().hex[:8]}")
    try:
        yield url
    finally:
        test_databases.drop(url)


def test_dagster_opens_the_production_instance_on_postgresql(
    services: dict[str, dict[str, Any]], dagster_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from src.sync_runs import CONNECTION_TAG

    url = make_url(dagster_database)
    config = yaml.safe_load(DAGSTER_YAML.read_text())
    socket_dir = url.query.get("host")
    if socket_dir:
        # The embedded test server listens on a Unix socket only; libpq takes its directory as the `host` parameter.
        config["storage"]["postgres"]["postgres_db"]["params"] = {"host": str(socket_dir)}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    compose_env = environment(services["dagster-daemon"])
    storage = home / Path(compose_env["DAGSTER_STORAGE_DIR"]).relative_to(compose_env["DAGSTER_HOME"])
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_STORAGE_DIR": str(storage),
        "DAGSTER_PG_HOST": url.host or "localhost",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USER": str(url.username),
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": str(url.database),
    }
    assert set(env) == instance_env_vars(config)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)

    instance = DagsterInstance.from_config(str(home))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert instance.get_runs() == []  # Dagster created its tables in its database
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.run_coordinator.get_run_queue_config()
        assert [limit["key"] for limit in queue.tag_concurrency_limits] == [CONNECTION_TAG]
        assert isinstance(instance.run_launcher, DefaultRunLauncher)
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled
        assert Path(instance.storage_directory()) == storage
        assert isinstance(instance.compute_log_manager, LocalComputeLogManager)
        log_path = instance.compute_log_manager.get_captured_local_path(["run", "compute_logs", "step"], "out")
        assert Path(log_path).is_relative_to(storage)
    finally:
        instance.dispose()
