"""How fast kzoo's strategy.run training loop is against model.fit, on one process, no strategy.

    python benchmarks/bench_custom_loop.py [EPOCHS]

Trains the built-in mlp on scikit-learn's digits (1,797 samples, batch 32) three ways, after a
warm-up epoch each (tracing), and prints seconds per epoch and the ratio to model.fit with
steps_per_execution=1, the baseline measured in the same run. It tells what multi-worker training
pays per step for its own loop, before any network cost.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(epochs: int = 5) -> None:
    import keras
    from sklearn.datasets import load_digits

    import kzoo
    from kzoo import distribute

    x, y = load_digits(return_X_y=True)
    x, y = (x / 16.0).astype("float32"), y.astype("int32")
    builder = kzoo.get("mlp")

    def model(steps_per_execution: int = 1):
        keras.utils.set_random_seed(0)
        return builder.compile(builder.build(input_dim=64, num_classes=10), steps_per_execution=steps_per_execution)

    def timed(train) -> float:
        train(1)  # warm-up: tracing and graph building
        start = time.perf_counter()
        train(epochs)
        return (time.perf_counter() - start) / epochs

    runs = {}
    m1 = model(1)
    runs["model.fit, steps_per_execution=1 (baseline)"] = timed(
        lambda n: m1.fit(x, y, batch_size=32, epochs=n, verbose=0))
    m64 = model(64)
    runs["model.fit, steps_per_execution=64"] = timed(lambda n: m64.fit(x, y, batch_size=32, epochs=n, verbose=0))
    loop = model(1)
    runs["kzoo.distribute.fit_custom_loop, no strategy"] = timed(
        lambda n: distribute.fit_custom_loop(loop, x, y, strategy=None, batch_size=32, epochs=n))
    baseline = next(iter(runs.values()))
    print(f"digits, mlp (64 -> 8,16,32 -> 10), batch 32, {epochs} epochs after one warm-up epoch")
    for name, seconds in runs.items():
        print(f"  {name:48s} {seconds * 1000:8.1f} ms/epoch   x{seconds / baseline:.2f} of baseline time")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
