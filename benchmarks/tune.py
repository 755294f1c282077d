"""What a search buys: ``kzoo tune mlp --trials 20`` against the default ``kzoo train mlp`` and
scikit-learn's HistGradientBoosting, on three real tables (scikit-learn's breast_cancer, wine
and diabetes), in one run.

Each table is written to a CSV file; 20% of its rows (``kzoo.datasets.splits.split_rows``, seed 0,
stratified for classes) are held out as the test rows that score every contender, and no
contender sees them: kzoo trains and tunes on the other 80% (``--val-split 0.2`` inside them, the
rows trials are compared on), HGB (``random_state=0``) fits on all of the 80%. kzoo runs as the
user would: ``python -m kzoo tune|train ... --quiet`` in a subprocess (timed: the seconds include
starting Python and TensorFlow), then ``kzoo.predict`` on the test rows.

Printed per table: the score (accuracy, or R^2 for diabetes) of each, the score gaps tune-train
and tune-HGB, and wall times as ratios (tune/train, tune/HGB, train/HGB). One run, no repeats.

Run:  python benchmarks/tune.py               (20 trials)
      python benchmarks/tune.py --quick       (4 trials of at most 30 epochs: a smoke run)
      python benchmarks/tune.py --trials 10 --json
Needs: pip install "kzoo[tune]".
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TABLES = {"breast_cancer": "classification", "wine": "classification", "diabetes": "regression"}
SEED = 0
TEST_SPLIT = 0.2


def write_tables(name: str, folder: Path) -> tuple[Path, Path, list]:
    """``(dev.csv, test.csv, test targets)`` of scikit-learn's table ``name``."""
    import numpy as np
    from sklearn import datasets

    from kzoo.datasets.splits import split_rows

    bunch = getattr(datasets, f"load_{name}")()
    x, y = bunch.data, bunch.target
    labels = y.astype("int32") if TABLES[name] == "classification" else None
    dev, test = split_rows(len(y), labels, TEST_SPLIT, SEED)
    columns = [str(c).replace(" ", "_") for c in bunch.feature_names]
    paths = []
    for part, rows in (("dev", dev), ("test", test)):
        path = folder / f"{name}.{part}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([*columns, "target"])
            for i in rows:
                writer.writerow([*(repr(float(v)) for v in x[i]), int(y[i]) if labels is not None else float(y[i])])
        paths.append(path)
    return paths[0], paths[1], list(np.asarray(y)[test])


def kzoo(*args: str) -> float:
    """Seconds of ``python -m kzoo ARGS`` (which must succeed)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kzoo", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"kzoo {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def score(task: str, truth: list, predicted: list) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classification":
        return float(accuracy_score([str(int(t)) for t in truth], [str(p) for p in predicted]))
    return float(r2_score([float(t) for t in truth], [float(p) for p in predicted]))


def kzoo_score(model_path: Path, test_csv: Path, task: str, truth: list) -> float:
    import kzoo as zoo

    header, rows = zoo.predict(str(model_path), str(test_csv))
    return score(task, truth, [row[1] for row in rows])


def hgb(dev_csv: Path, test_csv: Path, task: str, truth: list) -> tuple[float, float]:
    """``(score, seconds)`` of HistGradientBoosting fitted on the dev rows."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    def read(path: Path):
        data = np.loadtxt(path, delimiter=",", skiprows=1)
        return data[:, :-1], data[:, -1]

    x, y = read(dev_csv)
    xt, _ = read(test_csv)
    start = time.perf_counter()
    model = (HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor)(
        random_state=SEED)
    model.fit(x, y.astype(int) if task == "classification" else y)
    predicted = model.predict(xt)
    seconds = time.perf_counter() - start
    return score(task, truth, [int(p) if task == "classification" else p for p in predicted]), seconds


def run_table(name: str, folder: Path, trials: int, epochs: int | None) -> dict:
    task = TABLES[name]
    dev, test, truth = write_tables(name, folder)
    common = ["--data", str(dev), "--target", "target", "--task", task, "--val-split", "0.2", "--seed", str(SEED),
              "--quiet"] + (["--epochs", str(epochs)] if epochs else [])
    train_out, tune_out = folder / f"{name}.train.keras", folder / f"{name}.tune.keras"
    seconds = {"train": kzoo("train", "mlp", *common, "--out", str(train_out)),
               "tune": kzoo("tune", "mlp", *common, "--trials", str(trials), "--out", str(tune_out))}
    scores = {"train": kzoo_score(train_out, test, task, truth), "tune": kzoo_score(tune_out, test, task, truth)}
    scores["hgb"], seconds["hgb"] = hgb(dev, test, task, truth)
    import kzoo as zoo

    best = zoo.saved_info(str(tune_out))["tuning"]
    return {"table": name, "task": task, "metric": "accuracy" if task == "classification" else "r2",
            "test_rows": len(truth), "scores": scores, "seconds": seconds,
            "gap": {"tune-train": scores["tune"] - scores["train"], "tune-hgb": scores["tune"] - scores["hgb"]},
            "time_ratio": {"tune/train": seconds["tune"] / seconds["train"], "tune/hgb": seconds["tune"] / seconds["hgb"],
                           "train/hgb": seconds["train"] / seconds["hgb"]},
            "best": {"trial": best["trial"], "params": best["params"]}}


def line(row: dict) -> str:
    s, g, r = row["scores"], row["gap"], row["time_ratio"]
    return (f"{row['table']:<14} {row['metric']:<8} tune {s['tune']:.4f}  train {s['train']:.4f}  hgb {s['hgb']:.4f}  "
            f"gap tune-train {g['tune-train']:+.4f}  tune-hgb {g['tune-hgb']:+.4f}  time tune/train "
            f"{r['tune/train']:.1f}x  tune/hgb {r['tune/hgb']:.0f}x  train/hgb {r['train/hgb']:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--trials", type=int, default=20, help="completed trials of each search (default: %(default)s)")
    parser.add_argument("--epochs", type=int, help="each run's epoch ceiling (default: kzoo's)")
    parser.add_argument("--quick", action="store_true", help="4 trials of at most 30 epochs: a smoke run")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead")
    args = parser.parse_args()
    trials, epochs = (4, 30) if args.quick else (args.trials, args.epochs)
    if not args.json:
        print(f"kzoo tune mlp --trials {trials} vs kzoo train mlp vs HistGradientBoosting; test rows: {TEST_SPLIT:.0%} "
              f"held out (seed {SEED}); epochs: {epochs or 'kzoo default'}; CPU threads: {os.cpu_count()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kzoo-tune-bench-") as tmp:
        for name in TABLES:
            rows.append(run_table(name, Path(tmp), trials, epochs))
            if not args.json:
                print(line(rows[-1]), flush=True)
    if args.json:
        print(json.dumps({"trials": trials, "epochs": epochs, "tables": rows}, indent=2))


if __name__ == "__main__":
    main()
