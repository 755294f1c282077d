"""Real tables as shipped (missing values, text columns, a date, numeric targets) train from the CLI,
and the trained model is self-contained: on the same raw rows, ``kzoo predict``, ``kzoo.load``,
``keras.saving.load_model`` and every export agree.

The table is written here, shaped like palmerpenguins' ``penguins.csv``: ``NA`` markers in
numeric and text columns and in the target, string columns, a date column, an integer target
with many values (body mass).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo._workflow.inference import read_model_metadata
from kzoo.datasets.preprocess import Plan, encode, lookup

from ._cli import one_line_error, run

ROOT = Path(__file__).parent
FEATURES = ["island", "bill_length_mm", "flipper_length_mm", "sex"]


def write_penguins(path: Path, rows: int = 240) -> Path:
    rng = np.random.default_rng(7)
    species = rng.choice(["Adelie", "Gentoo", "Chinstrap"], rows)
    island = np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], rows))
    bill = np.select([species == "Adelie", species == "Gentoo"], [38.8, 47.5], 48.8) + rng.normal(0, 1.5, rows)
    flipper = np.select([species == "Adelie", species == "Gentoo"], [190, 217], 196) + rng.normal(0, 5, rows)
    mass = np.where(species == "Gentoo", 5076, 3700) + 20 * (flipper - 200) + rng.normal(0, 150, rows)
    sex = rng.choice(["male", "female"], rows)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["species", *FEATURES, "body_mass_g", "date"])
        for i in range(rows):
            out.writerow([
                "NA" if i == 9 else species[i], island[i],
                "NA" if i % 17 == 0 else f"{bill[i]:.1f}", f"{flipper[i]:.0f}",
                "NA" if i % 23 == 1 else sex[i], int(mass[i]), str(np.datetime64("2008-01-01") + i),
            ])
    return path


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> Path:
    return write_penguins(tmp_path_factory.mktemp("tables") / "penguins.csv")


@pytest.fixture(scope="module")
def classifier(penguins: Path) -> tuple[Path, object]:
    out = penguins.parent / "species.keras"
    result = run("train", "mlp", "--data", penguins, "--target", "species", "--val-split", "0.2", "--epochs", "40",
                 "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out, result


@pytest.fixture(scope="module")
def regressor(penguins: Path) -> tuple[Path, object]:
    out = penguins.parent / "mass.keras"
    result = run("train", "mlp", "--data", penguins, "--target", "body_mass_g", "--drop", "species", "--val-split",
                 "0.2", "--epochs", "60", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out, result


def predictions(model: Path, data: Path) -> tuple[list[str], np.ndarray]:
    """``kzoo predict``'s CSV: the header and every column after ``row`` and the class."""
    result = run("predict", model, "--data", data)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(result.stdout.splitlines()))
    return rows[0], np.array([[float(v) for v in row[2:]] if len(row) > 2 else [float(row[1])] for row in rows[1:]])


def raw_columns(path: Path, plan: Plan) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The raw cells a user has: numbers (NA as NaN) and strings, nothing encoded."""
    rows = list(csv.DictReader(path.open()))
    numeric = np.array([[np.nan if r[c] == "NA" else float(r[c]) for c in plan.numeric] for r in rows], "float32")
    return numeric, {cat["column"]: np.array([r[cat["column"]] for r in rows]) for cat in plan.categorical}


# -- training from the CLI ------------------------------------------------------------------------------
def test_a_table_as_shipped_trains_with_notes_on_what_was_left_out(classifier, penguins) -> None:
    _, result = classifier
    assert "note: " in result.stderr and "column 'date' left out: it holds dates" in result.stderr
    assert "left out 1 row(s) whose target 'species' is missing (line 11)" in result.stderr
    metrics = json.loads(run("evaluate", classifier[0], "--data", penguins, "--json").stdout)
    assert metrics["accuracy"] > 0.9


def test_a_numeric_target_with_many_values_trains_a_regressor(regressor, penguins) -> None:
    model, result = regressor
    assert "target 'body_mass_g': regression (" in result.stderr and "--task classification" in result.stderr
    metrics = json.loads(run("evaluate", model, "--data", penguins, "--json").stdout)
    assert set(metrics) == {"loss", "mae", "rmse", "r2"} and metrics["r2"] > 0.6
    header, values = predictions(model, penguins)
    assert header == ["row", "output"]  # one value, in grams: the target's own units
    assert 3000 < values.mean() < 5500
    card = kzoo.load(model)
    assert card.output_shape == (None, 1)


INFO_PROBE = """
import sys
from kzoo.cli import main
try:
    main({args!r}, prog_name="kzoo")
