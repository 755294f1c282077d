"""Keras backends: JAX and PyTorch run list, build, compile, train, evaluate, predict, save, load,
fine-tune and resume without ever importing tensorflow; a .keras file saved on one backend
predicts the same on the others; ``kzoo --backend`` picks the backend before Keras loads."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo import DataError
from kzoo._system import backend
from kzoo.datasets import text

from .conftest import run_kzoo
from .test_resume import kill_after

WORKER = Path(__file__).with_name("backend_worker.py")


def installed(*names: str) -> list:
    """``names`` as pytest parameters, each skipped where its backend is not installed."""
    return [pytest.param(n, marks=pytest.mark.skipif(importlib.util.find_spec(n) is None, reason=f"{n} is not installed"))
            for n in names]


needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


def run_worker(out: Path, *args: str, env: dict[str, str]) -> dict:
    full = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    done = subprocess.run([sys.executable, str(WORKER), str(out), *args], capture_output=True, text=True,
                          env=full, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "result.json").read_text())


@pytest.mark.parametrize("other", installed("jax", "torch"))
@pytest.mark.slow
def test_a_backend_runs_everything_without_importing_tensorflow_and_models_cross_backends(tmp_path, other):
    x = kzoo.datasets.load("iris", "mlp").x
    tf_model = kzoo.train("mlp", "iris", epochs=2, out=tmp_path / "tf.keras").model
    builder = kzoo.get("mlp")

    result = run_worker(tmp_path, str(tmp_path / "tf.keras"), env={"KERAS_BACKEND": other})
    assert result["backend"] == other and result["tensorflow_imported"] == [], result
    assert result["listed"] and not result["keras_before_build"]
    assert result["fit_epochs"] == 2 and set(result["evaluated"]) == {"loss", "accuracy"}
    assert result["predicted_shape"] == [150, 3] and result["reload_same"]
    assert result["stop_reason"] == "trained all 3 epochs (the epochs limit)"
    assert result["fine_tuned_accuracy"] > 0.9 and result["fine_tuned_predicted_rows"] == 150
    assert "cli_exits" not in result and result["cli_rows"] == 151 and result["plotted"]
    # saved on TensorFlow, loaded on the other backend: the same predictions
    np.testing.assert_allclose(np.load(tmp_path / "other_predictions.npy"), builder.predict(tf_model, x), atol=1e-5)
    # saved on the other backend, loaded on TensorFlow, without importing that backend here
    np.testing.assert_allclose(builder.predict(kzoo.load(tmp_path / "model.keras"), x),
                               np.load(tmp_path / "predictions.npy"), atol=1e-5)
    assert f"keras.src.backend.{other}" not in sys.modules


@pytest.mark.parametrize("other", installed("jax", "torch"))
@pytest.mark.slow
def test_a_killed_run_resumes_and_ends_where_the_uninterrupted_run_ends(tmp_path, other):
    def command(name):
        return ["--backend", other, "train", "mlp", "--data", "digits", "--epochs", "4", "--batch-size", "256",
                "--checkpoint-dir", str(tmp_path / f"ckpt_{name}"), "--metrics-out", str(tmp_path / f"{name}.json")]

    whole = run_kzoo(*command("whole"))
    assert whole.returncode == 0, whole.stderr
    crashed = run_kzoo(*command("resumed"), env=kill_after(tmp_path, 2))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = run_kzoo(*command("resumed"))
    assert resumed.returncode == 0 and "resumed from epoch 2" in resumed.stdout, resumed.stderr
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("whole", "resumed"))
    assert b["initial_epoch"] == 2 and a["history"] == b["history"]


@needs_jax
@pytest.mark.slow
def test_the_backend_option_sets_keras_backend_before_keras_loads():
    probe = ("import json, sys\nfrom kzoo.cli import main\n"
             "try:\n    main(['--backend', 'jax', 'info', 'mlp', '--summary'])\nexcept SystemExit:\n    pass\n"
             "import keras\nprint(json.dumps([keras.config.backend(), 'tensorflow' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["jax", False]


def test_another_backend_once_keras_runs_is_one_error_line():
    import keras  # this process runs TensorFlow

    assert keras.config.backend() == "tensorflow"
    with pytest.raises(kzoo.ConfigError, match="already running on 'tensorflow'"):
        backend.choose("jax")
    with pytest.raises(kzoo.ConfigError, match="unknown backend 'mxnet'"):
        backend.choose("mxnet")
    backend.choose("tensorflow")  # the backend it has is fine


def test_the_backend_is_read_without_importing_keras(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "keras", None)  # as if keras were not imported yet
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backend.name() == "jax" and not backend.is_tensorflow()
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert backend.name() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    assert backend.name() == "torch"


def test_text_columns_off_tensorflow_are_one_data_error(monkeypatch):
    monkeypatch.setattr(backend, "name", lambda: "jax")
    spec = kzoo.TensorSpec("review", (None,), dtype="int32")
    with pytest.raises(DataError, match="text input 'review' needs the TensorFlow backend"):
        text.vectorize({"review": np.array(["a good film"])}, [spec], None)


@needs_jax
@pytest.mark.slow
def test_data_parallel_on_two_jax_devices_trains_and_one_device_warns(tmp_path):
    command = ["--backend", "jax", "train", "mlp", "--data", "digits", "--epochs", "2", "--val-split", "0.2",
               "--strategy", "data-parallel", "--out", str(tmp_path / "dp.keras"), "--metrics-out",
               str(tmp_path / "dp.json")]
    two = run_kzoo(*command, env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert two.returncode == 0, two.stderr
    assert "kzoo: warning" not in two.stderr
    report = json.loads((tmp_path / "dp.json").read_text())
    assert report["epochs"] == 2 and 0.0 < report["metrics"]["val_accuracy"] <= 1.0  # 1797 rows: uneven last batches
    probabilities = kzoo.load(tmp_path / "dp.keras").predict(np.zeros((3, 64), "float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)  # saved on 2 devices, loads on one

    one = run_kzoo(*command, env={"XLA_FLAGS": ""})
    assert one.returncode == 0, one.stderr
    warnings = [line for line in one.stderr.splitlines() if line.startswith("kzoo: warning:")]
    assert len(warnings) == 1 and "found one device" in warnings[0]


def test_each_strategy_names_the_backend_it_needs():
    from kzoo import distribute

    with pytest.raises(kzoo.ConfigError, match="data-parallel .* JAX backend"):
        distribute.resolve_strategy("data-parallel")  # this process runs TensorFlow
