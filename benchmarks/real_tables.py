"""kzoo's defaults on real tables as packages ship them, against scikit-learn's HistGradientBoosting.

Both see the same split of the same file.

Each table in ``TABLES`` is written to a CSV file exactly as its package ships it (no cleaning:
missing cells, text columns and dates stay), then:

- kzoo: ``python -m kzoo train mlp --data T.csv --target C --val-split 0.2 --seed 0 --out T.keras
  --quiet`` in a subprocess (timed: the seconds include starting Python and importing
  TensorFlow), then ``python -m kzoo predict T.keras --data T.csv -o T.pred.csv``; kzoo's score is
  computed from the prediction CSV on the validation rows only.
- the split is kzoo's: rows whose target cell is missing are left out, then
  ``kzoo.datasets.splits.split_rows(n, labels, 0.2, 0)`` over the rest (labels: the class
  values in natural order for classification, None for regression).
- baseline: ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``
  (``categorical_features="from_dtype"``, ``random_state=0``) fitted on the same training rows:
  text columns as pandas ``category`` (their 255 most frequent training values, HGB's limit;
  other values count as missing), numeric columns with their NaNs as they are.

Scores: accuracy (classification), R^2 (regression). Goals: kzoo's accuracy within 0.02 of the
baseline's, its R^2 within 0.05, on average over the tables of each kind.

Run:  python benchmarks/real_tables.py                  (every table)
      python benchmarks/real_tables.py --only penguins --epochs 5
      python benchmarks/real_tables.py --json
Needs: pip install palmerpenguins vega_datasets   (the ``dev`` extra); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEED = 0
VAL_SPLIT = 0.2
#: Cells kzoo reads as missing (kzoo.datasets.table.DEFAULT_NA_VALUES), after stripping spaces.
NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?", "-")
GOALS = {"classification": 0.02, "regression": 0.05}  # kzoo may trail the baseline by at most this, on average
METRIC = {"classification": "accuracy", "regression": "R^2"}
MAX_CATEGORIES = 255  # HistGradientBoosting's limit on a categorical feature's distinct values


# ---------------------------------------------------------------------------------------------
# The tables: each loader writes its table, as shipped, to the given CSV path.


def _package_file(package: str, *parts: str) -> Path:
    import importlib

    return Path(importlib.import_module(package).__file__).parent.joinpath(*parts)


def _copy(package: str, *parts: str) -> Callable[[Path], None]:
    """A loader that copies a CSV file shipped inside ``package``, byte for byte."""
    def load(path: Path) -> None:
        shutil.copyfile(_package_file(package, *parts), path)
    return load


def _vega_json(name: str) -> Callable[[Path], None]:
    """A loader for a vega_datasets JSON table (a list of records): one CSV row per record,
    values as shipped, null as an empty cell."""
    def load(path: Path) -> None:
        from vega_datasets import local_data

        records = json.loads(Path(getattr(local_data, name).filepath).read_text(encoding="utf-8"))
        columns = list(dict.fromkeys(k for r in records for k in r))
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows([["" if r.get(c) is None else r[c] for c in columns] for r in records])
    return load


def _vega_csv(name: str) -> Callable[[Path], None]:
    def load(path: Path) -> None:
        from vega_datasets import local_data

        shutil.copyfile(getattr(local_data, name).filepath, path)
    return load


def _sklearn(name: str, **kwargs) -> Callable[[Path], None]:
    """A loader for a data set bundled with scikit-learn: its frame (feature names and the
    ``target`` column)."""
    def load(path: Path) -> None:
        import sklearn.datasets

        getattr(sklearn.datasets, f"load_{name}")(as_frame=True, **kwargs).frame.to_csv(path, index=False)
    return load


@dataclass(frozen=True)
class Table:
    name: str
    loader: Callable[[Path], None]
    target: str
    task: str  # "classification" or "regression"


TABLES: tuple[Table, ...] = (
    Table("penguins", _copy("palmerpenguins", "data", "penguins.csv"), "species", "classification"),
    Table("penguins_mass", _copy("palmerpenguins", "data", "penguins.csv"), "body_mass_g", "regression"),
    Table("cars", _vega_json("cars"), "Miles_per_Gallon", "regression"),
    Table("seattle_weather", _vega_csv("seattle_weather"), "weather", "classification"),
    Table("diabetes", _sklearn("diabetes", scaled=False), "target", "regression"),
    Table("wine", _sklearn("wine"), "target", "classification"),
    Table("breast_cancer", _sklearn("breast_cancer"), "target", "classification"),
)


# ---------------------------------------------------------------------------------------------
# kzoo's split, reproduced.


def _natural_key(text: str) -> tuple:
    """kzoo's class order: numbers by value first, then text."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def read_raw(csv_path: Path):
    """The file's cells as stripped strings (pandas DataFrame), nothing parsed."""
    import pandas as pd

    return pd.read_csv(csv_path, dtype=str, keep_default_na=False).apply(lambda c: c.str.strip())


