"""Keras code of the ``tabular`` plugin (``realmlp``, ``tabm``): imported only when a model is built
or loaded. Every layer uses ``keras.ops`` alone, so it runs on TensorFlow, JAX and PyTorch, and is
registered serializable, so a saved model reloads (``custom_objects`` of the builders)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops

PACKAGE = "kzoo_tabular"


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothClip(keras.layers.Layer):
    """``x / sqrt(1 + (x / bound)^2)``: RealMLP's smooth clipping of scaled numeric features.

    Near 0 it is the identity; far out it tends to ``±bound``, so an outlier (or a value far
    outside the training range at prediction time) cannot dominate the first layer."""

    def __init__(self, bound: float = 3.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bound = float(bound)

    def call(self, x):
        return x / ops.sqrt(1.0 + ops.square(x / self.bound))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "bound": self.bound}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PeriodicEmbedding(keras.layers.Layer):
    """RealMLP's PBLD numeric embedding (periodic, bias, linear, DenseNet-style).

    Per feature ``x_j``: ``v = cos(2π (w_j x_j + b_j))`` with ``frequencies`` trainable
    frequencies ``w_j ~ N(0, sigma)`` and phases ``b_j ~ U(-1/2, 1/2)``; then a per-feature linear
    map of ``v`` to ``dim - 1`` values, concatenated with ``x_j`` itself. ``(batch, n)`` in,
    ``(batch, n * dim)`` out."""

    def __init__(self, frequencies: int = 16, dim: int = 4, sigma: float = 0.1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frequencies, self.dim, self.sigma = int(frequencies), int(dim), float(sigma)

    def build(self, input_shape) -> None:
        n, m = int(input_shape[-1]), self.frequencies
        self.w = self.add_weight(shape=(n, m), name="frequency",
                                 initializer=keras.initializers.RandomNormal(stddev=self.sigma))
        self.b = self.add_weight(shape=(n, m), name="phase", initializer=keras.initializers.RandomUniform(-0.5, 0.5))
        limit = 1.0 / math.sqrt(m)  # torch.nn.Linear's init, as in the paper's code
        self.kernel = self.add_weight(shape=(n, m, self.dim - 1), name="kernel",
                                      initializer=keras.initializers.RandomUniform(-limit, limit))
        self.bias = self.add_weight(shape=(n, self.dim - 1), name="bias",
                                    initializer=keras.initializers.RandomUniform(-limit, limit))

    def call(self, x):
        v = ops.cos(2.0 * math.pi * (ops.expand_dims(x, -1) * self.w + self.b))  # (batch, n, m)
        linear = ops.einsum("bnm,nme->bne", v, self.kernel) + self.bias  # (batch, n, dim - 1)
        out = ops.concatenate([ops.expand_dims(x, -1), linear], axis=-1)  # (batch, n, dim)
        return ops.reshape(out, (-1, out.shape[1] * self.dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(input_shape[-1]) * self.dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "frequencies": self.frequencies, "dim": self.dim, "sigma": self.sigma}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiagonalScale(keras.layers.Layer):
    """A trainable per-feature scale (initialised to 1): RealMLP's scaling layer, which lets
    the network learn how much each input feature matters before the first Dense layer."""

    def build(self, input_shape) -> None:
        self.scale = self.add_weight(shape=(int(input_shape[-1]),), name="scale", initializer="ones")

    def call(self, x):
        return x * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomSigns(keras.initializers.Initializer):
    """Entries ±1 with equal odds: TabM-mini's initialisation of its per-member adapters, which
    makes the members differ from the first step."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def __call__(self, shape, dtype=None):
        draw = keras.random.uniform(shape, seed=self.seed, dtype=dtype or "float32")
        return ops.cast(ops.where(draw < 0.5, -1.0, 1.0), dtype or "float32")

    def get_config(self) -> dict:
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MemberAdapter(keras.layers.Layer):
    """TabM-mini's one non-shared piece before the MLP: ``(batch, d)`` -> ``(batch, k, d)``, row
    ``i`` of member ``m`` being ``x_i * r_m`` (a per-member multiplicative adapter, ±1 at start)."""

    def __init__(self, members: int = 32, **kwargs) -> None:
        super().__init__(**kwargs)
        self.members = int(members)

    def build(self, input_shape) -> None:
        self.r = self.add_weight(shape=(self.members, int(input_shape[-1])), name="adapter", initializer=RandomSigns())

    def call(self, x):
        return ops.expand_dims(x, 1) * self.r

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.members, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "members": self.members}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MemberMean(keras.layers.Layer):
    """``(batch, k, ...)`` -> ``(batch, ...)``: the ensemble's prediction, the mean of its members'."""

    def call(self, x):
        return ops.mean(x, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy on integer labels with label smoothing (Keras 3's sparse loss
    has none): the labels are one-hot encoded over the prediction's classes, then
    ``keras.losses.categorical_crossentropy(..., label_smoothing=...)``."""

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


def numeric_front(x, input_dim: int, binary: Sequence[int], embedding: bool, frequencies: int, dim: int,
                  sigma: float):
    """Both models' first stage: numeric features smoothly clipped and (``embedding``) PBLD-
    embedded, then put back next to the binary features, as one flat vector."""
    numeric, flags = split_features(x, input_dim, binary)
    parts = []
    if numeric is not None:
        numeric = SmoothClip(name="smooth_clip")(numeric)
        if embedding:
            numeric = PeriodicEmbedding(frequencies, dim, sigma, name="periodic_embedding")(numeric)
        parts.append(numeric)
    if flags is not None:
        parts.append(flags)
    return keras.layers.Concatenate(name="front")(parts) if len(parts) > 1 else parts[0]


CUSTOM_OBJECTS = {f"{PACKAGE}>{cls.__name__}": cls for cls in
                  (SmoothClip, PeriodicEmbedding, DiagonalScale, RandomSigns, MemberAdapter, MemberMean,
                   SmoothedSparseCrossentropy)}
