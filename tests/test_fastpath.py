"""kzoo._engine.fastpath: a small table's epoch (and its validation) as one compiled call trains exactly
what ``model.fit`` trains, on TensorFlow, JAX and PyTorch, and is only taken where it may be."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kzoo
from kzoo._engine import fastpath
from kzoo._system.backend import name as active_backend
from kzoo._workflow import training

# iris, batch 32: 120 training rows are 3 full batches and one of 24; validation in batches of 8:
# 30 rows are 3 full batches and one of 6. Both loops and both remainders run. "cnn": digits as
# 8x8 images, 1,437 training rows (44 batches and one of 29), 360 validation rows.
COMPARE = """
import json, sys
import kzoo
from kzoo._engine import fastpath, fitting
fitting.EVAL_BATCH_SIZE = fastpath.EVAL_BATCH_SIZE = 8  # both read it: model.fit's validation and the fast path's
used = []
real_fit = fastpath.fit
fastpath.fit = lambda *a, **k: used.append(1) or real_fit(*a, **k)


@kzoo.model()
def small_cnn(input_shape=(8, 8, 1), num_classes=10):  # conv, pooling, batch norm: other fusions than an MLP's
    import keras
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(keras.layers.MaxPooling2D()(x))
    outputs = keras.layers.Dense(num_classes, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)
MODEL, DATA = {"mlp": ("mlp", "iris"), "cnn": (small_cnn, "digits")}[sys.argv[1]]
def run():
    r = kzoo.train(MODEL, DATA, epochs=4, batch_size=32, val_split=0.2, seed=3, patience=0)
    return {k: [float(v) for v in vs] for k, vs in r.history.items()}, [w.tolist() for w in r.model.get_weights()]
fast = run()
taken = len(used)  # by default
if not taken:  # the compiled epoch itself must still train what model.fit trains (a GPU takes it)
    fastpath.has_convolution = lambda net: False
    fast = run()