def kzoo_split(raw, table: Table):
    """``(train_rows, val_rows)``: positions of data rows in the file, as kzoo splits them."""
    import numpy as np

    from kzoo.datasets.splits import split_rows

    target = raw[table.target].to_numpy()
    kept = np.nonzero(~np.isin(target, NA_VALUES))[0]
    labels = None
    if table.task == "classification":
        names = sorted(set(target[kept].tolist()), key=_natural_key)
        index = {n: i for i, n in enumerate(names)}
        labels = np.array([index[t] for t in target[kept]], dtype="int32")
    train, val = split_rows(len(kept), labels, VAL_SPLIT, SEED)
    return kept[np.sort(train)], kept[np.sort(val)]


# ---------------------------------------------------------------------------------------------
# Scores.


def _same(a: str, b: str) -> bool:
    """Class values compare as text, or as numbers when both are numbers ("1" == "1.0")."""
    a, b = str(a).strip(), str(b).strip()
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def score(task: str, truth, predicted) -> float:
    """Accuracy of class values (as text), or R^2 of numbers."""
    from sklearn.metrics import r2_score

    if task == "classification":
        return sum(_same(t, p) for t, p in zip(truth, predicted)) / len(truth)
    return float(r2_score([float(t) for t in truth], [float(p) for p in predicted]))


def baseline(csv_path: Path, table: Table, train, val, truth) -> float:
    """HistGradientBoosting fitted on the training rows, scored on the validation rows."""
    import pandas as pd
    from sklearn import ensemble

    frame = pd.read_csv(csv_path, keep_default_na=False, na_values=list(NA_VALUES))
    x = frame.drop(columns=[table.target])
    for column in x.columns:
        if not pd.api.types.is_numeric_dtype(x[column]):
            text = x[column].astype("string").str.strip()
            counts = Counter(v for v in text.iloc[train].tolist() if isinstance(v, str))
            kept = [v for v, _ in counts.most_common(MAX_CATEGORIES)]
            x[column] = pd.Categorical(text.where(text.isin(kept)), categories=sorted(kept))
    if table.task == "classification":
        y = frame[table.target].astype(str).str.strip()
        model = ensemble.HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=SEED)
    else:
        y = frame[table.target].astype(float)
        model = ensemble.HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=SEED)
    model.fit(x.iloc[train], y.iloc[train])
    return score(table.task, truth, model.predict(x.iloc[val]))


# ---------------------------------------------------------------------------------------------
# kzoo, as a user runs it.


