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


class TestSyncRunNames:
    """`src.sync_runs` names the jobs, the tag and the connection job's ops for the API, which never loads Dagster;
    these tests hold its names equal to what the loaded definitions call them."""

    def test_the_connection_job_ops_are_the_loaded_jobs_ops(self) -> None:
        from src.orchestration.definitions import defs
        from src.sync_runs import CONNECTION_JOB, CONNECTION_JOB_OPS

        job = defs.resolve_job_def(CONNECTION_JOB)
        assert sorted(node.name for node in job.nodes) == sorted(CONNECTION_JOB_OPS)
        assert len(CONNECTION_JOB_OPS) == len(set(CONNECTION_JOB_OPS)) == 9  # 8 assets and the drift check

    def test_the_builder_configures_every_op_of_the_connection_job(self) -> None:
        import dagster as dg

        from src.orchestration.definitions import defs
        from src.sync_runs import CONNECTION_JOB, CONNECTION_TAG, connection_run

        run = connection_run("8d0f7a3e-0000-4000-8000-000000000001")
        job = defs.resolve_job_def(run.job)
        assert run.job == CONNECTION_JOB
        assert set(run.run_config["ops"]) == {node.name for node in job.nodes}
        dg.validate_run_config(job, run.run_config)  # raises when Dagster would refuse the config
        assert run.tags == {CONNECTION_TAG: "8d0f7a3e-0000-4000-8000-000000000001"}

    def test_the_full_sync_job_is_loaded_under_its_name(self) -> None:
        from src.orchestration.definitions import defs
        from src.sync_runs import CONNECTION_JOBS, FULL_SYNC_JOB

        assert defs.resolve_job_def(FULL_SYNC_JOB).name == FULL_SYNC_JOB
        assert all(defs.resolve_job_def(name).name == name for name in CONNECTION_JOBS)

    def test_the_names_are_spelled_once(self) -> None:
        """A job name or the tag written as a string literal anywhere but src/sync_runs.py would drift from it."""
        from src.sync_runs import CONNECTION_JOB, CONNECTION_TAG, FULL_SYNC_JOB

        literals = [
            f"{quote}{name}{quote}" for name in (CONNECTION_JOB, CONNECTION_TAG, FULL_SYNC_JOB) for quote in "\"'"
        ]
        folders = [PROJECT_ROOT / "src", PROJECT_ROOT / "tests" / "harness"]
        offenders = sorted(
            f"{path.relative_to(PROJECT_ROOT)}: {literal}"
            for folder in folders
            for path in folder.rglob("*.py")
            if path != PROJECT_ROOT / "src" / "sync_runs.py"
            for literal in literals
            if literal in path.read_text()
        )
        assert offenders == []
