"""Keras code of the ``mlp`` plugin; imported only when a model is built or loaded."""

from __future__ import annotations

from collections.abc import Sequence

import keras


def dense_stack(hidden_units: Sequence[int], activation: str, num_classes: int) -> list[keras.layers.Layer]:
    """The MLP's layers, named so that weights line up across the three api styles."""
    hidden = [
        keras.layers.Dense(units, activation=activation, name=f"hidden_{i}")
        for i, units in enumerate(hidden_units, start=1)
    ]
    return [*hidden, keras.layers.Dense(num_classes, activation="softmax", name="output")]


@keras.saving.register_keras_serializable(package="kzoo")
class SubclassMLP(keras.Model):
    """The MLP written as a ``keras.Model`` subclass: the style with the most freedom."""

    def __init__(
        self,
        input_dim: int = 4,
        hidden_units: Sequence[int] = (8, 16, 32),
        activation: str = "relu",
        num_classes: int = 10,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.activation = activation
        self.num_classes = int(num_classes)
        self.stack = dense_stack(self.hidden_units, activation, self.num_classes)

    def build(self, input_shape) -> None:
        shape = tuple(input_shape)
        for layer in self.stack:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs):
        x = inputs
        for layer in self.stack:
            x = layer(x)
        return x

    def get_config(self) -> dict:
        # Without this, a saved model would come back with the defaults, not these arguments.
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            hidden_units=list(self.hidden_units),
            activation=self.activation,
            num_classes=self.num_classes,
        )
        return config
