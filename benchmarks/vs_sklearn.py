"""kzoo's ``mlp`` against scikit-learn's ``MLPClassifier`` on the small tables a user would pick
scikit-learn for, measured in one process after imports, on the default backend and on JAX.

Both get the same stratified 80/20 split (seed 0) and the same scaling (the data set's own:
iris, wine, breast_cancer standardized, digits divided by 16, as ``kzoo.datasets.load`` does),
the same architecture (one hidden layer of 100 units: ``MLPClassifier``'s default), and are
timed from call to return, best of two. kzoo runs ``kzoo.train(..., val_split=0.2)`` with its
defaults (early stopping on the validation split); scikit-learn fits on the 80% and is scored on
the 20%. Printed: seconds, time ratio kzoo/sklearn, validation accuracy of both, and the geometric
mean of the ratios. Goal (issue 9): geometric mean <= 2x, kzoo's accuracy >= sklearn's - 0.01.

Run:  python benchmarks/vs_sklearn.py            (every backend, each in its own process)
      python benchmarks/vs_sklearn.py --backend jax
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATASETS = ("iris", "wine", "breast_cancer", "digits")
BACKENDS = ("tensorflow", "jax")
SEED = 0


def best_of(repeat: int, run):
    """``(seconds, result)`` of the fastest of ``repeat`` calls."""
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
        if best is None or seconds < best[0]:
            best = (seconds, result)
    return best


def measure(repeat: int) -> None:
    import keras
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import kzoo
    from kzoo._workflow import training

    print(f"kzoo mlp(hidden_units=(100,)) vs sklearn MLPClassifier(hidden_layer_sizes=(100,)), "
          f"backend {keras.config.backend()}, CPU threads: {os.cpu_count()}, best of {repeat}")
    ratios = []
    for name in DATASETS:
        data = kzoo.datasets.load(name, "mlp", {"hidden_units": (100,)}, val_split=0.2, seed=SEED)
        (x_train, y_train), (x_val, y_val) = training.split(data, 0.2, SEED)  # the split kzoo.train makes
        xt, yt, xv, yv = x_train["input"], y_train["output"], x_val["input"], y_val["output"]

        def sklearn_fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return MLPClassifier(hidden_layer_sizes=(100,), random_state=SEED).fit(xt, yt)

        def kzoo_fit():
            return kzoo.train("mlp", data, {"hidden_units": (100,)}, val_split=0.2, seed=SEED)

        kzoo_fit()  # warm-up: the first run of a process also pays for imports inside kzoo and Keras
        sk_seconds, sk_model = best_of(repeat, sklearn_fit)
        kz_seconds, kz_result = best_of(repeat, kzoo_fit)
        sk_accuracy = float(np.mean(sk_model.predict(xv) == yv))
        kz_accuracy = kz_result.metrics["val_accuracy"]
        ratio = kz_seconds / sk_seconds
        ratios.append(ratio)
        print(f"  {name:14s} kzoo {kz_seconds:6.2f} s ({kz_result.epochs:3d} epochs)  sklearn {sk_seconds:6.2f} s  "
              f"ratio {ratio:5.1f}x  val accuracy kzoo {kz_accuracy:.4f} sklearn {sk_accuracy:.4f} "
              f"({kz_accuracy - sk_accuracy:+.4f})")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"  geometric mean of time ratios: {geo:.1f}x (goal <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, help="measure on this backend only (in this process)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs of each")
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend  # before anything imports keras
        measure(args.repeat)
        return
    for backend in BACKENDS:  # one process per backend: Keras picks its backend once
        subprocess.run([sys.executable, __file__, "--backend", backend, "--repeat", str(args.repeat)], check=True)


if __name__ == "__main__":
    main()
