"""`make bench` can start: every benchmark module imports (the benchmarks run outside the test suite, so a moved
name would otherwise break them silently until someone measures)."""

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_every_benchmark_imports_and_the_entry_point_answers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--only" in result.stdout
