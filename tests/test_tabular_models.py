"""The ``tabular`` plugin's models, ``realmlp`` and ``tabm``, on a real table (palmerpenguins: a
categorical column and missing cells): they train through ``kzoo.train`` with their recipes, the
saved file answers on raw rows as ``kzoo.predict`` does, they regress, and their pieces do what
the papers describe (label smoothing; TabM's independent members, averaged)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo._engine.options import batch_size_for
from kzoo.datasets.preprocess import NUMERIC_INPUT, Plan

palmerpenguins = pytest.importorskip("palmerpenguins")
PENGUINS = Path(os.path.dirname(palmerpenguins.__file__)) / "data" / "penguins.csv"
TINY = {"realmlp": {"hidden_units": (16, 16), "embedding_frequencies": 4},
        "tabm": {"hidden_units": (16, 16), "members": 4}}
EPOCHS = 3


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, tuple[Path, kzoo.TrainResult]]:
    root = tmp_path_factory.mktemp("tabular")
    runs = {}
    for name, config in TINY.items():
        out = root / f"{name}.keras"
        runs[name] = out, kzoo.train(name, PENGUINS, config=config, target="species", epochs=EPOCHS, val_split=0.2,
                                     out=out)
    return runs


# Run in a fresh interpreter that imports keras alone: every class a saved model names must be
# Keras's own, or the plain load fails there.
PLAIN_LOAD = """
import sys
import numpy as np
import keras
import tensorflow as tf

for path in sys.argv[1:]:
    raw = np.load(path + ".inputs.npz")
    x = {k: tf.constant(v) if v.dtype.kind == "U" else v for k, v in raw.items()}
    out = keras.saving.load_model(path).predict(x, verbose=0)
    np.save(path + ".out.npy", out)
