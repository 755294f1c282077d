"""Keras code of the ``shared_layers`` plugin; imported only when a model is built or loaded."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kzoo")
class AbsoluteDifference(keras.layers.Layer):
    """``|a - b|`` of two embeddings: a named, serializable layer (a Lambda would not load in safe mode)."""

    def call(self, inputs):
        a, b = inputs
        return keras.ops.abs(a - b)

    def compute_output_shape(self, input_shape):
        return input_shape[0]