except SystemExit as exit:
    assert not exit.code, exit.code
print("HEAVY:", [m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules])
"""


def kzoo_info(*args: object) -> str:
    """``kzoo info ARGS``'s output, from a fresh interpreter that must not import a framework."""
    import subprocess
    import sys

    code = INFO_PROBE.format(args=["info", *map(str, args)])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    body, heavy = out.stdout.rstrip().rsplit("\n", 1)
    assert heavy == "HEAVY: []", heavy
    return body


def test_kzoo_info_on_a_saved_file_tells_what_training_recorded_without_keras(classifier, regressor) -> None:
    model, _ = classifier
    saved = read_model_metadata(str(model))
    shown = kzoo_info(model)
    assert shown.startswith(f"{model}: a trained mlp (plugin mlp), saved by kzoo {kzoo.__version__}")
    classes = saved["data"]["class_names"]
    assert f"'species', classification into {len(classes)} classes: {', '.join(classes)}" in shown
    columns = saved["data"]["columns"]
    assert f"{len(columns)} columns: {', '.join(columns)}" in shown and "body_mass_g" in columns
    epoch = saved["stopping"]["best_epoch"] if saved["stopping"]["stopped_epoch"] else saved["epoch"]
    assert f"accuracy {saved['history']['accuracy'][epoch - 1]:.4g}" in shown and f"(epoch {epoch})" in shown
    assert f"input_dim = {saved['config']['input_dim']}" in shown
    data = json.loads(kzoo_info(model, "--json"))
    assert data["metrics_epoch"] == epoch and "history" not in data
    assert data["metrics"] == {key: values[epoch - 1] for key, values in saved["history"].items()}
    assert data["config"] == saved["config"] and data["data"]["class_names"] == classes
    assert "'body_mass_g', regression (a number out)" in kzoo_info(regressor[0])


def test_task_flag_overrides_the_rule_and_refuses_what_cannot_be(penguins, tmp_path) -> None:
    one_line_error(run("train", "mlp", "--data", penguins, "--target", "island", "--drop", "date",
                       "--task", "regression", "--epochs", "1"),
                   "target 'island' holds text", "--task classification")
    fractional = tmp_path / "frac.csv"
    fractional.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i / 7:.3f}\n" for i in range(30)))
    one_line_error(run("train", "mlp", "--data", fractional, "--target", "y", "--task", "classification"),
                   "target 'y' holds fractional values")


def test_every_builtin_classifier_can_be_a_regressor(penguins, tmp_path) -> None:
    result = run("train", "two_input_mlp", "--data", penguins, "--target", "body_mass_g", "--epochs", "2", "--quiet",
                 "--out", tmp_path / "two.keras")
    assert result.exit_code == 0, result.output
    assert kzoo.load(tmp_path / "two.keras").output_shape == (None, 1)
    # A subclassed mlp has no Dense output layer to swap, but it declares its backbone: a new
    # one-unit head goes on that.
    result = run("train", "mlp", "--data", penguins, "--target", "body_mass_g", "--set", "api=subclass", "--epochs", "1",
                 "--quiet", "--out", tmp_path / "sub.keras")
    assert result.exit_code == 0, result.output
    assert kzoo.load(tmp_path / "sub.keras").output_shape == (None, 1)


