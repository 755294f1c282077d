"""The GPU benchmark says "no GPU" and exits 0 where there is none (CI, this machine), without
importing keras or tensorflow; the real-tables benchmark finds each table in its package."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
GPU_BENCHMARK = BENCHMARKS / "gpu.py"


def test_the_gpu_benchmark_says_no_gpu_and_exits_0_without_one():
    jax = pytest.importorskip("jax")
    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("a GPU is here: the benchmark would run for minutes")
    done = subprocess.run([sys.executable, str(GPU_BENCHMARK)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no GPU: jax sees none here")


def _real_tables():
    """benchmarks/real_tables.py as a module (it imports nothing heavy at the top)."""
    spec = importlib.util.spec_from_file_location("real_tables", BENCHMARKS / "real_tables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


REAL_TABLES = _real_tables()


@pytest.mark.parametrize("table", REAL_TABLES.TABLES, ids=lambda t: t.name)
def test_each_real_table_is_shipped_where_its_package_is_installed(table, tmp_path):
    """The benchmark's tables come from installed wheels, never the network: the file is where the
    table says, and written as CSV it has the target and every column the table drops."""
    if importlib.util.find_spec(table.package) is None:
        pytest.skip(f"{table.package} is not installed (the bench extra; ISLP: pip install --no-deps ISLP)")
    shipped = table.shipped()
    assert shipped.is_file(), f"{table.package} {table.version()} ships no {table.path}"
    table.read(shipped, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert {table.target, *table.drop} <= set(header), header
    assert table.task in REAL_TABLES.TASKS


def test_the_time_breakdown_reports_each_part_as_a_multiple_of_hgbs():
    """benchmarks/tabular_time.py's report: seconds and ratios to HGB's fit, per part."""
    spec = importlib.util.spec_from_file_location("tabular_time", BENCHMARKS / "tabular_time.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parts = {"table": "t", "rows": 100, "hgb": 0.5, "start": 6.0, "train": 4.0, "before": 0.5, "first": 1.0,
             "others": 2.0, "after": 0.5, "epochs": 5, "steps": 20, "batch": 32, "step": 0.05, "alone": 1.0,
             "floor": 0.25, "params": 1234}
    report = module.lines(parts, rate=2e11)
    assert report[0] == "t (100 training rows; 5 epochs x 4 steps of 32 rows; 1,234 parameters)"
    rows = {line[:48].strip(): line[48:].split() for line in report[1:]}
    assert rows["kzoo's process start (Python, TensorFlow)"] == ["6.00", "s", "12.0x"]
    assert rows["other 4 epochs (500 ms each)"] == ["2.00", "s", "4.0x"]
    assert rows["a `kzoo train` process: start + in-process"] == ["10.00", "s", "20.0x"]
    assert rows["steps alone at this share of the matmul rate"] == ["0.25"]
