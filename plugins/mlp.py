"""The seed's multilayer perceptron, buildable as Sequential, Functional or a Model subclass.

All three styles create the same layers with the same names, so weights copy between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzoo import ModelBuilder, ModelSpec, hookimpl
from kzoo.config import require


class MLPBuilder(ModelBuilder):
    """The advanced form (a ModelBuilder subclass): one model offered in several api styles.
    Inputs, outputs and the parameter count are read from a build (kept in kzoo-manifest.json)."""

    spec = ModelSpec(
        name="mlp",
        description="The seed's MLP: Dense layers stacked on one input, softmax classifier on top.",
        api=("sequential", "functional", "subclass"),
        tags=("seed", "classification", "single-input"),
        default_config={
            "input_dim": 4,
            "hidden_units": (8, 16, 32),
            "activation": "relu",
            "num_classes": 10,
            "api": "sequential",
        },
        # kzoo tune's default search: the layers' widths and depth, the activation and the peak rate.
        search_space={
            "hidden_units": ["32", "64", "128", "64,32", "128,64", "8,16,32", "64,64,64"],
            "activation": ["relu", "gelu", "tanh"],
            "learning_rate": ("log", 1e-3, 5e-2),
        },
    )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        name = self.spec.name
        require(name, config["input_dim"] >= 1, "input_dim", config["input_dim"], "an integer >= 1")
        require(name, all(u >= 1 for u in config["hidden_units"]), "hidden_units", config["hidden_units"],
                "integers >= 1, such as 8,16,32")
        require(name, config["num_classes"] >= 2, "num_classes", config["num_classes"], "an integer >= 2")
        require(name, config["api"] in self.spec.apis, "api", config["api"], " or ".join(self.spec.apis))

    def build_model(self, config: Mapping[str, Any]):
        import keras

        from ._mlp_model import SubclassMLP, dense_stack

        args = {k: config[k] for k in ("input_dim", "hidden_units", "activation", "num_classes")}
        if config["api"] == "subclass":
            model = SubclassMLP(**args, name="mlp")
            model.build((None, config["input_dim"]))
            return model
        inputs = keras.Input(shape=(config["input_dim"],), name="input")
        layers = dense_stack(args["hidden_units"], args["activation"], args["num_classes"])
        if config["api"] == "sequential":
            return keras.Sequential([inputs, *layers], name="mlp")
        x = inputs
        for layer in layers:
            x = layer(x)
        return keras.Model(inputs=inputs, outputs=x, name="mlp")

    def build_backbone(self, config: Mapping[str, Any]):
        """The hidden layers: raw features in, the last hidden layer's activations out (named
        as in the whole model, so a whole model's weights fit it layer by layer)."""
        import keras

        from ._mlp_model import dense_stack

        inputs = keras.Input(shape=(config["input_dim"],), name="input")
        x = inputs
        for layer in dense_stack(config["hidden_units"], config["activation"], config["num_classes"])[:-1]:
            x = layer(x)
        return keras.Model(inputs=inputs, outputs=x, name="mlp_backbone")

    def custom_objects(self) -> dict[str, Any]:
        from ._mlp_model import SubclassMLP

        return {"kzoo>SubclassMLP": SubclassMLP}


@hookimpl
def kzoo_register_models(register):
    register(MLPBuilder())
