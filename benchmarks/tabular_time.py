"""Where a kzoo table model's time goes, against HistGradientBoosting's, in one run (issue 31).

For each table of ``real_tables.TABLES`` named by ``--only`` (same file, same split as
``benchmarks/real_tables.py``), this measures:

- HGB: fit + predict on the training rows, seconds (``real_tables.fit_reference``);
- the start: a fresh ``python -c "import kzoo, keras"`` (``real_tables.start_seconds``), the part
  of a ``kzoo train`` process spent before any work;
- ``kzoo.train(MODEL, ...)`` in this process (TensorFlow already imported), split by a Keras
  callback into: before training (reading the file, the plan, building, compiling); the first
  epoch (tracing included); the other epochs (their training steps and validation); after
  (restoring the best weights, wrapping, saving);
- the same training steps alone: steps run (epochs x batches an epoch) x the seconds of one
  ``train_step`` of the trained network at its batch size, timed in a compiled loop;
- the floor set by arithmetic: those steps' floating-point work (about 6 per parameter and row:
  forward and backward) at the rate of a large float32 matrix product on this machine, measured
  in this run. Its ratio to the steps' time says how close they already run to this CPU's limit
  (1.0 would be the matrix product's own speed).

Every figure is printed in seconds and as a multiple of HGB's, so the time goal (at most 20x
HGB's per table) can be read part by part. TensorFlow backend only (kzoo's default).

Run:  python benchmarks/tabular_time.py                       (boston, wage, randhie_visits)
      python benchmarks/tabular_time.py --only penguins --model tabm
Needs: what ``real_tables.py`` needs for the tables named (``pip install "kzoo[bench]"``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_tables as rt

DEFAULT_TABLES = ("boston", "wage", "randhie_visits")
STEP_REPEATS = 40
"""Steps timed per measurement (best of 3 measurements, after one call that traces)."""


def matmul_rate() -> float:
    """FLOP/s of a float32 ``(256, 1024) @ (1024, 1024)`` product, best of 3 (this machine's
    ceiling for dense layers, as TensorFlow runs them)."""
    import tensorflow as tf

    a, b = tf.random.normal((256, 1024)), tf.random.normal((1024, 1024))

    @tf.function
    def products(a, b):
        total = tf.zeros(())
        for _ in range(STEP_REPEATS):
            total += tf.reduce_sum(tf.matmul(a, b)[:1, :1])
            a = a + 1e-6
        return total

    products(a, b)
    best = min(_seconds(lambda: products(a, b)) for _ in range(3))
    return STEP_REPEATS * 2 * 256 * 1024 * 1024 / best


def step_seconds(network, batch_size: int) -> float:
    """Seconds of one ``train_step`` of the trained ``network`` (its own optimizer and loss) on a
    batch of ``batch_size`` rows, best of 3."""
    import numpy as np
    import tensorflow as tf

    (width,) = network.inputs[0].shape[1:]
    x = tf.constant(np.random.default_rng(0).normal(size=(batch_size, width)).astype("float32"))
    units = network.outputs[0].shape[-1]
    y = tf.zeros((batch_size, 1)) if units == 1 else tf.zeros((batch_size,), "int32")

    @tf.function(autograph=False)
    def steps(x, y):
        for _ in range(STEP_REPEATS):
            network.train_step((x, y))
        return tf.constant(0)

    steps(x, y)
    return min(_seconds(lambda: steps(x, y)) for _ in range(3)) / STEP_REPEATS


def _seconds(call) -> float:
    begin = time.perf_counter()
    call()
    return time.perf_counter() - begin


def epoch_clock():
    """A Keras callback that notes the time training starts and each epoch ends (epoch-level
    only, so kzoo keeps its fast path)."""
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_train_begin(self, logs=None) -> None:
            self.times.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.times.append(time.perf_counter())

    return Clock()


def measure(table: rt.Table, model: str, folder: Path, rate: float) -> dict:
    """One table's parts, in seconds (see the module docstring)."""
    import kzoo

    csv_path = folder / f"{table.name}.csv"
    table.read(table.shipped(), csv_path)
    raw = rt.read_raw(csv_path)
    train, val = rt.kzoo_split(raw, table)
    x, y = rt.frame(csv_path, table, train)
    _, hgb = rt.fit_reference("hgb", table, x, y, train, val)
    start = rt.start_seconds()
    train_csv = folder / f"{table.name}.train.csv"
    raw.iloc[train].to_csv(train_csv, index=False)
    clock = epoch_clock()
    begin = time.perf_counter()
    result = kzoo.train(model, train_csv, target=table.target, task=table.task, drop=list(table.drop),
                        val_split=rt.VAL_SPLIT, seed=rt.SEED, out=folder / f"{table.name}.keras", callbacks=[clock])
    end = time.perf_counter()
    batch = int(result.metadata["training"]["batch_size"])
    fitted_rows = len(train) - math.ceil(len(train) * rt.VAL_SPLIT)  # kzoo's own validation split
    epochs = len(clock.times) - 1
    steps = epochs * math.ceil(fitted_rows / batch)
    step = step_seconds(result.network, batch)
    times = clock.times
    return {"table": table.name, "rows": len(train), "hgb": hgb, "start": start, "train": end - begin,
            "before": times[0] - begin, "first": times[1] - times[0], "others": times[-1] - times[1],
            "after": end - times[-1], "epochs": epochs, "steps": steps, "batch": batch, "step": step,
            "alone": steps * step, "floor": steps * 6 * result.network.count_params() * batch / rate,
            "params": result.network.count_params()}


