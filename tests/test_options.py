"""Options as data: TrainOptions / DataOptions validated once and shared by kzoo.train, the builder
methods, kzoo.datasets.load and the CLI; one registration mechanism for weights and data sets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import kzoo
from kzoo import DataOptions, TrainOptions
from kzoo._zoo.plugins import PluginHost
from kzoo.datasets import Dataset, Table


def test_every_bad_option_is_named_once_with_what_was_expected():
    with pytest.raises(kzoo.OptionError) as caught:
        TrainOptions(epochs=0, val_split=1.5, schedule="linear", out="m.h5", plot="c.txt")
    error = caught.value
    assert isinstance(error, kzoo.ConfigError)
    assert [name for name, _, _ in error.problems] == ["epochs", "schedule", "val_split", "out", "plot"]
    assert str(error).startswith("bad training options: epochs=0 (expected an integer in 1..")
    flags = error.render(lambda name: "--" + name.replace("_", "-"))
    assert "--val-split 1.5 (expected a fraction in [0, 1)" in flags and "val_split=" not in flags


def test_options_are_frozen_and_replace_validates_again():
    options = TrainOptions(epochs=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.epochs = 4  # type: ignore[misc]
    assert options.replace(epochs=5).epochs == 5 and options.epochs == 3
    with pytest.raises(kzoo.OptionError, match="batch_size=0"):
        options.replace(batch_size=0)
    assert TrainOptions(strategy="default").strategy is None
    assert DataOptions(target="species").target == ("species",)
    with pytest.raises(kzoo.OptionError, match="samples=0"):
        DataOptions(samples=0)


def test_train_takes_options_or_their_fields_and_names_an_unknown_one():
    result = kzoo.train("mlp", "iris", options=TrainOptions(epochs=2, seed=3), epochs=3)
    assert result.epochs == 3  # keyword fields apply on top of the options
    assert result.metadata["training"]["seed"] == 3
    with pytest.raises(kzoo.ConfigError, match=r"unknown option 'epoch' \(did you mean epochs"):
        kzoo.train("mlp", "iris", epoch=3)
    with pytest.raises(kzoo.ConfigError, match="options=TrainOptions"):
        kzoo.train("mlp", "iris", TrainOptions())  # in the config's place


def test_the_builder_method_takes_the_same_options():
    builder = kzoo.get("mlp")
    data = kzoo.datasets.load("iris", builder, options=DataOptions(samples=10))
    model = builder.compile(builder.build(**data.config))
    history = builder.train(model, data.x, data.y, options=TrainOptions(epochs=2, batch_size=50, seed=1))
    assert len(history.history["loss"]) == 2


def test_datasets_load_takes_data_options():
    plain = kzoo.datasets.load("iris", "mlp")
    scaled = kzoo.datasets.load("iris", "mlp", options=DataOptions(standardize=False))
    keyword = kzoo.datasets.load("iris", "mlp", standardize=False)
    assert np.array_equal(scaled.x["input"], keyword.x["input"])
    assert not np.array_equal(plain.x["input"], scaled.x["input"])  # iris is standardized by default
    with pytest.raises(kzoo.ConfigError, match="options=DataOptions"):
        kzoo.datasets.load("iris", "mlp", DataOptions())  # in the config's place


class DatasetPlugin:
    def __init__(self, *names: str, fail: bool = False) -> None:
        self.names, self.fail = names, fail

    @kzoo.hookimpl
    def kzoo_register_datasets(self, register):
        for name in self.names:
            register(Dataset(name=name, description="test", load=lambda: Table(np.zeros((2, 1), "float32"), ["a"])))
        if self.fail:
            raise RuntimeError("broken after registering")


def test_data_sets_are_registered_all_or_none_per_plugin_and_a_duplicate_names_both(monkeypatch):
    host = PluginHost(strict=False)
    monkeypatch.setattr(kzoo._zoo.plugins, "_host", host)
    host.add(DatasetPlugin("shared_set"), "first")
    host.add(DatasetPlugin("own_set", "shared_set"), "second")
    host.add(DatasetPlugin("half_set", fail=True), "third")
    host.add(DatasetPlugin("synthetic"), "fourth")
    with pytest.warns(kzoo.PluginWarning) as warned:
        found = kzoo.datasets.datasets()
    assert set(found) == {"shared_set"} and found["shared_set"].plugin == "first"
    messages = " | ".join(str(w.message) for w in warned)
    assert "plugin 'second' registers data set 'shared_set', which plugin 'first' already registered" in messages
    assert "kzoo_register_datasets raised RuntimeError: broken after registering" in messages
    assert "plugin 'fourth' registers data set 'synthetic', which plugin 'kzoo' already registered" in messages
    assert [host.infos[n].status for n in ("first", "second", "third", "fourth")] == ["ok", "failed", "failed", "failed"]


def test_a_builder_is_told_where_its_weights_are():
    assert set(kzoo.get("mlp").weights) >= {"iris", "digits"}
    unregistered = type(kzoo.get("mlp"))()
    assert unregistered.weights == {}


# -- the recipe and the table-size rule -----------------------------------------------------------
def test_unset_options_take_the_models_recipe_then_kzoos_defaults_and_a_users_value_wins():
    from kzoo._engine.options import RECIPE_DEFAULTS

    recipe = {"epochs": 7, "learning_rate": 0.001, "schedule": "constant"}
    chosen = TrainOptions(epochs=3).resolved(recipe, rows=100_000)
    assert (chosen.epochs, chosen.learning_rate, chosen.schedule) == (3, 0.001, "constant")
    assert (chosen.batch_size, chosen.patience) == (RECIPE_DEFAULTS["batch_size"], RECIPE_DEFAULTS["patience"])
    assert TrainOptions(batch_size=500).resolved(recipe, rows=10).batch_size == 500  # the user's, even if large
    assert TrainOptions().epochs is None and TrainOptions().resolved().epochs == RECIPE_DEFAULTS["epochs"]


def test_an_unset_batch_size_gives_small_tables_eight_steps_an_epoch():
    from kzoo._engine.options import batch_size_for

    assert [batch_size_for(rows) for rows in (10, 120, 455, 1_000, 1_024, 50_000)] == [16, 16, 64, 128, 128, 128]
    assert batch_size_for(120, largest=256) == 16 and batch_size_for(10_000, largest=256) == 256
    assert batch_size_for(40, largest=8) == 8  # a recipe asking for less than 16 gets it
    assert TrainOptions().resolved({"batch_size": 512}, rows=120).batch_size == 16


def test_the_readme_iris_example_reaches_095_with_the_table_size_rule():
    result = kzoo.train("mlp", "iris", options=TrainOptions(epochs=30, val_split=0.2))
    assert result.metadata["training"]["batch_size"] == 16  # 120 training rows: 8 steps an epoch
    assert result.metrics["val_accuracy"] >= 0.95, result.metrics


def test_a_declared_recipe_is_checked_at_registration_and_trains_the_model():
    @kzoo.model(name="recipe_mlp", training={"epochs": 2, "batch_size": 32})
    def recipe_mlp(input_dim: int = 4, num_classes: int = 3):
        import keras

        inputs = keras.Input((input_dim,), name="x")
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="label")(inputs))

    from kzoo._zoo.registry import Registry

    Registry().add(recipe_mlp, "recipes")
    builder = recipe_mlp
    result = kzoo.train(builder, "iris", val_split=0.2)
    assert result.epochs == 2 and result.metadata["training"]["batch_size"] == 16  # the recipe's 32, halved: 120 rows
    assert kzoo.train(builder, "iris", epochs=1).epochs == 1

    @kzoo.model(name="bad_recipe", training={"epochs": 0, "optimizer": "sgd"})
    def bad_recipe(input_dim: int = 4):
        import keras

        inputs = keras.Input((input_dim,))
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))

    with pytest.raises(kzoo.PluginError, match=r"bad_recipe.*epochs=0 \(expected an integer.*optimizer='sgd'"):
        Registry().add(bad_recipe, "recipes")
