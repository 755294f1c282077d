"""kzoo's default training path against plain ``model.fit``, for every model family on every backend.

For each family (the seed MLP on a table; a Conv2D CNN on 8x8 digits and on 32x32x3 images; an
Embedding + LSTM and an Embedding + GRU text model; a small Transformer encoder block; the zoo's
keras.applications MobileNetV3Small at 96x96) and each
installed backend (tensorflow, jax, torch), one process per backend (Keras picks its backend once)
trains the same model twice from the same seed on the same in-memory data, batch and optimizer
(Adam, constant learning rate):

- kzoo: ``kzoo.train(builder, (x, y), ...)``, what ``kzoo train`` runs (its compile options, its
  choice between the one-call-per-epoch fast path and ``model.fit``, its input pipeline);
- fit:  ``model.compile(...)`` with Keras's defaults, then ``model.fit(x, y)`` on numpy arrays.

Samples/s leave epoch 1 (tracing and compiling) out; each figure is the fastest epoch of either
side over ``--repeat`` runs. On a shared machine noise only ever adds time, and an epoch of a small
family lasts a tenth of a second, so a mean over epochs moved the same cell from 0.89x to 1.21x
between runs; the fastest epoch is what each path can do.
Goal (issue 18): kzoo / fit >= 1.0 in every cell (0.95 is noise).

Run:  python benchmarks/families.py                       (every installed backend)
      python benchmarks/families.py --backend jax --families cnn32,lstm
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BACKENDS = ("tensorflow", "jax", "torch")
if "--backend" in sys.argv[:-1]:  # Keras reads KERAS_BACKEND once, when first imported
    os.environ["KERAS_BACKEND"] = sys.argv[sys.argv.index("--backend") + 1]

SEED = 0
LEARNING_RATE = 1e-3


# -- the families: (data, model, batch size) ----------------------------------------------------
def table_data() -> tuple[Any, Any]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y


def digits_images() -> tuple[Any, Any]:
    x, y = table_data()
    return x.reshape(-1, 8, 8, 1), y


def random_images() -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.random((2048, 32, 32, 3), dtype="float32"), rng.integers(0, 10, 2048)


def token_data(length: int) -> Callable[[], tuple[Any, Any]]:
    def make() -> tuple[Any, Any]:
        import numpy as np

        rng = np.random.default_rng(SEED)
        x = rng.integers(1, 1000, (1024, length)).astype("int32")
        return x, (x[:, :8] < 500).sum(axis=1) % 2  # a label the sequence decides
    return make


def images96() -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.integers(0, 256, (512, 96, 96, 3)).astype("float32"), rng.integers(0, 10, 512)


def mobilenet_v3_small(input_shape: tuple[int, ...] = (96, 96, 3), num_classes: int = 10) -> Any:
    import kzoo

    return kzoo.build("mobilenet_v3_small", input_shape=input_shape, num_classes=num_classes)


def seed_mlp(input_shape: tuple[int, ...] = (64,), num_classes: int = 10) -> Any:
    import kzoo

    return kzoo.build("mlp", input_dim=input_shape[0], num_classes=num_classes)


def cnn(input_shape: tuple[int, ...] = (8, 8, 1), num_classes: int = 10, filters: tuple[int, ...] = (16, 32)) -> Any:
    import keras

    inputs = keras.Input(input_shape, name="input")
    x = inputs
    for count in filters:
        x = keras.layers.Conv2D(count, 3, padding="same", activation="relu")(x)
        if x.shape[1] > 2:
            x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(x))


def cnn32(input_shape: tuple[int, ...] = (32, 32, 3), num_classes: int = 10) -> Any:
    return cnn(input_shape, num_classes, filters=(8, 8, 16))


def recurrent(cell: str) -> Callable[..., Any]:
    def build(input_shape: tuple[int, ...] = (40,), num_classes: int = 2) -> Any:
        import keras

        inputs = keras.Input(input_shape, name="input", dtype="int32")
        x = keras.layers.Embedding(1000, 16)(inputs)
        x = getattr(keras.layers, cell)(16)(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(x))
    build.__name__ = cell.lower()
    return build


def transformer(input_shape: tuple[int, ...] = (32,), num_classes: int = 2) -> Any:
    """One Transformer encoder block (keras.io's text classifier, token embedding only)."""
    import keras

    inputs = keras.Input(input_shape, name="input", dtype="int32")
    x = keras.layers.Embedding(1000, 32)(inputs)
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x + attended)
    fed = keras.layers.Dense(32)(keras.layers.Dense(64, activation="relu")(x))
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x + fed)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(x))


