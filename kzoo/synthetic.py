"""Random data shaped by a model's input and output specs: train or smoke-test any model with no
data at hand. Targets follow each output's loss (integer labels, 0/1, or real values)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .spec import TensorSpec

SPARSE_LOSSES = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
BINARY_LOSSES = {"binary_crossentropy", "BinaryCrossentropy", "binary_focal_crossentropy"}


def synthetic_inputs(inputs: Sequence[TensorSpec], n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` standard-normal samples per input, keyed by input name."""
    rng = np.random.default_rng(seed)
    return {t.name: rng.standard_normal((n, *t.shape)).astype(t.dtype) for t in inputs}


def synthetic_target(output: TensorSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` targets fit for ``output``'s loss."""
    if output.loss in SPARSE_LOSSES:
        return rng.integers(0, output.shape[-1], size=(n, *output.shape[:-1])).astype("int32")
    if output.loss in BINARY_LOSSES:
        return rng.integers(0, 2, size=(n, *output.shape)).astype("float32")
    return rng.standard_normal((n, *output.shape)).astype("float32")


def synthetic_data(
    inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], n: int = 64, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(x, y)`` dicts keyed by input and output name, ``n`` samples, reproducible by ``seed``."""
    x = synthetic_inputs(inputs, n, seed)
    rng = np.random.default_rng(seed + 1)
    y = {t.name: synthetic_target(t, n, rng) for t in outputs}
    return x, y
