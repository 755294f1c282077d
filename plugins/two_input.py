"""The seed's two-branch model: one Dense branch per input, concatenated, then a classifier.

The Functional API at its simplest: a graph with several inputs. Written in the declared form,
the whole plugin is this function: kzoo reads everything else from the model it builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kzoo
from kzoo.config import require


def _validate(config: Mapping[str, Any]) -> None:
    name, dims, branches = "two_input_mlp", config["input_dims"], config["branch_units"]
    require(name, len(dims) >= 2 and all(d >= 1 for d in dims), "input_dims", dims,
            "two or more integers >= 1, such as 4,8")
    require(name, len(branches) == len(dims), "branch_units", branches,
            f"one tuple of units per input ({len(dims)}), such as (8,16),(8,12,16)")
    require(name, all(b and all(u >= 1 for u in b) for b in branches), "branch_units", branches,
            "non-empty tuples of integers >= 1")
    require(name, config["num_classes"] >= 2, "num_classes", config["num_classes"], "an integer >= 2")


@kzoo.model(tags=("seed", "classification", "multi-input"), validate=_validate)
def two_input_mlp(input_dims=(4, 8), branch_units=((8, 16), (8, 12, 16)), activation="relu", num_classes=10):
    """The seed's two-branch model: a Dense branch per input, concatenated, softmax on top."""
    import keras

    inputs, branch_outputs = [], []
    for i, (dim, units) in enumerate(zip(input_dims, branch_units), start=1):
        x = inp = keras.Input(shape=(dim,), name=f"input_{i}")
        for j, width in enumerate(units, start=1):
            x = keras.layers.Dense(width, activation=activation, name=f"branch_{i}_dense_{j}")(x)
        inputs.append(inp)
        branch_outputs.append(x)
    merged = keras.layers.concatenate(branch_outputs, name="concatenate")
    output = keras.layers.Dense(num_classes, activation="softmax", name="output")(merged)
    return keras.Model(inputs=inputs, outputs=output, name="two_input_mlp")


@kzoo.hookimpl
def kzoo_register_models(register):
    register(two_input_mlp)