FAMILIES: dict[str, tuple[Callable[[], tuple[Any, Any]], Callable[..., Any], int, str]] = {
    "mlp": (table_data, seed_mlp, 32, "seed MLP, digits table (1797 x 64)"),
    "cnn8": (digits_images, cnn, 64, "Conv2D CNN, digits as 8x8x1 images"),
    "cnn32": (random_images, cnn32, 64, "Conv2D CNN, 2048 random 32x32x3 images"),
    "lstm": (token_data(40), recurrent("LSTM"), 64, "Embedding + LSTM, 1024 x 40 tokens"),
    "gru": (token_data(40), recurrent("GRU"), 64, "Embedding + GRU, 1024 x 40 tokens"),
    "transformer": (token_data(32), transformer, 64, "Transformer encoder block, 1024 x 32 tokens"),
    "mobilenet_v3_small": (images96, mobilenet_v3_small, 32,
                           "keras.applications MobileNetV3Small (zoo model), 512 random 96x96x3 images"),
}
ZOO = {"mlp": "mlp", "mobilenet_v3_small": "mobilenet_v3_small"}
"""Families that are zoo models: kzoo trains the registered model itself."""


# -- one backend, in this process -----------------------------------------------------------------
def fastest_epoch_rate(ends: list[float], rows: int) -> float:
    """Samples/s of the fastest epoch after the first, from the time each epoch ended."""
    return rows / min(b - a for a, b in zip(ends, ends[1:]))


def clock() -> Any:
    import keras

    class EpochClock(keras.callbacks.Callback):
        """Wall-clock time at the end of each epoch (an epoch-level callback: the fast path keeps it);
        the rate is that of the fastest epoch after the first."""

        def on_train_begin(self, logs: Any = None) -> None:
            self.ends: list[float] = []

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.ends.append(time.perf_counter())

        def samples_per_second(self, rows: int) -> float:
            return fastest_epoch_rate(self.ends, rows)

    return EpochClock()


def measure(family: str, epochs: int) -> tuple[float, float]:
    """``(kzoo, fit)`` samples/s for one family, each from the same seed."""
    import keras

    import kzoo

    make_data, make_model, batch_size, _ = FAMILIES[family]
    x, y = make_data()
    shape = tuple(x.shape[1:])
    num_classes = int(y.max()) + 1
    builder = kzoo.get(ZOO[family]) if family in ZOO else kzoo.model(make_model, name=family)
    config = {"input_dim": shape[0]} if family == "mlp" else {"input_shape": shape}
    kzoo_clock = clock()
    kzoo.train(builder, (x.reshape(len(x), -1), y), {**config, "num_classes": num_classes}, epochs=epochs,
               batch_size=batch_size, learning_rate=LEARNING_RATE, schedule="constant", standardize=False,
               seed=SEED, callbacks=[kzoo_clock])

    keras.utils.set_random_seed(SEED)
    model = make_model(shape, num_classes)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    fit_clock = clock()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[fit_clock])
    return kzoo_clock.samples_per_second(len(x)), fit_clock.samples_per_second(len(x))


def one_backend(families: list[str], epochs: int, repeat: int) -> None:
    """Print one JSON line per family: ``{"family", "backend", "kzoo", "fit"}`` (fastest epoch of ``repeat`` runs)."""
    import keras

    for family in families:
        runs = [measure(family, epochs) for _ in range(repeat)]
        print(json.dumps({"family": family, "backend": keras.config.backend(),
                          "kzoo": max(r[0] for r in runs), "fit": max(r[1] for r in runs)}), flush=True)


# -- every backend, each in its own process -------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, help="measure on this backend only, in this process")
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated: {', '.join(FAMILIES)}")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is left out)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (the fastest epoch counts)")
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; expected some of {', '.join(FAMILIES)}")
    if args.backend:
        one_backend(families, args.epochs, args.repeat)
        return
    backends = [b for b in BACKENDS if importlib.util.find_spec(b) is not None]
    print(f"kzoo's default training path vs plain model.fit, samples/s (fastest epoch after the first, "
          f"{args.repeat} runs), CPU threads: {os.cpu_count()}; goal kzoo/fit >= 1.0 (0.95 is noise)")
    cells: dict[tuple[str, str], dict[str, float]] = {}
    for backend in backends:
        command = [sys.executable, __file__, "--backend", backend, "--families", ",".join(families),
                   "--epochs", str(args.epochs), "--repeat", str(args.repeat)]
        done = subprocess.run(command, capture_output=True, text=True)
        for line in done.stdout.splitlines():
            if line.startswith("{"):
                cell = json.loads(line)
                cells[cell["family"], backend] = cell
        if done.returncode:
            print(f"{backend}: failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    header = f"{'family':<12}" + "".join(f"{b + ' kzoo/fit':>30}" for b in backends)
    print(header)
    worst = None
    for family in families:
        row = f"{family:<12}"
        for backend in backends:
            cell = cells.get((family, backend))
            if cell is None:
                row += f"{'-':>30}"
                continue
            ratio = cell["kzoo"] / cell["fit"]
            worst = ratio if worst is None else min(worst, ratio)
            row += f"{cell['kzoo']:>9.0f} /{cell['fit']:>8.0f} = {ratio:5.2f}x    "
        print(row, flush=True)
    for family in families:
        print(f"  {family}: {FAMILIES[family][3]}, batch {FAMILIES[family][2]}")
    if worst is not None:
        print(f"worst cell: {worst:.2f}x (goal >= 1.0; 0.95 is noise)")


if __name__ == "__main__":
    main()