def lines(parts: dict, rate: float) -> list[str]:
    """One table's report: each part in seconds and as a multiple of HGB's."""
    hgb = parts["hgb"]
    steps_an_epoch = parts["steps"] // parts["epochs"]
    each = parts["others"] / max(1, parts["epochs"] - 1) * 1e3
    cells = [
        ("HGB fit + predict", hgb),
        ("kzoo's process start (Python, TensorFlow)", parts["start"]),
        ("kzoo.train in-process", parts["train"]),
        ("  before training (read, plan, build)", parts["before"]),
        ("  first epoch (tracing included)", parts["first"]),
        (f"  other {parts['epochs'] - 1} epochs ({each:.0f} ms each)", parts["others"]),
        ("  after (best weights, wrapping, saving)", parts["after"]),
        (f"the {parts['steps']} steps alone ({parts['step'] * 1e3:.1f} ms each)", parts["alone"]),
        (f"their arithmetic at {rate / 1e9:.0f} GFLOP/s", parts["floor"]),
        ("a `kzoo train` process: start + in-process", parts["start"] + parts["train"]),
    ]
    title = (f"{parts['table']} ({parts['rows']} training rows; {parts['epochs']} epochs x {steps_an_epoch} steps "
             f"of {parts['batch']} rows; {parts['params']:,} parameters)")
    return [title, *(f"  {label:46s}{seconds:8.2f} s {seconds / hgb:7.1f}x" for label, seconds in cells),
            f"  {'steps alone at this share of the matmul rate':46s}{parts['floor'] / parts['alone']:8.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="a table of real_tables.py (repeatable)")
    parser.add_argument("--model", default="realmlp", help="the kzoo model (default: realmlp)")
    args = parser.parse_args()
    names = args.only or list(DEFAULT_TABLES)
    known = {t.name: t for t in rt.TABLES}
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)}; expected some of: {', '.join(known)}")
    missing = [n for n in names if known[n].shipped() is None]
    if missing:
        parser.error(f"the package shipping {', '.join(missing)} is not installed; pip install \"kzoo[bench]\"")
    rate = matmul_rate()
    print(f"{args.model} against HGB ({rt.THREADS} threads, as in real_tables.py); "
          f"float32 matmul rate here: {rate / 1e9:.0f} GFLOP/s")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print("\n".join(lines(measure(known[name], args.model, Path(folder), rate), rate)), flush=True)


if __name__ == "__main__":
    main()