# -- self-contained: the same raw rows, the same answers everywhere ----------------------------------------
def test_reload_and_kzoo_predict_agree_on_raw_rows(classifier, penguins) -> None:
    import keras
    import tensorflow as tf

    model = classifier[0]
    plan = Plan.from_dict(read_model_metadata(model)["data"]["plan"])
    numeric, categorical = raw_columns(penguins, plan)
    assert np.isnan(numeric).any() and (categorical["sex"] == "NA").any()  # missing cells in the raw rows
    _, expected = predictions(model, penguins)
    x = {"numeric": numeric, **{c["input"]: tf.constant(categorical[c["column"]].reshape(-1, 1)) for c in plan.categorical}}
    for loaded in (keras.saving.load_model(model), kzoo.load(model)):
        np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-4)
    header, rows = kzoo.predict(model, penguins)  # the documented one-liner
    np.testing.assert_allclose(np.array([r[2:] for r in rows], dtype=float), expected, atol=1e-6)


@pytest.mark.parametrize("fmt,suffix", [("onnx", ".onnx"), ("litert", ".tflite")])
def test_exports_agree_on_raw_rows_encoded_with_their_side_file(classifier, penguins, tmp_path, fmt, suffix) -> None:
    from kzoo._workflow.export import RUNNERS

    model, target = classifier[0], tmp_path / f"m{suffix}"
    result = run("export", model, "--format", fmt, "-o", target)
    assert result.exit_code == 0, result.output
    assert "raw training rows" in result.stdout and "island, sex" in result.stdout
    inputs = json.loads(Path(f"{target}.inputs.json").read_text())
    assert inputs["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    rows = list(csv.DictReader(penguins.open()))
    feed = {"numeric": np.array([[np.nan if r[c] == "NA" else float(r[c]) for c in inputs["inputs"]["numeric"]["columns"]]
                                 for r in rows], "float32")}
    for name, spec in inputs["inputs"].items():
        if name != "numeric":  # encoded by the side file alone, as a deployment would
            index = {v: i + 1 for i, v in enumerate(spec["vocabulary"])}
            feed[name] = np.array([[index.get(r[spec["column"]], 0)] for r in rows], "int32")
    got = next(iter(RUNNERS[fmt](str(target), feed).values()))
    _, expected = predictions(model, penguins)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_numpy_encoding_matches_the_layers_in_the_model(classifier, penguins) -> None:
    from kzoo._engine.wrapping import core_of

    model = kzoo.load(classifier[0])
    plan = Plan.from_dict(read_model_metadata(classifier[0])["data"]["plan"])
    numeric, categorical = raw_columns(penguins, plan)
    categorical["island"][:3] = ["Atlantis", "", "NA"]  # unseen and missing values share slot 0
    features = encode(plan, numeric, categorical)
    core = core_of(model, plan)
    inside = core.get_layer("features").output
    probe = __import__("keras").Model(core.inputs, inside)
    np.testing.assert_allclose(probe.predict({"numeric": numeric, **lookup(plan, categorical)}, verbose=0), features,
                               atol=1e-5)


def test_old_format_files_still_predict_as_before(tmp_path) -> None:
    """A file of kzoo 0.1.0 (standardization in kzoo.json, not in the model) and its predictions
    then, on the same iris CSV."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    data = tmp_path / "iris.csv"
    with data.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        out.writerows([*x, iris.target_names[y]] for x, y in zip(iris.data, iris.target))
    result = run("predict", ROOT / "data" / "iris_kzoo_0_1.keras", "--data", data)
    assert result.exit_code == 0, result.output
    assert result.stdout == (ROOT / "data" / "iris_kzoo_0_1.predictions.csv").read_text()


# -- in-memory data -----------------------------------------------------------------------------------
def test_in_memory_tables_train_and_predict_like_files(penguins) -> None:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    result = kzoo.train("mlp", (x, y), epochs=30)
    assert (result.model.predict(x, verbose=0).argmax(axis=1) == y).mean() > 0.8  # raw rows in, classes out
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(penguins)
    trained = kzoo.train("mlp", frame, target="species", epochs=5)
    assert trained.metadata["data"]["plan"]["categorical"][0]["column"] == "island"
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    assert len(kzoo.train("mlp", columns, target="species", epochs=1).history["loss"]) == 1
    with pytest.raises(kzoo.DataError, match="expected .*arrays.*DataFrame"):
        kzoo.train("mlp", 42)


def test_builtin_weights_and_their_exports_take_raw_values(tmp_path) -> None:
    """``kzoo.build("mlp.iris")`` and its ONNX file classify raw iris (cm, not z-scores)."""
    from sklearn.datasets import load_iris

    from kzoo._workflow.export import run_onnx

    x, y = load_iris(return_X_y=True)
    x = x.astype("float32")
    assert (kzoo.build("mlp.iris").predict(x, verbose=0).argmax(axis=1) == y).mean() > 0.95
    exported = kzoo.export_model("mlp.iris", "onnx", tmp_path / "iris.onnx")
    assert exported.checked_on == "raw training rows" and exported.encode == ()
    probabilities = next(iter(run_onnx(exported.path, {"numeric": x}).values()))
    assert (probabilities.argmax(axis=1) == y).mean() > 0.95
    card = kzoo.get_weights("mlp.iris")
    assert card.task == "classification" and card.self_contained


@pytest.mark.slow
def test_a_table_model_trained_on_jax_predicts_the_same_on_tensorflow(penguins, tmp_path) -> None:
    """StringLookup needs tensorflow; off it, kzoo looks strings up in numpy and runs the core."""
    from .conftest import run_kzoo

    model = tmp_path / "jax.keras"
    trained = run_kzoo("--backend", "jax", "train", "mlp", "--data", str(penguins), "--target", "species",
                       "--epochs", "2", "--quiet", "--out", str(model))
    assert trained.returncode == 0, trained.stderr
    on_jax = run_kzoo("--backend", "jax", "predict", str(model), "--data", str(penguins))
    assert on_jax.returncode == 0, on_jax.stderr
    on_tensorflow = run("predict", model, "--data", penguins)
    assert on_tensorflow.exit_code == 0

    def table(text: str) -> tuple[list[list[str]], np.ndarray]:
        rows = list(csv.reader(text.splitlines()))
        return [row[:2] for row in rows], np.array([row[2:] for row in rows[1:]], dtype=float)

    (jax_classes, jax_p), (tf_classes, tf_p) = table(on_jax.stdout), table(on_tensorflow.stdout)
    assert jax_classes == tf_classes
    np.testing.assert_allclose(jax_p, tf_p, atol=1e-5)  # the backends round the 6th digit differently


def test_what_training_read_is_what_prediction_reads(tmp_path) -> None:
    """The model's --na-values, its categories as text ("02134" is not 2134) and its classes
    (in-memory labels holding some of them) are read back as training read them."""
    train = tmp_path / "train.csv"
    rows = [("missing" if i % 9 == 0 else str(i % 5), ["02134", "10001", "x"][i % 3], "dog" if i % 3 == 0 else "cat")
            for i in range(60)]
    train.write_text("a,zip,y\n" + "".join(f"{a},{z},{y}\n" for a, z, y in rows))
    model = tmp_path / "m.keras"
    result = run("train", "mlp", "--data", train, "--target", "y", "--na-values", "missing", "--epochs", "60",
                 "--learning-rate", "0.05", "--out", model, "--quiet")
    assert result.exit_code == 0, result.output
    predicted = run("predict", model, "--data", train)
    assert predicted.exit_code == 0, predicted.output  # "missing" is a missing number here too
    only_zips = tmp_path / "zips.csv"  # every zip looks like a number in this file
    only_zips.write_text("a,zip\n1,02134\n2,02134\n")
    classes = [row[1] for row in csv.reader(run("predict", model, "--data", only_zips).stdout.splitlines()[1:])]
    assert classes == ["dog", "dog"]
    dogs = {"a": np.array([1.0, 2.0]), "zip": np.array(["02134", "02134"]), "y": np.array(["dog", "dog"])}
    assert kzoo.evaluate(model, dogs, target=["y"])["accuracy"] == 1.0  # not scored as "cat"
