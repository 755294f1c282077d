"""Data: named data sets, CSV/NPZ files and synthetic data shaped per model, and the checks that
reject bad data with one clear message. No keras is needed here."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import kzoo
from kzoo import DataError, hookimpl
from kzoo.cli import main
from kzoo.datasets import Dataset, Table, get_dataset, list_datasets, load

BUILTIN_MODELS = ["mlp", "two_input_mlp", "siamese_mlp", "multi_output_mlp"]


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def iris_csv(tmp_path):
    from sklearn.datasets import load_iris

    bunch = load_iris()
    rows = [[*map(float, x), bunch.target_names[y]] for x, y in zip(bunch.data, bunch.target)]
    return write_csv(tmp_path / "iris.csv", ["sl", "sw", "pl", "pw", "species"], rows)


def test_builtin_datasets_are_listed_with_synthetic():
    assert {"iris", "digits", "wine", "breast_cancer", "synthetic"} <= set(list_datasets())
    assert get_dataset("digits").plugin == "sklearn_datasets"


@pytest.mark.parametrize("model", BUILTIN_MODELS)
@pytest.mark.parametrize("source", ["digits", "wine", "synthetic"])
def test_every_model_gets_data_shaped_for_its_specs(model, source):
    data = load(source, model)
    builder = kzoo.get(model)
    for spec in builder.input_specs(data.config):
        assert data.x[spec.name].shape[1:] == spec.shape
    assert set(data.y) == {o.name for o in builder.output_specs(data.config)}


def test_mlp_infers_input_size_and_class_count_unless_set():
    cfg = load("wine", "mlp").config
    assert (cfg["input_dim"], cfg["num_classes"]) == (13, 3)
    assert load("wine", "mlp", {"num_classes": 5}).config["num_classes"] == 5


def test_two_input_mlp_gets_top_and_bottom_halves_of_digits():
    data = load("digits", "two_input_mlp")
    raw = kzoo.datasets.load_table("digits").features
    np.testing.assert_array_equal(data.x["input_1"], raw[:, :32])
    np.testing.assert_array_equal(data.x["input_2"], raw[:, 32:])


def test_siamese_pairs_are_labelled_same_when_classes_match():
    data = load("iris", "siamese_mlp")
    same = data.y["same"][:, 0]
    assert 0.3 < same.mean() < 0.7  # about half the pairs match
    left_labels = kzoo.datasets.load_table("iris").target  # left keeps the table's order
    label_of = {row.tobytes(): label for row, label in zip(data.x["left"], left_labels)}
    partner_labels = np.array([label_of[row.tobytes()] for row in data.x["right"]])
    np.testing.assert_array_equal(same, (partner_labels == left_labels).astype("float32"))


def test_multi_output_gets_one_target_per_head():
    data = load("iris", "multi_output_mlp")
    assert data.x["input"].shape == (150, 3) and data.y["value"].shape == (150, 1)
    assert data.y["label"].max() == 2


def test_standardized_data_sets_save_their_scaling():
    data = load("wine", "mlp")
    assert np.allclose(data.x["input"].mean(axis=0), 0, atol=1e-4)
    plan = data.meta["plan"]  # the statistics the trained model's layers will hold
    assert len(plan["mean"]) == 13 and plan["std"] != [1.0] * 13
    digits = load("digits", "mlp").meta["plan"]
    assert set(digits["mean"]) == {0.0} and set(digits["std"]) == {1.0}  # digits is already in [0, 1]


def test_csv_with_text_target_gives_class_names(iris_csv):
    data = load(iris_csv, "mlp", target="species")
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.config["num_classes"] == 3 and data.x["input"].shape == (150, 4)


def test_csv_input_mapping_feeds_multi_input_models(iris_csv):
    data = load(iris_csv, "two_input_mlp", target="species", inputs={"input_1": ["sl", "sw", "pl"], "input_2": ["pw"]})
    assert data.config["input_dims"] == (3, 1)
    assert data.x["input_2"].shape == (150, 1)


def test_csv_per_output_targets(tmp_path):
    rows = [[1, 2, 3, "x", 0.5], [4, 5, 6, "y", 1.5], [7, 8, 9, "z", 2.5], [1, 1, 1, "w", 0.0]]
    path = write_csv(tmp_path / "m.csv", ["a", "b", "c", "kind", "size"], rows)
    data = load(path, "multi_output_mlp", target=["label=kind", "value=size"])
    assert data.config["input_dim"] == 3 and data.config["num_classes"] == 4
    assert data.y["label"].tolist() == [1, 2, 3, 0] and data.y["value"].tolist() == [0.5, 1.5, 2.5, 0.0]


def test_npz_arrays_named_after_inputs_and_outputs(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, left=rng.random((8, 4)), right=rng.random((8, 4)), same=rng.integers(0, 2, (8, 1)).astype(float))
    data = load(str(path), "siamese_mlp")
    assert data.x["left"].shape == (8, 4) and data.y["same"].shape == (8, 1)


@pytest.mark.parametrize(
    "rows, target, message",
    [
        ([[1, 2, 0]], "label", "no target column 'label'"),
        ([[1, "inf", 0]], "y", "column 'b' has 1 infinite cell(s), on line 2"),
        ([[1, 2, "NA"], [1, 3, ""]], "y", "every row's target 'y' is missing"),
        ([[1, 2, 0], [3, 4, 12]], "y", "labels [12] outside 0..9 (num_classes=10)"),
        ([], "y", "no data rows"),
    ],
)
def test_bad_csv_is_a_clear_data_error(tmp_path, rows, target, message):
    path = write_csv(tmp_path / "bad.csv", ["a", "b", "y"], rows)
    with pytest.raises(DataError, match=None) as info:
        load(path, "mlp", {"input_dim": 2, "num_classes": 10}, target=target)
    assert message in str(info.value)


def test_shape_mismatch_names_input_expected_and_given(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, input=np.zeros((4, 3)), output=np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=r"input 'input' expects samples of shape \[4\], the data gives \[3\]"):
        load(str(path), "mlp")


def test_unknown_data_set_suggests_close_names():
    with pytest.raises(DataError, match="Did you mean digits"):
        load("digitz", "mlp")


def test_missing_file_is_an_error():
    with pytest.raises(DataError, match="no data file"):
        load("nowhere/data.csv", "mlp")


def test_plugins_contribute_data_sets_through_the_hook():
    class Plugin:
        @hookimpl
        def kzoo_register_datasets(self, register):
            register(Dataset("tiny", "Two samples.", lambda: Table(
                np.array([[0.0, 1.0], [1.0, 0.0]], "float32"), ["a", "b"], np.array([0, 1], "int32"))))

    kzoo.register_plugin(Plugin(), "tiny_data")  # conftest resets plugins after the test
    data = load("tiny", "mlp")
    assert data.config["input_dim"] == 2 and get_dataset("tiny").plugin == "tiny_data"
    result = CliRunner().invoke(main, ["datasets", "--json"])
    assert '"tiny"' in result.output


def test_datasets_command_lists_names():
    result = CliRunner().invoke(main, ["datasets"])
    assert result.exit_code == 0
    for name in ("iris", "digits", "wine", "breast_cancer", "synthetic"):
        assert name in result.output


def test_listing_and_data_set_registration_stay_light():
    """Plugins register data sets at import time without numpy, sklearn or keras."""
    code = (
        "import sys, kzoo, kzoo.datasets; from kzoo.cli import main; kzoo.list_models(); "
        "kzoo.datasets.list_datasets(); "
        "print(sorted(m for m in ('numpy', 'sklearn', 'keras', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_data_set_points_at_plugin_filters(monkeypatch):
    from kzoo._zoo import plugins
    from kzoo.datasets import get_dataset

    monkeypatch.setenv("KZOO_LOAD_PLUGINS", "mlp")
    plugins.reset()
    with pytest.raises(kzoo.DataError, match="KZOO_LOAD_PLUGINS may be hiding the plugin"):
        get_dataset("iris")
