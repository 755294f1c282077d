"""``cross_val_score`` of kzoo's ``KzooClassifier`` against scikit-learn's ``MLPClassifier`` and
``HistGradientBoostingClassifier`` on three tables scikit-learn ships, in one run.

What a scikit-learn user would do: the same five stratified folds (shuffled, seed 0) for every
contender, ``cross_val_score(estimator, X, y, cv=folds)`` on the raw table (kzoo and HGB take it as
it is; ``MLPClassifier`` gets a ``StandardScaler`` in a pipeline, as its docs ask), one process, serial
(``n_jobs=1``), timed from call to return after a warm-up fit of each (imports, Keras's start).

- kzoo: ``KzooClassifier(MODEL, random_state=0)``: kzoo's defaults (its table model ``realmlp``
  with its recipe unless ``--model`` says otherwise; ``--epochs`` caps the epochs).
- ``MLPClassifier(random_state=0, max_iter=500)`` (one hidden layer of 100), behind ``StandardScaler``.
- ``HistGradientBoostingClassifier(random_state=0)``.

Printed per table: each contender's seconds and mean accuracy, kzoo's time as a multiple of each
reference's and its accuracy gap; then the geometric means of the time ratios. ``--json``
prints the same as JSON. ``--quick`` is a smoke run: wine only, two folds, a tiny ``mlp``.
``--threads`` (default 1) caps the OpenMP and BLAS threads of the references (threadpoolctl):
on a loaded machine HGB's OpenMP threads wait for each other and its time says nothing.

Run:  python benchmarks/sklearn_cv.py                  python benchmarks/sklearn_cv.py --json
      python benchmarks/sklearn_cv.py --model mlp --epochs 50
      python benchmarks/sklearn_cv.py --quick          python benchmarks/sklearn_cv.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TABLES = ("breast_cancer", "wine", "digits")
REFERENCES = ("mlp_sklearn", "hgb")
SEED = 0


def load(name: str):
    """``(X, y)`` of one of scikit-learn's bundled tables, as a DataFrame and a Series."""
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=True)


def contenders(model: str | None, epochs: int | None, quick: bool) -> dict[str, object]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kzoo.sklearn import KzooClassifier

    if quick:
        kzoo = KzooClassifier("mlp", model_params={"hidden_units": (16,)}, epochs=5, random_state=SEED)
    else:
        kzoo = KzooClassifier(model, epochs=epochs, random_state=SEED)
    return {"kzoo": kzoo,
            "mlp_sklearn": make_pipeline(StandardScaler(), MLPClassifier(random_state=SEED, max_iter=50 if quick else 500)),
            "hgb": HistGradientBoostingClassifier(random_state=SEED, max_iter=10 if quick else 100)}


def run_table(name: str, estimators: dict[str, object], folds: int) -> dict[str, object]:
    """Seconds and mean accuracy of each contender's ``cross_val_score`` on table ``name``."""
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = load(name)
    cv = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    row: dict[str, object] = {"table": name, "rows": len(X), "columns": X.shape[1], "classes": int(y.nunique())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for label, estimator in estimators.items():
            clone(estimator).fit(X.iloc[::4], y.iloc[::4])  # warm-up: imports, and Keras's first start
            start = time.perf_counter()
            scores = cross_val_score(clone(estimator), X, y, cv=cv, n_jobs=1)
            row[label] = {"seconds": time.perf_counter() - start, "accuracy": float(scores.mean()),
                          "folds": [float(s) for s in scores]}
    for reference in REFERENCES:
        row[f"time_vs_{reference}"] = row["kzoo"]["seconds"] / row[reference]["seconds"]
        row[f"accuracy_vs_{reference}"] = row["kzoo"]["accuracy"] - row[reference]["accuracy"]
    return row


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def table_lines(row: dict[str, object]) -> list[str]:
    parts = [f"{label} {row[label]['seconds']:6.2f} s acc {row[label]['accuracy']:.4f}" for label in ("kzoo", *REFERENCES)]
    return [f"  {row['table']:14s} " + "   ".join(parts),
            f"  {'':14s} kzoo time x{row['time_vs_mlp_sklearn']:.1f} MLPClassifier's, x{row['time_vs_hgb']:.1f} HGB's; "
            f"accuracy {row['accuracy_vs_mlp_sklearn']:+.4f} vs MLPClassifier, {row['accuracy_vs_hgb']:+.4f} vs HGB"]


def summary_line(summary: dict[str, float]) -> str:
    return (f"  geometric mean of kzoo's time ratios: x{summary['time_vs_mlp_sklearn']:.1f} MLPClassifier's, "
            f"x{summary['time_vs_hgb']:.1f} HGB's; mean accuracy gap {summary['accuracy_vs_mlp_sklearn']:+.4f} "
            f"vs MLPClassifier, {summary['accuracy_vs_hgb']:+.4f} vs HGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--model", help="the kzoo model (default: KzooClassifier's, kzoo's table model)")
    parser.add_argument("--epochs", type=int, help="epochs of the kzoo model (default: its recipe's)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    parser.add_argument("--only", action="append", choices=TABLES, metavar="NAME",
                        help=f"run this table only (repeatable): {', '.join(TABLES)}")
    parser.add_argument("--quick", action="store_true", help="a smoke run: wine, two folds, a tiny mlp")
    parser.add_argument("--json", action="store_true", help="print the rows and the summary as JSON")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP and BLAS threads of HGB and MLPClassifier (default: %(default)s)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    tables = ["wine"] if args.quick else [t for t in TABLES if not args.only or t in args.only]
    folds = 2 if args.quick else args.folds
    import keras

    estimators = contenders(args.model, args.epochs, args.quick)
    if not args.json:
        print(f"cross_val_score, {folds} stratified folds, serial; kzoo {estimators['kzoo']!r} on backend "
              f"{keras.config.backend()}; CPU threads: {os.cpu_count()}, references' threads: {args.threads}", flush=True)
    rows = []
    for name in tables:
        rows.append(run_table(name, estimators, folds))
        if not args.json:
            print("\n".join(table_lines(rows[-1])), flush=True)
    summary = {key: geometric_mean([r[key] for r in rows]) for key in ("time_vs_mlp_sklearn", "time_vs_hgb")}
    summary.update({key: sum(r[key] for r in rows) / len(rows) for key in ("accuracy_vs_mlp_sklearn", "accuracy_vs_hgb")})
    if args.json:
        print(json.dumps({"folds": folds, "threads": args.threads, "kzoo": repr(estimators["kzoo"]), "tables": rows,
                          "summary": summary}, indent=2))
    else:
        print(summary_line(summary))


if __name__ == "__main__":
    main()
