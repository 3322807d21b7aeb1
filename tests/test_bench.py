"""`make bench` can start: every benchmark module imports (the benchmarks run outside the test suite, so a moved
name would otherwise break them silently until someone measures)."""

import importlib
import pkgutil

import bench


def test_every_benchmark_module_imports() -> None:
    names = [info.name for info in pkgutil.iter_modules(bench.__path__)]
    assert "__main__" in names
    for name in names:
        importlib.import_module(f"bench.{name}")  # bench/__main__.py runs only under `python -m bench`