real_applies = fastpath.applies
fastpath.applies = lambda *a, **k: False
slow = run()
json.dump({"fast": fast, "slow": slow, "used": len(used), "taken": taken}, sys.stdout)
"""


def compare(backend: str, model: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """COMPARE's verdict: run here on this process's backend, else in a fresh interpreter on
    ``backend``; what it patches in kzoo is restored after the test."""
    if backend == active_backend():
        from kzoo._engine import fitting

        for module, name in ((fitting, "EVAL_BATCH_SIZE"), (fastpath, "EVAL_BATCH_SIZE"), (fastpath, "fit"),
                             (fastpath, "has_convolution"), (fastpath, "applies")):
            monkeypatch.setattr(module, name, getattr(module, name))
        monkeypatch.setattr(sys, "argv", ["compare", model])
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(COMPARE, {"__name__": "kzoo_fastpath_compare"})
        return json.loads(printed.getvalue().strip().splitlines()[-1])
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", COMPARE, model], check=False, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend, model, taken", [
    ("tensorflow", "mlp", 1), ("tensorflow", "cnn", 1),
    pytest.param("jax", "mlp", 1, marks=pytest.mark.slow), pytest.param("jax", "cnn", 0, marks=pytest.mark.slow),
    pytest.param("torch", "mlp", 1, marks=pytest.mark.slow), pytest.param("torch", "cnn", 1, marks=pytest.mark.slow)])
def test_the_fast_path_trains_what_model_fit_trains(backend, model, taken, monkeypatch):
    """On JAX's CPU backend a convolutional model goes through model.fit by default (what
    benchmarks/families.py measures); forced onto the fast path, it still trains the same. On
    PyTorch the fast path is a Python loop of Keras's own steps, without model.fit's adapters."""
    if importlib.util.find_spec(backend) is None:  # not importorskip: that would import torch into this process
        pytest.skip(f"{backend} is not installed")
    result = compare(backend, model, monkeypatch)
    assert result["taken"] == taken and result["used"] == 1  # exactly one run took the fast path
    (fast_history, fast_weights), (slow_history, slow_weights) = result["fast"], result["slow"]
    assert set(fast_history) == set(slow_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in slow_history:
        np.testing.assert_allclose(fast_history[key], slow_history[key], rtol=1e-4, atol=1e-5, err_msg=key)
    for fast, slow in zip(fast_weights, slow_weights):
        np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)


def test_sample_weights_train_the_same_on_the_fast_path_and_through_model_fit(monkeypatch):
    """Weights (kzoo.sklearn's sample_weight) follow the validation split and scale each row's
    loss on both loops alike; and they do change the run."""
    data = kzoo.datasets.load("iris", "mlp", val_split=0.2, seed=3)
    weights = np.linspace(0.1, 3.0, data.num_samples).astype("float32")

    def run(sample_weight):
        data.sample_weight = sample_weight
        return training.train("mlp", data, epochs=3, batch_size=32, val_split=0.2, seed=3, patience=0).history

    fast, plain = run(weights), run(None)
    monkeypatch.setattr(fastpath, "applies", lambda *a, **k: False)
    slow = run(weights)
    assert set(fast) == set(slow) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in slow:
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert not np.allclose(fast["loss"], plain["loss"], rtol=1e-3)


def test_early_stopping_on_the_fast_path_restores_the_best_epoch(monkeypatch):
    calls = []
    real_fit = fastpath.fit
    monkeypatch.setattr(fastpath, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    result = training.train("mlp", "iris", epochs=300, val_split=0.2, patience=2, batch_size=16)
    assert calls == [1]
    best = result.metadata["stopping"]["best_epoch"]
    assert result.epochs == best + 2 < 300
    data = kzoo.datasets.load("iris", "mlp", val_split=0.2)
    _, (x_val, y_val) = training.split(data, 0.2, 0)
    assert kzoo.get("mlp").evaluate(result.network, x_val, y_val)["accuracy"] == pytest.approx(
        result.history["val_accuracy"][best - 1])


@pytest.mark.parametrize("options, taken", [
    ({}, True),
    ({"steps_per_execution": 1}, False),  # 150 rows: 5 steps an epoch, one per execution: model.fit, to debug
    ({"steps_per_execution": 4}, False),
    ({"steps_per_execution": 5}, True),
    ({"callbacks": ["batches"]}, False),  # a callback that wants per-batch calls
    ({"callbacks": ["epochs"]}, True),  # one that acts at the end of each epoch is called there
    ({"verbose": 1}, False),  # Keras's progress bar
    ({"verbose": 2}, True),  # kzoo's own per-epoch lines
])
def test_the_fast_path_is_taken_only_where_an_epoch_is_one_call_of_kzoo_s_own(monkeypatch, options, taken, capsys):
    import keras

    calls = []
    real_fit = fastpath.fit
    monkeypatch.setattr(fastpath, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    seen = []

    class Batches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch", batch))

    class Epochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))

    if options.get("callbacks"):
        options = {**options, "callbacks": [{"batches": Batches, "epochs": Epochs}[options["callbacks"][0]]()]}
    result = training.train("mlp", "iris", epochs=2, batch_size=32, **options)
    assert bool(calls) is taken and result.epochs == 2 and len(result.history["loss"]) == 2
    if options.get("callbacks") and taken:
        assert seen == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"])]
    elif options.get("callbacks"):
        assert seen and all(s[0] == "batch" for s in seen)  # once per execution


@pytest.mark.parametrize("n, batch, expected", [(120, 128, (0, 120)), (128, 128, (0, 128)), (142, 128, (1, 14)),
                                                (256, 128, (1, 128)), (1437, 128, (11, 29))])
def test_split_leaves_the_last_batch_out_of_the_loop(n, batch, expected):
    assert fastpath._split(n, batch) == expected


def test_only_a_small_epoch_of_a_dense_model_is_compiled_for_a_short_compile():
    pytest.importorskip("jax")
    import keras

    small = kzoo.build("mlp", input_dim=64, num_classes=10)
    wide = kzoo.build("mlp", input_dim=64, num_classes=10, hidden_units=[1000, 1000])
    assert fastpath._jax_compiler_options(small, 1_437) == fastpath.QUICK_COMPILE  # digits
    assert fastpath._jax_compiler_options(wide, 5_000) is None  # the arithmetic dominates: optimize it
    inputs = keras.Input((40,), dtype="int32")
    for layer in (keras.layers.LSTM(4), keras.layers.Conv1D(4, 3)):  # work per weight is not ~2 flops a row
        x = keras.layers.Embedding(50, 4)(inputs)
        recurrent = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(layer(x))))
        assert recurrent.count_params() < 5_000 and fastpath._jax_compiler_options(recurrent, 100) is None
    assert fastpath.has_convolution(recurrent) and not fastpath.has_convolution(small)


def test_an_xla_option_this_jaxlib_does_not_know_is_dropped():
    jax = pytest.importorskip("jax")
    options = {**fastpath.QUICK_COMPILE, "xla_kzoo_no_such_option": True}
    compiled = fastpath._jax_compile(lambda a, b: a * 2 + b, (np.arange(3.0), np.ones(3)), options)
    np.testing.assert_array_equal(np.asarray(compiled(np.arange(3.0), np.ones(3))), [1.0, 3.0, 5.0])
    assert options == {**fastpath.QUICK_COMPILE, "xla_kzoo_no_such_option": True}  # the caller's dict is left alone
    with pytest.raises(jax.errors.JaxRuntimeError):  # anything else still fails
        fastpath._jax_compile(lambda a: a, (np.ones(2),), {"xla_backend_optimization_level": "not a number"})


def test_text_goes_through_model_fit():
    x, y = {"input": np.array(["a b", "c"])}, {"output": np.array([0, 1])}
    assert not fastpath.applies(None, x, y, None, strategy=None, batch_size=8, callbacks=[], verbose=0)
