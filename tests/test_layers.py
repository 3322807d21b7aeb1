"""The import contracts in pyproject.toml catch what they are there for, and say which import broke them.

`make lint` runs lint-imports over the real tree; that only shows the tree keeps the contracts today. These tests
plant one forbidden import in a copy of src/ and run the same lint-imports on it, so a contract that was loosened
by mistake (a floor dropped, a wildcard narrowed, a room left out) fails here even while the tree is clean.
"""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of src/ (Python files only) beside the project's pyproject.toml, to plant imports in."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.js", "*.css", "*.html"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint(root: Path, contract: str) -> subprocess.CompletedProcess[str]:
    """lint-imports as `make lint` runs it, limited to one contract; run from `root` so `src` is the copy."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plant(root: Path, module: str, source: str) -> Path:
    """Write `source` as the module `module` (dotted) in the copy; returns the file, for removal."""
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.parent / "__init__.py").exists():
        (path.parent / "__init__.py").write_text("")
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("contract", "importer", "imported"),
    [
        # A lower floor reaching up.
        ("layers", "src.models.planted", "src.kit.schemas"),
        ("layers", "src.providers.planted", "src.db"),
        # A domain below reaching a domain above it.
        ("layers", "src.auth.planted", "src.connections.service"),
        # Siblings on one floor stay apart.
        ("layers", "src.api.planted", "src.orchestration.resources"),
        ("layers", "src.kit.planted", "src.ratelimit.limiter"),
        ("layers", "src.jobs.planted", "src.institutions.service"),
        ("sandbox-sealed", "src.sandbox.planted", "src.settings"),
        ("sandbox-sealed", "src.sandbox.planted", "src.exceptions"),
        ("orchestration-no-domains", "src.orchestration.planted", "src.jobs.service"),
        ("orchestration-no-domains", "src.orchestration.planted", "src.kit.dependencies"),
        ("providers-outside-world", "src.providers.planted", "src.models"),
        ("providers-outside-world", "src.providers.gocardless.planted", "src.integrations"),
        ("providers-outside-world", "src.providers.enablebanking.planted", "src.exceptions"),
        ("providers-no-frameworks", "src.providers.planted", "sqlalchemy"),
        ("providers-no-frameworks", "src.providers.dagster.planted", "dagster"),
    ],
)
def test_a_planted_import_breaks_its_contract_and_is_named(
    tree: Path, contract: str, importer: str, imported: str
) -> None:
    path = plant(tree, importer, f"import {imported}\n")
    try:
        result = lint(tree, contract)
    finally:
        path.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{importer} -> {imported} (l.1)" in result.stdout, result.stdout


def test_a_new_room_under_src_must_be_given_a_floor(tree: Path) -> None:
    path = plant(tree, "src.newroom", "")
    try:
        result = lint(tree, "layers")
    finally:
        path.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "src.newroom" in result.stdout, result.stdout


def test_the_sandbox_may_not_import_a_room_added_later(tree: Path) -> None:
    """The sandbox's contract forbids `src.*`, not a list that a new room could be missing from."""
    room = plant(tree, "src.newroom", "")
    path = plant(tree, "src.sandbox.planted", "import src.newroom\n")
    try:
        result = lint(tree, "sandbox-sealed")
    finally:
        path.unlink()
        room.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "src.sandbox.planted -> src.newroom (l.1)" in result.stdout, result.stdout


def test_the_floors_in_the_architecture_notes_are_the_layers_contract() -> None:
    """docs/ARCHITECTURE.md draws the floors as a table (one row per floor; `>` orders the domains within theirs,
    `|` separates siblings); it must say what the contract checks."""
    contract = next(
        c
        for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
        if c["id"] == "layers"
    )
    checked = [{name.strip() for name in layer.split("|")} for layer in contract["layers"]]
    notes = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    table = notes.split("## Floors", 1)[1].split("| --- | --- |\n", 1)[1].split("\n\n", 1)[0]
    drawn = [
        set(re.findall(r"`src/(\w+)(?:/|\.py)`", floor))
        for row in table.splitlines()
        for floor in row.split("|", 2)[2].split(" > ")
    ]
    assert drawn == checked
