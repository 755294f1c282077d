"""The GPU benchmark says "no GPU" and exits 0 where there is none (CI, this machine), without
importing keras or tensorflow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GPU_BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "gpu.py"


def test_the_gpu_benchmark_says_no_gpu_and_exits_0_without_one():
    jax = pytest.importorskip("jax")
    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("a GPU is here: the benchmark would run for minutes")
    done = subprocess.run([sys.executable, str(GPU_BENCHMARK)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no GPU: jax sees none here")
