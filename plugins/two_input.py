"""The seed's two-branch model: one Dense branch per input, concatenated, then a classifier.

The Functional API at its simplest: a graph with several inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzoo import ModelBuilder, ModelSpec, TensorSpec, hookimpl
from kzoo.config import require


class TwoInputMLPBuilder(ModelBuilder):
    spec = ModelSpec(
        name="two_input_mlp",
        description="The seed's two-branch model: a Dense branch per input, concatenated, softmax on top.",
        api="functional",
        tags=("seed", "classification", "multi-input"),
        inputs=(TensorSpec("input_1", (4,)), TensorSpec("input_2", (8,))),
        outputs=(
            TensorSpec("output", (10,), loss="sparse_categorical_crossentropy", metrics=("accuracy",)),
        ),
        default_config={
            "input_dims": (4, 8),
            "branch_units": ((8, 16), (8, 12, 16)),
            "activation": "relu",
            "num_classes": 10,
        },
        params=902,
    )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        name = self.spec.name
        dims, branches = config["input_dims"], config["branch_units"]
        require(name, len(dims) >= 2 and all(d >= 1 for d in dims), "input_dims", dims,
                "two or more integers >= 1, such as 4,8")
        require(name, len(branches) == len(dims), "branch_units", branches,
                f"one tuple of units per input ({len(dims)}), such as (8,16),(8,12,16)")
        require(name, all(b and all(u >= 1 for u in b) for b in branches), "branch_units", branches,
                "non-empty tuples of integers >= 1")
        require(name, config["num_classes"] >= 2, "num_classes", config["num_classes"], "an integer >= 2")

    def input_specs(self, config: Mapping[str, Any] | None = None) -> tuple[TensorSpec, ...]:
        config = config or self.spec.default_config
        return tuple(TensorSpec(f"input_{i}", (dim,)) for i, dim in enumerate(config["input_dims"], start=1))

    def output_specs(self, config: Mapping[str, Any] | None = None) -> tuple[TensorSpec, ...]:
        config = config or self.spec.default_config
        (out,) = self.spec.outputs
        return (TensorSpec(out.name, (config["num_classes"],), loss=out.loss, metrics=out.metrics),)

    def infer_config(self, table) -> dict[str, Any]:
        """Without a column mapping, the features are cut into one contiguous view per input:
        digits' 64 pixels become the image's top and bottom halves (32 + 32)."""
        inferred = super().infer_config(table)
        if not table.input_columns:
            parts = len(self.spec.default_config["input_dims"])
            size, extra = divmod(table.num_features, parts)
            inferred["input_dims"] = tuple([size] * (parts - 1) + [size + extra])
        return inferred

    def build_model(self, config: Mapping[str, Any]):
        import keras

        inputs, branch_outputs = [], []
        for i, (dim, units) in enumerate(zip(config["input_dims"], config["branch_units"]), start=1):
            x = inp = keras.Input(shape=(dim,), name=f"input_{i}")
            for j, width in enumerate(units, start=1):
                x = keras.layers.Dense(width, activation=config["activation"], name=f"branch_{i}_dense_{j}")(x)
            inputs.append(inp)
            branch_outputs.append(x)
        merged = keras.layers.concatenate(branch_outputs, name="concatenate")
        output = keras.layers.Dense(config["num_classes"], activation="softmax", name="output")(merged)
        return keras.Model(inputs=inputs, outputs=output, name="two_input_mlp")


@hookimpl
def kzoo_register_models(register):
    register(TwoInputMLPBuilder())