def kzoo(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    """``python -m kzoo ARGS``: (seconds, completed process)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kzoo", *args], check=False, capture_output=True, text=True)
    return time.perf_counter() - start, done


def last_line(done: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"


def read_predictions(pred_csv: Path, num_rows: int) -> list[str]:
    """The first predicted column (the class name, or the value) of each data row of the file."""
    with open(pred_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    column = next(i for i, h in enumerate(header) if h not in ("row", "path"))
    if len(rows) != num_rows:
        raise RuntimeError(f"{len(rows)} prediction rows for {num_rows} data rows")
    by_row = {int(r[0]): r[column] for r in rows}
    return [by_row[i] for i in range(num_rows)]


def self_contained(model_path: Path, csv_path: Path, pred_csv: Path) -> str:
    """Whether the saved model alone reproduces ``kzoo predict`` on every raw row of the file:
    ``keras.saving.load_model`` fed the raw cells (numbers with NaN, strings), and the ONNX export
    fed the same cells encoded with nothing but its ``.inputs.json`` side file. "yes (d)" gives the
    largest difference d; tolerance 1e-4 (the prediction CSV rounds to 6 digits)."""
    import zipfile

    import keras
    import numpy as np
    import onnxruntime
    import tensorflow as tf

    with open(pred_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    first = 2 if len(rows[0]) > 2 else 1  # classifiers: skip the class name; regressors: the value
    expected = np.array([[float(v) for v in row[first:]] for row in rows[1:]])
    plan = json.loads(zipfile.ZipFile(model_path).read("kzoo.json"))["data"]["plan"]
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        cells = list(csv.DictReader(f))

    def number(text: str) -> float:
        return math.nan if text.strip() in NA_VALUES else float(text)

    numeric = np.array([[number(r[c]) for c in plan["numeric"]] for r in cells], "float32")
    strings = {c["input"]: np.array([[r[c["column"]].strip()] for r in cells]) for c in plan["categorical"]}
    x = {"numeric": numeric, **{k: tf.constant(v) for k, v in strings.items()}} if strings else numeric
    reloaded = np.asarray(keras.saving.load_model(model_path).predict(x, verbose=0)).reshape(len(cells), -1)

    onnx_path = model_path.with_suffix(".onnx")
    _, done = kzoo("export", str(model_path), "--format", "onnx", "-o", str(onnx_path))
    if done.returncode:
        return f"NO (export: {last_line(done)[:60]})"
    side = json.loads(Path(f"{onnx_path}.inputs.json").read_text())["inputs"]
    feed = {"numeric": numeric} if plan["numeric"] else {}
    for name, spec in side.items():
        if name != "numeric":
            index = {v: i + 1 for i, v in enumerate(spec["vocabulary"])}
            feed[name] = np.array([[index.get(s[0], 0)] for s in strings[name]], "int32")
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    exported = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0].reshape(len(cells), -1)
    diff = max(float(np.max(np.abs(reloaded - expected))), float(np.max(np.abs(exported - expected))))
    scale = max(1.0, float(np.max(np.abs(expected))))  # regression values in their own units: relative
    return f"yes ({diff:.0e})" if diff <= 1e-4 * scale else f"NO ({diff:.2g})"


# ---------------------------------------------------------------------------------------------


def run_table(table: Table, folder: Path, epochs: int | None) -> dict:
    csv_path = folder / f"{table.name}.csv"
    model_path = folder / f"{table.name}.keras"
    pred_csv = folder / f"{table.name}.pred.csv"
    table.loader(csv_path)
    raw = read_raw(csv_path)
    train, val = kzoo_split(raw, table)
    truth = raw[table.target].to_numpy()[val]
    row = {"table": table.name, "task": table.task, "metric": METRIC[table.task], "rows": len(raw),
           "train_rows": len(train), "val_rows": len(val), "kzoo": None, "baseline": None, "diff": None,
           "kzoo_seconds": None, "self_contained": "-", "error": None}

    train_args = ["train", "mlp", "--data", str(csv_path), "--target", table.target, "--val-split", str(VAL_SPLIT),
                  "--seed", str(SEED), "--out", str(model_path), "--quiet"]
    if epochs is not None:
        train_args += ["--epochs", str(epochs)]
    seconds, done = kzoo(*train_args)
    if done.returncode:
        row["error"] = f"kzoo failed: {last_line(done)}"
    else:
        row["kzoo_seconds"] = seconds
        _, done = kzoo("predict", str(model_path), "--data", str(csv_path), "-o", str(pred_csv))
        if done.returncode:
            row["error"] = f"kzoo predict failed: {last_line(done)}"
        else:
            try:
                predicted = read_predictions(pred_csv, len(raw))
                row["kzoo"] = score(table.task, truth, [predicted[i] for i in val])
            except Exception as exc:  # noqa: BLE001 -- a prediction file it cannot read is a result too
                row["error"] = f"kzoo predictions unreadable: {exc}"
            row["self_contained"] = self_contained(model_path, csv_path, pred_csv)

    try:
        row["baseline"] = baseline(csv_path, table, train, val, truth)
    except Exception as exc:  # noqa: BLE001 -- shown in the table; the other tables still run
        row["error"] = (row["error"] + "; " if row["error"] else "") + f"baseline failed: {exc}"
    if row["kzoo"] is not None and row["baseline"] is not None:
        row["diff"] = row["kzoo"] - row["baseline"]
    return row


def summary(rows: list[dict]) -> list[str]:
    lines = []
    for task, goal in GOALS.items():
        diffs = [r["diff"] for r in rows if r["task"] == task and r["diff"] is not None]
        total = sum(r["task"] == task for r in rows)
        if not total:
            continue
        if diffs:
            mean = sum(diffs) / len(diffs)
            verdict = "met" if mean >= -goal else "NOT met"
            lines.append(f"  {task}: mean {METRIC[task]} difference {mean:+.4f} over {len(diffs)} of {total} "
                         f"table(s) (goal >= -{goal}: {verdict})")
        else:
            lines.append(f"  {task}: no table scored by kzoo (0 of {total}); goal {METRIC[task]} within {goal}")
    return lines


def _fmt(value, spec: str, width: int) -> str:
    """``value`` in ``spec``, or a dash of the same width when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-".rjust(width)
    return format(value, spec)


def print_header(epochs: int | None) -> None:
    print(f"kzoo mlp defaults{f' (--epochs {epochs})' if epochs else ''} vs HistGradientBoosting, "
          f"val split {VAL_SPLIT}, seed {SEED}; score: accuracy (classification) or R^2 (regression); "
          f"train s: the whole `kzoo train` process")
    print(f"  {'table':16s} {'task':14s} {'rows':>5s} {'kzoo':>7s} {'baseline':>8s} {'diff':>8s} "
          f"{'train s':>7s}  self-contained", flush=True)


def print_row(r: dict) -> None:
    print(f"  {r['table']:16s} {r['task']:14s} {r['rows']:5d} {_fmt(r['kzoo'], '7.4f', 7)} "
          f"{_fmt(r['baseline'], '8.4f', 8)} {_fmt(r['diff'], '+8.4f', 8)} "
          f"{_fmt(r['kzoo_seconds'], '7.1f', 7)}  {r['self_contained']}")
    if r["error"]:
        print(f"  {'':16s} {r['error']}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [t.name for t in TABLES]
    parser.add_argument("--only", action="append", choices=names, metavar="NAME",
                        help=f"run this table only (repeatable): {', '.join(names)}")
    parser.add_argument("--epochs", type=int, help="passed to kzoo train (default: kzoo's)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--workdir", type=Path, help="write the CSVs, models and predictions here and keep them "
                                                     "(default: a temporary folder, removed)")
    args = parser.parse_args()
    tables = [t for t in TABLES if not args.only or t.name in args.only]

    with tempfile.TemporaryDirectory(prefix="kzoo-real-tables-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not args.json:
            print_header(args.epochs)
        rows = []
        for table in tables:
            rows.append(run_table(table, folder, args.epochs))
            if not args.json:
                print_row(rows[-1])
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for line in summary(rows):
            print(line)


if __name__ == "__main__":
    main()
