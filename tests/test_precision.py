"""Mixed precision (``--precision``, ``TrainOptions.precision``): Keras dtype policies through
train, save, load (also in float32), resume, fine-tune and export; outputs stay float32."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

import kzoo
from kzoo._engine import precision
from kzoo._workflow import training

from ._cli import run
from .conftest import run_kzoo
from .test_resume import kill_after


def policies(model) -> set[str]:
    return {layer.dtype_policy.name for layer in model._flatten_layers(include_self=False)
            if not layer.name.startswith("input")}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """An iris model trained in mixed_bfloat16, saved."""
    folder = tmp_path_factory.mktemp("mixed")
    result = training.train("mlp", "iris", epochs=3, val_split=0.2, precision="mixed_bfloat16",
                            out=folder / "m.keras")
    return folder, result


def test_a_mixed_model_computes_in_bfloat16_with_float32_weights_and_outputs(mixed):
    _, result = mixed
    net = result.network
    assert net.dtype_policy.name == "mixed_bfloat16" and result.metadata["training"]["precision"] == "mixed_bfloat16"
    hidden, output = net.layers[:-1], net.layers[-1]
    assert {layer.dtype_policy.name for layer in hidden} == {"mixed_bfloat16"}
    assert output.dtype_policy.name == "float32" and net.outputs[0].dtype == "float32"
    assert {w.dtype for w in net.weights} == {"float32"}  # variables stay float32: weights fit a float32 model
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy came back after building


def test_a_mixed_file_loads_as_it_was_saved_and_in_float32(mixed):
    folder, result = mixed
    _, rows = kzoo.predict(folder / "m.keras", "iris")
    saved = kzoo.load(folder / "m.keras")
    as_float32 = kzoo.load(folder / "m.keras", precision="float32")
    assert "mixed_bfloat16" in policies(saved) and "mixed_bfloat16" not in policies(as_float32)
    from sklearn.datasets import load_iris

    x = load_iris().data.astype("float32")  # raw measurements: the model standardizes them itself
    mixed_p, float_p = saved.predict(x, verbose=0), as_float32.predict(x, verbose=0)
    assert mixed_p.dtype == float_p.dtype == np.float32
    np.testing.assert_allclose(mixed_p, float_p, atol=0.03)  # bfloat16 keeps about 3 significant digits
    np.testing.assert_allclose(mixed_p, result.model.predict(x, verbose=0), atol=1e-6)
    assert len(rows) == 150 and all(0.0 <= float(p) <= 1.0 for p in rows[0][2:])
    with pytest.raises(kzoo.ConfigError, match="saved precision .* or in 'float32'"):
        kzoo.load(folder / "m.keras", precision="mixed_float16")


def test_a_mixed_model_exports_in_float32_with_parity(mixed):
    pytest.importorskip("onnxruntime")
    folder, _ = mixed
    result = kzoo.export_model(folder / "m.keras", "onnx", folder / "m.onnx")
    assert result.max_abs_diff <= 1e-4 and result.checked_on == "raw training rows"


def test_mixed_float16_trains_with_keras_loss_scaling_and_fine_tunes():
    import keras

    result = training.train("mlp", "iris", epochs=2, precision="mixed_float16", weights="mlp.iris", freeze=True)
    assert isinstance(result.network.optimizer, keras.optimizers.LossScaleOptimizer)
    assert result.network.dtype_policy.name == "mixed_float16" and result.metrics["accuracy"] > 0.8


@pytest.mark.slow
def test_a_killed_mixed_run_resumes_exactly_and_another_precision_is_refused(tmp_path):
    def command(name, precision="mixed_bfloat16"):
        return ["train", "mlp", "--data", "digits", "--epochs", "4", "--batch-size", "256", "--precision", precision,
                "--checkpoint-dir", str(tmp_path / f"ckpt_{name}"), "--metrics-out", str(tmp_path / f"{name}.json")]

    whole = run(*command("whole"))  # only the killed run needs a fresh interpreter
    assert whole.exit_code == 0, whole.output
    crashed = run_kzoo(*command("resumed"), env=kill_after(tmp_path, 2))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    other = run(*command("resumed", "float32"))
    assert other.exit_code == 1 and "precision 'mixed_bfloat16' -> 'float32'" in other.stderr, other.output
    resumed = run(*command("resumed"))
    assert resumed.exit_code == 0 and "resumed from epoch 2" in resumed.stdout, resumed.output
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("whole", "resumed"))
    assert b["initial_epoch"] == 2 and a["history"] == b["history"]


def test_an_unknown_precision_is_refused_before_any_work():
    with pytest.raises(kzoo.OptionError, match="precision"):
        kzoo.TrainOptions(precision="float8")
    done = run_kzoo("train", "mlp", "--data", "iris", "--precision", "half")
    assert done.returncode == 2 and "invalid value for '--precision': 'half'" in done.stderr


def test_float32_config_changes_only_mixed_policies():
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}}
    config = {"layers": [{"config": {"dtype": policy}},
                         {"config": {"dtype": {**policy, "config": {"name": "int32"}}}}]}
    changed, count = precision.float32_config(config)
    assert count == 1 and changed["layers"][0]["config"]["dtype"]["config"]["name"] == "float32"
    assert changed["layers"][1] == config["layers"][1] and config["layers"][0]["config"]["dtype"] is policy
