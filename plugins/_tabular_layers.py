"""Keras code of the ``tabular`` plugin (``realmlp``, ``tabm``): imported only when a model is built.

Every piece is made of Keras's own layers (``EinsumDense``, ``Dense``, ``Concatenate``...) and
``keras.ops`` applied to symbolic tensors, which a functional model records as operations of
``keras.ops``: a saved model holds no class of kzoo's, so a plain ``keras.saving.load_model`` in
a session that never imported kzoo reads it (the papers' custom layers would need their module
imported first), and it runs on TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
from keras import layers, ops

PACKAGE = "kzoo_tabular"


def smooth_clip(x, bound: float = 3.0):
    """``x / sqrt(1 + (x / bound)^2)``: RealMLP's smooth clipping of scaled numeric features.

    Near 0 it is the identity; far out it tends to ``±bound``, so an outlier (or a value far
    outside the training range at prediction time) cannot dominate the first layer."""
    return x / ops.sqrt(1.0 + ops.square(x / bound))


def periodic_embedding(x, frequencies: int = 16, dim: int = 4, sigma: float = 0.1, name: str = "periodic"):
    """RealMLP's PBLD numeric embedding (periodic, bias, linear, DenseNet-style).

    Per feature ``x_j``: ``v = cos(2π (w_j x_j + b_j))`` with ``frequencies`` trainable
    frequencies ``w_j ~ N(0, sigma)`` and phases ``b_j ~ U(-1/2, 1/2)``; then a per-feature linear
    map of ``v`` to ``dim - 1`` values, concatenated with ``x_j`` itself. ``(batch, n)`` in,
    ``(batch, n * dim)`` out."""
    n, m = int(x.shape[-1]), int(frequencies)
    column = ops.expand_dims(x, -1)  # (batch, n, 1)
    phase = layers.EinsumDense("bni,inm->bnm", output_shape=(n, m), bias_axes="nm", name=f"{name}_frequencies",
                               kernel_initializer=keras.initializers.RandomNormal(stddev=sigma),
                               bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5))(column)
    waves = ops.cos(2.0 * math.pi * phase)  # (batch, n, m)
    limit = 1.0 / math.sqrt(m)  # torch.nn.Linear's init, as in the paper's code
    linear = layers.EinsumDense("bnm,nme->bne", output_shape=(n, dim - 1), bias_axes="ne", name=f"{name}_linear",
                                kernel_initializer=keras.initializers.RandomUniform(-limit, limit),
                                bias_initializer=keras.initializers.RandomUniform(-limit, limit))(waves)
    # The feature itself from its own expand_dims node: one node feeding both the frequencies and
    # this concatenation makes Graphviz's dot abort ("Trapezoid-table overflow") on kzoo plot.
    itself = ops.expand_dims(x, -1)
    embedded = layers.Concatenate(axis=-1, name=f"{name}_features")([itself, linear])  # (batch, n, dim)
    return layers.Flatten(name=name)(embedded)


def diagonal_scale(x, name: str = "scale"):
    """A trainable per-feature scale (initialised to 1): RealMLP's scaling layer, which lets the
    network learn how much each input feature matters before the first Dense layer."""
    return unit_weights(x, name)


def unit_weights(x, name: str, lr_factor: float = 1.0):
    """``x`` times one trainable weight a feature, initialised to 1, trained ``lr_factor`` times as
    fast as its neighbours.

    Adam's step on a weight does not depend on its gradient's scale, so a weight ``w`` stored as
    ``w / f`` and multiplied by ``f`` in the forward pass moves ``f`` times as far a step: the
    per-layer learning-rate factors of RealMLP-TD, made of stock layers (the saved model needs
    no class of kzoo's). With ``lr_factor`` 1 it is the plain layer."""
    factor = float(lr_factor)
    stored = layers.EinsumDense("bi,i->bi", output_shape=(int(x.shape[-1]),), name=name,
                                kernel_initializer=keras.initializers.Constant(1.0 / factor))(x)
    return stored if factor == 1 else layers.Rescaling(factor, name=f"{name}_lr_factor")(stored)


def parametric_activation(x, activation: str, name: str, lr_factor: float = 0.1):
    """RealMLP-TD's parametric activation: ``x + w * (f(x) - x)`` with one trainable ``w`` a
    unit (initialised to 1, so it starts as ``f``), trained at ``lr_factor`` of the rate: each
    unit can learn to be more or less linear."""
    bent = layers.Activation(activation, name=f"{name}_activation")(x)
    bend = layers.Subtract(name=f"{name}_bend")([bent, x])
    return layers.Add(name=f"{name}_parametric")([x, unit_weights(bend, f"{name}_mix", lr_factor)])


def member_adapters(x, members: int, name: str = "adapters"):
    """TabM-mini's one non-shared piece before the MLP: ``(batch, d)`` -> ``(batch, k, d)``, row
    ``i`` of member ``m`` being ``x_i * r_m``. The adapters start at 1: :func:`random_signs` turns
    them into ±1 once the model is built, which makes the members differ from the first step."""
    return layers.EinsumDense("bd,kd->bkd", output_shape=(int(members), int(x.shape[-1])), kernel_initializer="ones",
                              name=name)(x)


def random_signs(layer: keras.layers.Layer) -> None:
    """Set ``layer``'s kernel to entries ±1 with equal odds (drawn from Keras's global seed, so a
    seeded run draws the same members)."""
    draw = keras.random.uniform(tuple(layer.kernel.shape))
    layer.kernel.assign(ops.cast(ops.where(draw < 0.5, -1.0, 1.0), layer.kernel.dtype))


def member_mean(x, name: str = "output"):
    """``(batch, k, ...)`` -> ``(batch, ...)``: the ensemble's prediction, the mean of its members'."""
    return layers.Identity(name=name)(ops.mean(x, axis=1))


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy on integer labels with label smoothing (Keras 3's sparse loss
    has none): the labels are one-hot encoded over the prediction's classes, then
    ``keras.losses.categorical_crossentropy(..., label_smoothing=...)``. Used for training only:
    kzoo saves its models without the compile state, so no file names this class."""

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        one_hot = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def split_features(x, input_dim: int, binary: Sequence[int]):
    """``(numeric, binary)`` column blocks of ``x`` (either None when empty): the features that
    get clipping and embeddings, and the 0/1 ones (missing flags, one-hot categories) that don't."""
    chosen = sorted(set(binary))
    numeric = [i for i in range(input_dim) if i not in set(chosen)]
    if not chosen:
        return x, None
    if not numeric:
        return None, x
    return ops.take(x, numeric, axis=1), ops.take(x, chosen, axis=1)


def numeric_front(x, config: Mapping[str, Any]):
    """Both models' first stage: numeric features (kzoo's z-scores) smoothly clipped and
    (``embedding``) PBLD-embedded, then put back next to the binary features, as one flat vector."""
    numeric, flags = split_features(x, config["input_dim"], config["binary_features"])
    parts = []
    if numeric is not None:
        numeric = smooth_clip(numeric)
        if config["embedding"]:
            numeric = periodic_embedding(numeric, config["embedding_frequencies"], config["embedding_dim"],
                                         config["embedding_sigma"], name="periodic_embedding")
        parts.append(numeric)
    if flags is not None:
        parts.append(flags)
    return layers.Concatenate(name="front")(parts) if len(parts) > 1 else parts[0]


CUSTOM_OBJECTS = {f"{PACKAGE}>{cls.__name__}": cls for cls in (SmoothedSparseCrossentropy,)}