assert not any(m.split(".")[0] in ("kzoo", "kzoo_plugins") for m in sys.modules), "kzoo was imported"
"""


def test_plain_keras_load_in_a_fresh_session_matches_kzoo_predict_on_raw_rows(trained) -> None:
    import subprocess
    import sys

    from kzoo._workflow.inference import read_model_metadata

    raw = list(csv.DictReader(PENGUINS.open()))
    expected = {}
    for name, (path, _) in trained.items():
        plan = Plan.from_dict(read_model_metadata(path)["data"]["plan"])
        numeric = np.array([[np.nan if r[c] == "NA" else float(r[c]) for c in plan.numeric] for r in raw], "float32")
        inputs = {NUMERIC_INPUT: numeric, **{c["input"]: np.array([[r[c["column"]]] for r in raw]) for c in plan.categorical}}
        assert np.isnan(numeric).any() and (inputs[plan.categorical[-1]["input"]] == "NA").any()  # missing cells
        np.savez(f"{path}.inputs.npz", **inputs)
        header, rows = kzoo.predict(path, PENGUINS)
        assert header[2:] == ["output_p_Adelie", "output_p_Chinstrap", "output_p_Gentoo"]
        expected[name] = np.array([r[2:] for r in rows], dtype=float)
    paths = [str(path) for path, _ in trained.values()]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, "-c", PLAIN_LOAD, *paths], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name, (path, _) in trained.items():
        np.testing.assert_allclose(np.load(f"{path}.out.npy"), expected[name], atol=1e-4)


@pytest.mark.parametrize("name", list(TINY))
def test_the_recipe_is_applied_and_binary_features_are_read_from_the_table(trained, name: str) -> None:
    _, result = trained[name]
    recipe, training = kzoo.get(name).spec.training, result.metadata["training"]
    assert training["epochs"] == EPOCHS  # the user's value wins over the recipe's
    rows = round(0.8 * 342)  # penguins' rows with a species, less the validation split
    assert training["learning_rate"] == recipe["learning_rate"] and training["schedule"] == recipe["schedule"]
    assert training["patience"] == recipe["patience"] and training["batch_size"] == batch_size_for(rows, 256)
    config = result.metadata["config"]
    plan = Plan.from_dict(result.metadata["data"]["plan"])
    # missing flags and one-hot categories follow the numeric columns; none of those is binary here
    assert config["binary_features"] == list(range(len(plan.numeric), config["input_dim"]))
    optimizer = result.network.optimizer
    assert type(optimizer).__name__ == "AdamW"
    assert float(optimizer.beta_2) == kzoo.get(name).spec.default_config["beta_2"]
    assert result.metrics["val_accuracy"] > 0.5


def test_realmlp_trains_with_label_smoothing(trained) -> None:
    from kzoo_plugins._tabular_layers import SmoothedSparseCrossentropy

    loss = trained["realmlp"][1].network.loss
    assert isinstance(loss, SmoothedSparseCrossentropy) and loss.label_smoothing == 0.1


def test_the_smoothed_loss_is_keras_categorical_crossentropy_with_label_smoothing() -> None:
    import keras
    from kzoo_plugins._tabular_layers import SmoothedSparseCrossentropy

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 16)
    probabilities = rng.dirichlet(np.ones(4), 16).astype("float32")
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(4, dtype="float32")[labels], probabilities)
    for shaped in (labels, labels.reshape(-1, 1)):
        got = SmoothedSparseCrossentropy(0.1)(shaped, probabilities)
        np.testing.assert_allclose(float(got), float(expected), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:.*left out 2 row")  # penguins without a body mass
@pytest.mark.parametrize("name", list(TINY))
def test_a_numeric_target_trains_a_regressor(name: str) -> None:
    result = kzoo.train(name, PENGUINS, config=TINY[name], target="body_mass_g", task="regression", epochs=EPOCHS,
                        val_split=0.2)
    assert result.model.output_shape == (None, 1) and "val_mae" in result.metrics
    assert np.isfinite(result.metrics["loss"])
    assert type(result.network.loss).__name__ != "SmoothedSparseCrossentropy"  # a regressor's loss is kzoo's
    if name == "realmlp":  # RealMLP-TD's regressor uses parametric Mish (its classifier SELU), as saved
        assert result.metadata["config"]["activation"] == "mish"
        assert result.metadata["config"]["parametric_activation"] is True
        assert result.network.get_layer("hidden_1_activation").activation.__name__ == "mish"
        assert result.network.get_layer("hidden_1").activation.__name__ == "linear"
        assert result.metadata["training"]["learning_rate"] == 2 * kzoo.get_spec(name).training["learning_rate"]


def test_a_users_activation_wins_over_the_regression_default() -> None:
    from kzoo._zoo.tasks import for_task

    regressor = for_task(kzoo.get("realmlp"), "regression")
    assert regressor.config()["activation"] == "mish" and kzoo.get("realmlp").config()["activation"] == "selu"
    assert regressor.config(activation="gelu")["activation"] == "gelu"


def test_a_regressors_recipe_adds_the_models_regression_options_and_a_users_win() -> None:
    from kzoo._zoo.tasks import for_task

    classifier = kzoo.get("realmlp")
    regressor = for_task(classifier, "regression")
    assert regressor.recipe() == {**classifier.recipe(), "learning_rate": 4e-3}
    assert kzoo.TrainOptions().resolved(regressor.recipe()).learning_rate == 4e-3
    assert kzoo.TrainOptions(learning_rate=1e-3).resolved(regressor.recipe()).learning_rate == 1e-3
    assert for_task(kzoo.get("mlp"), "regression").recipe() == kzoo.get("mlp").recipe()  # no options of its own


def test_kzoo_info_shows_what_a_regressor_changes() -> None:
    from tests._cli import run

    shown = run("info", "realmlp")
    assert shown.exit_code == 0 and "regression: activation=mish, parametric_activation=true, learning_rate=0.004" in shown.output, shown.output
    assert "regression:" not in run("info", "mlp").output


def test_a_parametric_activation_starts_as_its_function_and_can_learn_to_be_linear() -> None:
    import keras

    config = {"input_dim": 5, "num_classes": 3, "hidden_units": (8,), "dropout": 0.0}
    model = kzoo.build("realmlp", **config, parametric_activation=True, activation="mish")
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    dense = keras.Model(model.inputs, model.get_layer("hidden_1").output).predict(x, verbose=0)
    after = keras.Model(model.inputs, model.get_layer("hidden_1_parametric").output)
    mish = dense * np.tanh(np.log1p(np.exp(dense)))
    np.testing.assert_allclose(after.predict(x, verbose=0), mish, atol=1e-5)  # w = 1: the function itself
    mix = model.get_layer("hidden_1_mix")
    mix.kernel.assign(np.zeros(mix.kernel.shape, "float32"))  # w = 0: the unit is linear
    np.testing.assert_allclose(after.predict(x, verbose=0), dense, atol=1e-6)


@pytest.mark.parametrize("factor", [0.1, 1.0, 6.0])
def test_unit_weights_train_at_their_learning_rate_factor(factor: float) -> None:
    """One Adam step moves a weight by about the learning rate, whatever its gradient's scale:
    stored divided by ``factor``, the weight the layer applies moves ``factor`` times as far."""
    import keras
    from kzoo_plugins._tabular_layers import unit_weights

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, unit_weights(inputs, "w", lr_factor=factor))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = np.ones((4, 3), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x, rtol=1e-6)  # starts at 1
    model.train_on_batch(x, np.zeros((4, 3), "float32"))
    np.testing.assert_allclose(model.predict(x, verbose=0), 1 - factor * 1e-3, rtol=1e-4)


def test_tabm_members_are_independent_and_the_output_is_their_mean() -> None:
    import keras

    model = kzoo.build("tabm", input_dim=5, num_classes=3, hidden_units=(8,), members=4)
    adapters = keras.ops.convert_to_numpy(model.get_layer("adapters").kernel)
    assert adapters.shape == (4, 5) and set(np.unique(adapters)) <= {-1.0, 1.0}
    assert len({tuple(row) for row in adapters}) > 1  # the members start apart
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    members = keras.Model(model.inputs, model.get_layer("member_probabilities").output).predict(x, verbose=0)
    assert members.shape == (6, 4, 3) and not np.allclose(members[:, 0], members[:, 1])
    np.testing.assert_allclose(model.predict(x, verbose=0), members.mean(axis=1), atol=1e-6)
