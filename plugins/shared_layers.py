"""Shared-layer models: where the Functional API earns its keep.

- ``siamese_mlp``: one tower whose layers serve two inputs (weights counted once).
- ``multi_output_mlp``: one shared trunk feeding two named heads, each with its own loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzoo import ModelBuilder, ModelSpec, hookimpl
from kzoo.config import require


def _check_units(model: str, key: str, units: tuple[int, ...]) -> None:
    require(model, bool(units) and all(u >= 1 for u in units), key, units, "one or more integers >= 1")


def _check_dim(model: str, config: Mapping[str, Any]) -> None:
    require(model, config["input_dim"] >= 1, "input_dim", config["input_dim"], "an integer >= 1")


def _dense_tower(units: tuple[int, ...], activation: str, input_dim: int, name: str):
    import keras

    return keras.Sequential(
        [keras.Input(shape=(input_dim,), name=f"{name}_input")]
        + [keras.layers.Dense(u, activation=activation, name=f"{name}_dense_{i}") for i, u in enumerate(units, 1)],
        name=name,
    )


class SiameseMLPBuilder(ModelBuilder):
    spec = ModelSpec(
        name="siamese_mlp",
        description="Siamese MLP: one shared Dense tower embeds two inputs; says if they match.",
        api="functional",
        tags=("shared-layers", "multi-input", "binary"),
        default_config={"input_dim": 4, "tower_units": (16, 8), "activation": "relu", "merge": "absdiff"},
        extra={"merges": ("absdiff", "concat")},
    )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        _check_dim(self.spec.name, config)
        _check_units(self.spec.name, "tower_units", config["tower_units"])
        merges = self.spec.extra["merges"]
        require(self.spec.name, config["merge"] in merges, "merge", config["merge"], " or ".join(merges))

    def shape_data(self, table, config: Mapping[str, Any]):
        """Pairs of samples labelled same (1) or different (0) class, half of each, with a fixed
        seed; without labels (prediction) each sample is paired with a random other one."""
        if table.input_columns or table.targets:
            return super().shape_data(table, config)
        from ._pairs import make_pairs

        left, right, same = make_pairs(table.features, table.target)
        return {"left": left, "right": right}, (None if same is None else {"same": same})

    def build_model(self, config: Mapping[str, Any]):
        import keras

        from ._shared_layers_model import AbsoluteDifference

        tower = _dense_tower(config["tower_units"], config["activation"], config["input_dim"], "tower")
        left = keras.Input(shape=(config["input_dim"],), name="left")
        right = keras.Input(shape=(config["input_dim"],), name="right")
        a, b = tower(left), tower(right)  # the same layer objects, the same weights
        if config["merge"] == "absdiff":
            merged = AbsoluteDifference(name="absdiff")([a, b])
        else:
            merged = keras.layers.concatenate([a, b], name="concat")
        same = keras.layers.Dense(1, activation="sigmoid", name="same")(merged)
        return keras.Model(inputs=[left, right], outputs=same, name="siamese_mlp")

    def custom_objects(self) -> dict[str, Any]:
        from ._shared_layers_model import AbsoluteDifference

        return {"kzoo>AbsoluteDifference": AbsoluteDifference}


class MultiOutputMLPBuilder(ModelBuilder):
    spec = ModelSpec(
        name="multi_output_mlp",
        description="Multi-output MLP: a shared Dense trunk with a class head and a regression head.",
        api="functional",
        tags=("shared-layers", "multi-output", "classification", "regression"),
        default_config={"input_dim": 4, "trunk_units": (16, 16), "activation": "relu", "num_classes": 3},
    )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        _check_dim(self.spec.name, config)
        _check_units(self.spec.name, "trunk_units", config["trunk_units"])
        require(self.spec.name, config["num_classes"] >= 2, "num_classes", config["num_classes"], "an integer >= 2")

    def infer_config(self, table) -> dict[str, Any]:
        inferred = super().infer_config(table)
        if not (table.input_columns or table.targets):
            inferred["input_dim"] = table.num_features - 1  # the last column becomes "value"
        return inferred

    def shape_data(self, table, config: Mapping[str, Any]):
        """One target per head: ``label`` is the class target, ``value`` regresses the last
        feature column, which is left out of the input."""
        if table.input_columns or table.targets:
            return super().shape_data(table, config)
        x = {"input": table.features[:, :-1]}
        if table.target is None:
            return x, None
        return x, {"label": table.target, "value": table.features[:, -1:]}

    def build_model(self, config: Mapping[str, Any]):
        import keras

        inputs = keras.Input(shape=(config["input_dim"],), name="input")
        trunk = _dense_tower(config["trunk_units"], config["activation"], config["input_dim"], "trunk")(inputs)
        label = keras.layers.Dense(config["num_classes"], activation="softmax", name="label")(trunk)
        value = keras.layers.Dense(1, name="value")(trunk)
        return keras.Model(inputs=inputs, outputs={"label": label, "value": value}, name="multi_output_mlp")


@hookimpl
def kzoo_register_models(register):
    register(SiameseMLPBuilder())
    register(MultiOutputMLPBuilder())
