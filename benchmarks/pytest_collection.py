"""What kzoo's pytest plugin (kzoo.testing, loaded through the pytest11 entry point) adds to the
collection of an unrelated test suite.

Prints, measured in this run: the median wall time of `pytest --collect-only` on a small suite
without kzoo's plugin (`-p no:kzoo`, the baseline) and with it, and their ratio (goal: <= 1.10),
plus whether keras or tensorflow got imported (goal: no).

Run: python benchmarks/pytest_collection.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = "def test_{i}():\n    assert {i} == {i}\n"
PROBE = "def pytest_collection_finish(session):\n    import sys\n    print('HEAVY', [m for m in ('keras', 'tensorflow') if m in sys.modules])\n"


def collect(folder: Path, extra: list[str], repeat: int) -> tuple[float, str]:
    times, out = [], ""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                 *extra, str(folder)], capture_output=True, text=True, env=env, cwd=folder)
        times.append(time.perf_counter() - start)
        out = result.stdout
    return statistics.median(times), next((line for line in out.splitlines() if line.startswith("HEAVY")), "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(50):
            (folder / f"test_m{i}.py").write_text(SUITE.format(i=i))
        (folder / "conftest.py").write_text(PROBE)
        base, _ = collect(folder, ["-p", "no:kzoo"], args.repeat)
        with_kit, heavy = collect(folder, [], args.repeat)
    print(f"pytest --collect-only, 50 modules, median of {args.repeat}")
    print(f"  without kzoo's plugin (baseline): {base * 1000:7.1f} ms")
    print(f"  with kzoo's plugin:               {with_kit * 1000:7.1f} ms")
    print(f"  ratio: {with_kit / base:.3f} (goal <= 1.10)")
    print(f"  heavy modules imported with the plugin: {heavy.removeprefix('HEAVY ')} (goal: [])")


if __name__ == "__main__":
    main()
