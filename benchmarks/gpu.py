"""kzoo on one GPU: its default training path against plain Keras ``fit`` (float32 and
mixed_bfloat16) and, when torch imports, the same architecture in plain PyTorch (float32 and
bfloat16 autocast), for a Conv2D/BatchNorm CNN (64-128-256 filters, 1.15M parameters, 20,000
32x32x3 images, batch 512) and the seed MLP (20,000 rows of 64 features, batch 128).

One line per figure: samples/s of the fastest epoch after the first (which compiles), and the
ratio to plain ``fit`` in float32 measured in the same run. Without a GPU it prints "no GPU" and exits 0.

It runs on the JAX backend (``KERAS_BACKEND``, default jax) from a kzoo wheel installed with
``--no-deps`` next to keras and jax (and torch): TensorFlow is not needed. On a machine whose
Python has jax, torch and numpy but not keras (Python 3.12), from the repository root:

    pip wheel --no-deps -w .whl . && pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --platform manylinux2014_x86_64 -d .whl keras namex optree pluggy click
    # there:
    pip install --no-deps --target /tmp/site .whl/*.whl && PYTHONPATH=/tmp/site python3 benchmarks/gpu.py

``--cpu`` runs the same code on the CPU with ``--images`` samples, to check it where there is no GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from families import clock, fastest_epoch_rate  # noqa: E402  (one clock for every figure)

SEED = 0
LEARNING_RATE = 1e-3


def gpu_name() -> str | None:
    """The first GPU of the backend Keras will use, found without importing keras; None without one."""
    backend = os.environ["KERAS_BACKEND"]
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            return gpus[0].device_kind if gpus else None
        if backend == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return gpus[0].name if gpus else None
    except (ImportError, RuntimeError):
        return None


# -- data and the two architectures -----------------------------------------------------------------
def images(n: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.random((n, 32, 32, 3), dtype="float32"), rng.integers(0, 10, n)


def table(n: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((n, 64), dtype="float32")
    return x, (x[:, :10].argmax(axis=1))  # a label the features decide


FILTERS = (64, 128, 256)


def keras_cnn(input_shape: tuple[int, ...] = (32, 32, 3), num_classes: int = 10) -> Any:
    """Two Conv2D/BatchNorm/ReLU layers per block, a max-pool after each block, then a linear head."""
    import keras

    inputs = keras.Input(input_shape, name="input")
    x = inputs
    for filters in FILTERS:
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(x))


def torch_cnn(num_classes: int = 10) -> Any:
    """:func:`keras_cnn` in PyTorch (channels first), the same layers and parameter count."""
    from torch import nn

    layers: list[Any] = []
    channels = 3
    for filters in FILTERS:
        for _ in range(2):
            layers += [nn.Conv2d(channels, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters), nn.ReLU()]
            channels = filters
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))


def torch_mlp(num_classes: int = 10) -> Any:
    """The seed MLP (64 -> 8 -> 16 -> 32 -> classes) in PyTorch."""
    from torch import nn

    return nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 32), nn.ReLU(),
                         nn.Linear(32, num_classes))


# -- the three ways to train ------------------------------------------------------------------------
def with_kzoo(family: str, x: Any, y: Any, batch: int, epochs: int, precision: str) -> float:
    import kzoo

    timer = clock()
    if family == "mlp":
        builder, config = kzoo.get("mlp"), {"input_dim": 64}
    else:
        builder, config = kzoo.model(keras_cnn, name="gpu_cnn"), {"input_shape": (32, 32, 3)}
    kzoo.train(builder, (x.reshape(len(x), -1), y), {**config, "num_classes": 10}, epochs=epochs, batch_size=batch,
               learning_rate=LEARNING_RATE, schedule="constant", standardize=False, seed=SEED, precision=precision,
               callbacks=[timer])
    return timer.samples_per_second(len(x))


def with_fit(family: str, x: Any, y: Any, batch: int, epochs: int, precision: str) -> float:
    import keras

    import kzoo

    keras.utils.set_random_seed(SEED)
    keras.config.set_dtype_policy(precision)
    try:
        model = kzoo.build("mlp", input_dim=64, num_classes=10) if family == "mlp" else keras_cnn()
    finally:
        keras.config.set_dtype_policy("float32")
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    timer = clock()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.samples_per_second(len(x))


def with_torch(family: str, x: Any, y: Any, batch: int, epochs: int, precision: str, device: str) -> float:
    import torch

    torch.manual_seed(SEED)
    net = (torch_mlp() if family == "mlp" else torch_cnn()).to(device)
    if family != "mlp":
        net = net.to(memory_format=torch.channels_last)
    inputs = torch.as_tensor(x if family == "mlp" else x.transpose(0, 3, 1, 2)).to(device)
    labels = torch.as_tensor(y).long().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    ends = []
    for _ in range(epochs):
        order = torch.randperm(len(inputs), device=device)
        for start in range(0, len(inputs), batch):
            rows = order[start:start + batch]
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                                enabled=precision == "mixed_bfloat16"):
                loss = loss_fn(net(inputs[rows]), labels[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        ends.append(time.perf_counter())
    return fastest_epoch_rate(ends, len(inputs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000, help="samples of each data set")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is left out)")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU anyway (a check of this script)")
    args = parser.parse_args()
    name = gpu_name()
    if name is None and not args.cpu:
        print(f"no GPU: {os.environ['KERAS_BACKEND']} sees none here; nothing measured")
        return
    import importlib.util

    import keras

    has_torch = importlib.util.find_spec("torch") is not None
    torch_device = "cpu"
    if has_torch:
        import torch

        torch_device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    print(f"kzoo on {name or 'CPU'}, Keras {keras.__version__} on {keras.config.backend()}; samples/s with "
          f"the fastest epoch after the first; ratio to plain fit float32", flush=True)
    for family, make, batch in (("cnn", images, 512), ("mlp", table, 128)):
        x, y = make(args.images)
        base = with_fit(family, x, y, batch, args.epochs, "float32")
        figures = [("plain fit", "float32", base),
                   ("plain fit", "mixed_bfloat16", with_fit(family, x, y, batch, args.epochs, "mixed_bfloat16")),
                   ("kzoo.train", "float32", with_kzoo(family, x, y, batch, args.epochs, "float32")),
                   ("kzoo.train", "mixed_bfloat16", with_kzoo(family, x, y, batch, args.epochs, "mixed_bfloat16"))]
        if has_torch:
            figures += [(f"PyTorch ({torch_device})", p, with_torch(family, x, y, batch, args.epochs, p, torch_device))
                        for p in ("float32", "mixed_bfloat16")]
        for who, precision, value in figures:
            print(f"{family:<4} {who:<18} {precision:<15} {value:>11,.0f} samples/s  {value / base:5.2f}x", flush=True)


if __name__ == "__main__":
    sys.exit(main())
