"""Training from Python and the CLI: train/evaluate/predict end to end, and every user error exits 1
with one line and writes nothing."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

import kzoo
from kzoo import ConfigError
from kzoo._workflow import training
from kzoo.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def iris_csv(tmp_path):
    from sklearn.datasets import load_iris

    bunch = load_iris()
    lines = ["sl,sw,pl,pw,species"] + [
        ",".join([*(f"{v:.1f}" for v in x), bunch.target_names[y]]) for x, y in zip(bunch.data, bunch.target)
    ]
    path = tmp_path / "iris.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """An mlp trained a few epochs on digits through the CLI, shared by the evaluate/predict tests."""
    folder = tmp_path_factory.mktemp("digits")
    out, metrics = folder / "mlp.keras", folder / "m.json"
    result = run("train", "mlp", "--data", "digits", "--epochs", 5, "--val-split", 0.2, "--quiet",
                 "--out", out, "--metrics-out", metrics)
    assert result.exit_code == 0, result.output
    return out, metrics


def test_train_writes_model_and_metrics(digits_model):
    out, metrics = digits_model
    report = json.loads(metrics.read_text())
    assert report["epochs"] == 5 and len(report["history"]["loss"]) == 5
    assert report["history"]["loss"][-1] < report["history"]["loss"][0]
    meta = kzoo._store.saving.read_metadata(out)
    assert meta["model"] == "mlp" and meta["config"]["input_dim"] == 64 and meta["config"]["num_classes"] == 10


def test_evaluate_prints_json_metrics_of_the_saved_model(digits_model):
    out, _ = digits_model
    result = run("evaluate", out, "--data", "digits", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert set(metrics) == {"loss", "accuracy"} and 0.2 < metrics["accuracy"] <= 1.0


def test_predict_writes_one_row_per_sample(digits_model, tmp_path):
    out, _ = digits_model
    target = tmp_path / "pred.csv"
    result = run("predict", out, "--data", "digits", "--out", target)
    assert result.exit_code == 0, result.output
    lines = target.read_text().splitlines()
    assert lines[0].startswith("row,output,output_p_0") and len(lines) == 1797 + 1
    probs = np.array([list(map(float, line.split(",")[2:])) for line in lines[1:6]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_csv_workflow_with_class_names_and_checkpoints(iris_csv, tmp_path):
    out, ckpt = tmp_path / "m.keras", tmp_path / "ckpt"
    result = run("train", "mlp", "--data", iris_csv, "--target", "species", "--val-split", 0.2,
                 "--epochs", 3, "--checkpoint-dir", ckpt, "--out", out)
    assert result.exit_code == 0, result.output
    assert "val_accuracy=" in result.output and (ckpt / "checkpoint.keras").exists()
    new = tmp_path / "new.csv"
    new.write_text("id,pw,pl,sw,sl\n1,0.2,1.4,3.5,5.1\n2,2.3,5.2,3.0,6.7\n")  # other order, extra column
    result = run("predict", out, "--data", new)
    assert result.exit_code == 0, result.output
    header, *rows = result.output.strip().splitlines()
    assert header.split(",")[:3] == ["row", "output", "output_p_setosa"] and len(rows) == 2
    assert rows[0].split(",")[1] in {"setosa", "versicolor", "virginica"}
    same = tmp_path / "same.csv"
    same.write_text("sl,sw,pl,pw\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")  # the training column order
    assert run("predict", out, "--data", same).output.strip().splitlines()[1:] == rows
    result = run("evaluate", out, "--data", iris_csv)  # target column remembered from training
    assert result.exit_code == 0 and "accuracy" in result.output


@pytest.mark.parametrize("model", ["two_input_mlp", "siamese_mlp", "multi_output_mlp"])
def test_every_builtin_model_trains_on_a_real_data_set(model):
    result = training.train(model, "wine", epochs=2, val_split=0.25)
    assert result.epochs == 2 and all(np.isfinite(v) for v in result.metrics.values())


def test_python_train_with_synthetic_data_and_builder_train():
    builder = kzoo.get("two_input_mlp")
    data = kzoo.datasets.load("synthetic", builder, samples=64)
    model = builder.compile(builder.build())
    history = builder.train(model, data.x, data.y, epochs=2, batch_size=16)
    assert len(history.history["loss"]) == 2
    assert set(builder.evaluate(model, data.x, data.y)) == {"loss", "accuracy"}


def test_bad_options_are_config_errors_and_data_for_another_model_a_data_error():
    with pytest.raises(ConfigError, match="val_split"):
        training.train("mlp", "synthetic", val_split=1.5)
    with pytest.raises(kzoo.DataError, match="shaped for model 'mlp'"):  # as errors.DataError documents
        training.train("two_input_mlp", kzoo.datasets.load("iris", "mlp"))


def _bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda p: ["train", "mlp", "--data", p / "missing.csv"], "no data file"),
        (lambda p: ["train", "mlp", "--data", "irsi"], "Did you mean iris"),
        (lambda p: ["train", "mlp", "--data", _bad_csv(p, "a,b\n1,2\n"), "--target", "y"], "no target column 'y'"),
        (lambda p: ["train", "mlp", "--data", _bad_csv(p, "a,b,y\n1,2,0\n3,inf,1\n"), "--target", "y"],
         "column 'b' has 1 infinite cell(s), on line 3"),
        (lambda p: ["train", "mlp", "--data", _bad_csv(p, "a,b,y\n1,2,0.5\n3,4,1.5\n"), "--target", "y", "--task",
                    "classification"], "target 'y' holds fractional values"),
        (lambda p: ["train", "mlp", "--data", _bad_csv(p, "a,b,y\n1,2,0\n3,4,7\n"), "--target", "y",
                    "--set", "num_classes=3"], "labels [7] outside 0..2"),
        (lambda p: ["train", "mlp", "--data", _bad_csv(p, "a,b,y\n"), "--target", "y"], "no data rows"),
        (lambda p: ["train", "mlp", "--data", "iris", "--set", "input_dim=5"], "expects samples of shape [5], the data gives [4]"),
        (lambda p: ["train", "mlp", "--data", "iris", "--set", "hiden_units=3"], "unknown config key 'hiden_units'"),
        (lambda p: ["train", "mlp", "--data", "iris", "--steps-per-execution", "0"], "--steps-per-execution 0 (expected an integer in 1.."),
        (lambda p: ["train", "mlp", "--data", "synthetic", "--samples", "-5"], "--samples -5 (expected an integer >= 1)"),
        (lambda p: ["train", "mlp", "--data", "iris", "--plot", p / "curves.txt"], "ending in .png, .svg or .pdf"),
        (lambda p: ["train", "mlp", "--data", "iris", "--target", "species"], "a target column only applies to CSV files"),
        (lambda p: ["train", "mlp", "--data", _bad_csv(p, "a,b,y\n1,2,NA\n3,4,\n"), "--target", "y"],
         "every row's target 'y' is missing"),
        (lambda p: ["evaluate", p / "none.keras", "--data", "iris"], "no model file"),
        (lambda p: ["evaluate", _corrupt(p), "--data", "iris"], "not a readable .keras file"),
    ],
)
def test_user_errors_exit_1_with_one_line_and_write_nothing(tmp_path, make_args, message):
    args = make_args(tmp_path)
    if args[0] == "train":
        args += ["--out", tmp_path / "out.keras", "--metrics-out", tmp_path / "m.json", "--checkpoint-dir", tmp_path / "ck"]
    before = set(os.listdir(tmp_path))
    result = run(*args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kzoo: error:") and message in lines[0]
    assert set(os.listdir(tmp_path)) == before


def test_a_plain_keras_file_cannot_be_shaped_for(tmp_path):
    path = tmp_path / "plain.keras"
    kzoo.build("mlp").save(path)
    result = run("predict", path, "--data", "iris")
    assert result.exit_code == 1 and "has no kzoo metadata" in result.stderr


def _corrupt(folder):
    path = folder / "corrupt.keras"
    path.write_bytes(b"\x00" * 64)
    return path


def test_progress_bar_by_default_and_nothing_with_quiet():
    loud = run("train", "mlp", "--data", "iris", "--epochs", 2)
    assert loud.exit_code == 0 and "Epoch 2/2" in loud.output and "mlp: 2 epochs" in loud.output
    quiet = run("train", "mlp", "--data", "iris", "--epochs", 2, "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_empty_npz_is_an_error(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, input=np.zeros((0, 4), "float32"), output=np.zeros(0, "int32"))
    result = run("train", "mlp", "--data", path)
    assert result.exit_code == 1 and "no samples" in result.stderr


def test_saved_scaling_is_reused_on_raw_files(tmp_path):
    """A model trained on the standardized wine data set predicts the same on raw wine values in
    a CSV: the statistics travel with the model."""
    from sklearn.datasets import load_wine

    out = tmp_path / "wine.keras"
    assert run("train", "mlp", "--data", "wine", "--epochs", 2, "--quiet", "--out", out).exit_code == 0
    bunch = load_wine()
    raw = tmp_path / "raw.csv"
    raw.write_text("\n".join([",".join(bunch.feature_names)] + [",".join(map(repr, map(float, row))) for row in bunch.data]))
    from_file = run("predict", out, "--data", raw).output.splitlines()
    from_set = run("predict", out, "--data", "wine").output.splitlines()
    assert len(from_file) == 179 and from_file == from_set


def test_plot_and_mirrored_strategy(tmp_path):
    """The options issue 5 provides plug into the same training call: curves and a strategy
    (MirroredStrategy on this machine's one device would make one replica: a warning, then
    training without it, the fast default kept)."""
    curves, out = tmp_path / "curves.png", tmp_path / "m.keras"
    result = run("train", "mlp", "--data", "iris", "--epochs", 2, "--val-split", 0.2, "--quiet", "--batch-size", 16,
                 "--strategy", "mirrored", "--plot", curves, "--out", out)
    assert result.exit_code == 0, result.output
    assert curves.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    warnings = [line for line in result.output.splitlines() if line.startswith("kzoo: warning:")]
    assert len(warnings) == 1 and "one device" in warnings[0] and "without a strategy" in warnings[0]
    assert kzoo.load(out).steps_per_execution == 8  # 8 steps per epoch; 1 under a real mirrored strategy


class TinyRegressor(kzoo.ModelBuilder):
    """A third-party model kzoo knows nothing about: two inputs, one regression output."""

    spec = kzoo.ModelSpec(
        name="tiny_regressor", description="test", api="functional",
        inputs=(kzoo.TensorSpec("a", (3,)), kzoo.TensorSpec("b", (2,))),
        outputs=(kzoo.TensorSpec("y", (1,), loss="mse", metrics=("mae",)),),
        default_config={"units": 4}, params=33,
    )

    def build_model(self, config):
        import keras

        a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
        hidden = keras.layers.Dense(config["units"])(keras.layers.concatenate([a, b]))
        return keras.Model([a, b], keras.layers.Dense(1, name="y")(hidden))


def test_a_third_party_model_trains_on_synthetic_data_and_on_a_csv(tmp_path):
    from .conftest import ModelsPlugin

    kzoo.register_plugin(ModelsPlugin(TinyRegressor()), "tiny")
    result = training.train("tiny_regressor", "synthetic", epochs=2, samples=40)
    assert len(result.history["loss"]) == 2 and "mae" in result.metrics
    path = tmp_path / "t.csv"
    path.write_text("p,q,r,s,t,target\n" + "\n".join(f"{i},{i+1},{i+2},{i%3},{i%5},{i*0.1}" for i in range(20)))
    result = training.train("tiny_regressor", str(path), target="target", epochs=1)  # columns split in order
    assert result.network.input_shape == [(None, 3), (None, 2)]
    assert result.model.input_shape == (None, 5)  # the trained model takes the raw columns
    assert result.network.get_layer("y") is not None and result.metadata["data"]["plan"]["task"] == "regression"


def test_predict_to_stdout_quotes_class_names_like_the_file(tmp_path):
    data = tmp_path / "shapes.csv"
    kinds = ['"small, red"', "big"]  # a class name with a comma, quoted as CSV requires
    rows = ["a,b,kind"] + [f"{i % 3},{i % 5},{kinds[i % 2]}" for i in range(40)]
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.keras"
    assert run("train", "mlp", "--data", data, "--target", "kind", "--epochs", 1, "--quiet", "--out", model).exit_code == 0
    printed = run("predict", model, "--data", data)
    assert printed.exit_code == 0, printed.output
    run("predict", model, "--data", data, "--out", tmp_path / "p.csv")
    assert printed.stdout == (tmp_path / "p.csv").read_text()
    import csv
    import io

    header, *parsed = list(csv.reader(io.StringIO(printed.stdout)))
    assert header == ["row", "output", "output_p_big", "output_p_small, red"]
    assert all(len(row) == len(header) for row in parsed)


def test_saved_model_refuses_a_csv_without_its_training_columns(digits_model, tmp_path):
    out, _ = digits_model
    other = _bad_csv(tmp_path, "a,b,target\n1,2,0\n")
    result = run("evaluate", out, "--data", other, "--target", "target")
    assert result.exit_code == 1
    assert "lacks column(s) 'pixel_0_0'" in result.stderr and "--input NAME=COLS" in result.stderr


def test_a_table_without_a_model_name_trains_the_default_table_model_and_says_so(iris_csv, monkeypatch):
    assert kzoo.get_spec(training.TABLE_MODEL).name == training.TABLE_MODEL  # registered, built in
    monkeypatch.setattr(training, "TABLE_MODEL", "mlp")  # the mechanism, on a model that trains fast
    with pytest.warns(kzoo.errors.ChoiceNote, match="no model named: training mlp"):
        result = kzoo.train(None, iris_csv, target="species", epochs=1)
    assert result.metadata["model"] == "mlp"
    done = run("train", "--data", iris_csv, "--target", "species", "--epochs", 1)
    assert done.exit_code == 0 and "note: no model named: training mlp" in done.output, done.output
    assert "\nmlp: 1 epochs" in done.output
    with pytest.warns(kzoo.errors.ChoiceNote):
        assert kzoo.train("tabular", "iris", epochs=1).metadata["model"] == "mlp"
    with pytest.raises(ConfigError, match="name the model to train on synthetic data"):
        kzoo.train(None, "synthetic", epochs=1)
