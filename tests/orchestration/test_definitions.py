"""The code location loads the way Dagster loads it, and needs no database to do so."""

import os
import subprocess
import sys
from pathlib import Path

from src.db.migrate import PROJECT_ROOT


def _env_without_database() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


class TestDefinitions:
    def test_documented_one_liner_prints_ok_without_a_database(self) -> None:
        result = subprocess.run(
            [sys.executable, "-c", "from src.orchestration.definitions import defs; print('OK')"],
            cwd=PROJECT_ROOT,
            env=_env_without_database(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "OK"

    def test_workspace_loads_as_dagster_loads_it(self, tmp_path: Path) -> None:
        env = _env_without_database()
        env["DAGSTER_HOME"] = str(tmp_path)
        dagster = Path(sys.executable).with_name("dagster")
        result = subprocess.run(
            [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "Validation successful for code location finsync" in output

    def test_no_postponed_annotations_in_orchestration(self) -> None:
        offenders = [
            str(path)
            for path in (PROJECT_ROOT / "src" / "orchestration").rglob("*.py")
            if "from __future__ import annotations" in path.read_text()
        ]
        assert offenders == []
