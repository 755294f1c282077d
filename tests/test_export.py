"""Export to SavedModel, LiteRT and ONNX: every built-in model (multi-input and multi-output
included) runs in each format's own runtime within 1e-4 of Keras; bad input is one line, exit 1,
and leaves nothing at the output path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import kzoo
from kzoo._workflow import export as kexport

from ._cli import one_line_error, run

BUILTIN_PLUGINS = ("mlp", "two_input", "shared_layers")
MODELS = [name for plugin in BUILTIN_PLUGINS for name in kzoo.list_models(plugin=plugin)]
CASES = [(name, {}) for name in MODELS] + [("mlp", {"api": "subclass"})]
TARGETS = {"saved_model": "model_dir", "litert": "model.tflite", "onnx": "model.onnx"}


@pytest.fixture(scope="module")
def built():
    """One model per case, built once for all three formats."""
    out = {}
    for name, overrides in CASES:
        builder = kzoo.get(name)
        config = builder.config(**overrides)
        out[_id(name, overrides)] = (builder.build_model(config), builder.input_specs(config), builder.output_specs(config))
    return out


def _id(name: str, overrides: dict) -> str:
    return "-".join([name, *map(str, overrides.values())])


def test_builtin_models_are_known():
    assert {"mlp", "two_input_mlp", "siamese_mlp", "multi_output_mlp"} <= set(MODELS)


@pytest.mark.parametrize("fmt", list(kexport.FORMATS))
@pytest.mark.parametrize("case", [_id(*c) for c in CASES])
def test_every_builtin_model_exports_and_runs(built, tmp_path, case, fmt):
    net, inputs, outputs = built[case]
    target = tmp_path / TARGETS[fmt]
    result = kexport.export_keras(net, inputs, outputs, fmt, target)
    assert result.max_abs_diff <= kexport.TOLERANCE
    assert target.exists() and sorted(p.name for p in tmp_path.iterdir()) == [target.name], "no staging left"


def test_export_a_weights_name_from_the_cli(tmp_path):
    target = tmp_path / "two.onnx"
    # --out, as train and predict spell it (-o and --output elsewhere in these tests).
    result = run("export", "two_input_mlp.digits", "--format", "onnx", "--out", target)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"exported two_input_mlp.digits to {target} (onnx); largest difference from Keras")
    first = result.output.splitlines()[0]
    assert "on 8 raw training rows" in first  # recorded in the weights card, not generated
    diff = float(first.rsplit(":", 1)[1])
    assert diff <= 1e-4 and target.is_file() and Path(f"{target}.inputs.json").is_file()
    import onnxruntime

    assert kzoo.export_model("mlp.iris", "saved_model", tmp_path / "sm").max_abs_diff <= 1e-4

    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    # The trained model takes the 64 raw pixel columns; it splits them into input_1, input_2 itself.
    assert [(i.name, i.shape[1]) for i in session.get_inputs()] == [("numeric", 64)]


def test_export_a_keras_file(tmp_path):
    model = tmp_path / "m.keras"
    assert run("train", "siamese_mlp", "--data", "synthetic", "--epochs", 1, "--quiet", "--out", model).exit_code == 0
    result = run("export", model, "--format", "litert", "-o", tmp_path / "m.tflite")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.tflite").is_file()


@pytest.mark.parametrize("args, message", [
    (["--format", "onx", "-o", "x.onnx"], "unknown export format 'onx'. Did you mean onnx?"),
    (["--format", "litert", "-o", "x.onnx"], "must be written to a .tflite file"),
    (["--format", "onnx", "-o", "blocker/x.onnx"], "'blocker' is a file, not a folder"),
    (["--format", "saved_model", "-o", "full"], "is a folder that is not empty"),
])
def test_bad_export_input_is_one_line_and_writes_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    one_line_error(run("export", "mlp.iris", *args), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "full"]
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_unknown_model_to_export(tmp_path):
    one_line_error(run("export", "mlp.irsi", "--format", "onnx", "-o", tmp_path / "x.onnx"), "Did you mean mlp.iris")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_runtime_names_the_install_command(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    one_line_error(run("export", "mlp.iris", "--format", "onnx", "-o", tmp_path / "x.onnx"),
                   "needs onnxruntime", 'pip install "kzoo[export]"')
    assert list(tmp_path.iterdir()) == []


def test_a_difference_above_tolerance_is_an_error(tmp_path, monkeypatch):
    real = kexport.RUNNERS["onnx"]
    monkeypatch.setitem(kexport.RUNNERS, "onnx", lambda path, x: {k: v + 1e-3 for k, v in real(path, x).items()})
    one_line_error(run("export", "mlp.iris", "--format", "onnx", "-o", tmp_path / "x.onnx"),
                   "differs from the Keras model by 0.001", "nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_export_off_tensorflow_says_to_rerun_on_tensorflow(tmp_path, monkeypatch):
    from kzoo._system import backend

    monkeypatch.setattr(backend, "name", lambda: "jax")
    with pytest.raises(kzoo.ConfigError, match=r"Keras runs on 'jax' here; rerun as `kzoo --backend tensorflow export"):
        kzoo.export_model("mlp.iris", "onnx", tmp_path / "m.onnx")
    one_line_error(run("export", "mlp.iris", "--format", "litert", "-o", tmp_path / "m.tflite"),
                   "kzoo --backend tensorflow export")
    assert not list(tmp_path.iterdir())


def test_the_tolerance_grows_with_outputs_larger_than_one(tmp_path, monkeypatch):
    """A regressor answering in grams (about 4,000) differs from its export by 2e-4 from float32
    round-off alone: that passes, while the same relative error as a 1e-3 shift on outputs of 1 fails."""
    import keras
    import numpy as np

    from kzoo import TensorSpec

    inputs = keras.Input((2,), name="x")
    net = keras.Model(inputs, keras.layers.Dense(1, name="y", kernel_initializer="ones",
                                                 bias_initializer=keras.initializers.Constant(4000.0))(inputs))
    specs = ([TensorSpec("x", (2,))], [TensorSpec("y", (1,))])
    real = kexport.RUNNERS["onnx"]
    monkeypatch.setitem(kexport.RUNNERS, "onnx", lambda path, x: {k: v + 2.4e-4 for k, v in real(path, x).items()})
    x = {"x": np.zeros((4, 2), "float32")}
    result = kexport.export_keras(net, *specs, "onnx", tmp_path / "grams.onnx", x=x)
    assert 2e-4 < result.max_abs_diff < 3e-4
    monkeypatch.setitem(kexport.RUNNERS, "onnx", lambda path, x: {k: v + 4.0 for k, v in real(path, x).items()})
    with pytest.raises(kzoo.KzooError, match=r"differs from the Keras model by 4 \(more than 0.4"):
        kexport.export_keras(net, *specs, "onnx", tmp_path / "off.onnx", x=x)
