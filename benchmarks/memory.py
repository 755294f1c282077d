"""Peak memory of training on a large CSV, against training on iris in the same run.

Goal (issue 11): peak RSS of `kzoo train` on a 200 MB CSV minus that on iris is at most twice
the file's size. The CSV (numeric features, an integer class label) is generated in a temporary
folder and deleted afterwards. Each run is a fresh interpreter that reports its own peak RSS.

    python benchmarks/memory.py            # 200 MB
    python benchmarks/memory.py --mb 50    # quicker
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RUN = """
import resource, sys
from kzoo.cli import main
try:
    main(sys.argv[1:], prog_name="kzoo")
except SystemExit as exc:
    if exc.code:
        raise
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_csv(path: Path, megabytes: float, features: int = 10, seed: int = 0) -> int:
    """A CSV of about ``megabytes`` MB: ``features`` float columns and a 3-class label ``y``."""
    rng = np.random.default_rng(seed)
    header = ",".join([f"f{i}" for i in range(features)] + ["y"]) + "\n"
    chunk = 100_000
    with path.open("w") as f:
        f.write(header)
        while f.tell() < megabytes * 1e6:
            x = rng.standard_normal((chunk, features))
            y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)
            lines = "\n".join(",".join(f"{v:.6f}" for v in row) + f",{label}" for row, label in zip(x.tolist(), y.tolist()))
            f.write(lines + "\n")
    return path.stat().st_size


def peak_kib(*args: str) -> int:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"kzoo {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return int(done.stdout.rsplit("PEAK_KIB", 1)[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="size of the generated CSV in MB (default 200)")
    options = parser.parse_args()
    common = ["--epochs", "1", "--batch-size", "1024", "--quiet"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        size = write_csv(path, options.mb)
        iris = peak_kib("train", "mlp", "--data", "iris", *common) * 1024
        big = peak_kib("train", "mlp", "--data", str(path), "--target", "y", *common) * 1024
    extra = big - iris
    mb = 1e6
    print(f"memory: csv {size / mb:.0f} MB; peak iris {iris / mb:.0f} MB, csv {big / mb:.0f} MB; "
          f"extra {extra / mb:.0f} MB = {extra / size:.2f}x the file (goal <= 2x): "
          f"{'ok' if extra <= 2 * size else 'over'}")


if __name__ == "__main__":
    main()
