"""Random data shaped by a model's input and output specs: train or smoke-test any model with no
data at hand. Targets follow each output's loss (integer labels, 0/1, or real values)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._meta.spec import BINARY_LOSSES, SPARSE_LOSSES, TensorSpec

#: The length given to a dimension of any size (``None``) in generated data.
VARIABLE_DIM = 8
#: Integer inputs without a declared ``range`` get values in ``[0, 2)``: valid ids for any lookup.
DEFAULT_INT_RANGE = (0, 2)


def concrete_shape(spec: TensorSpec) -> tuple[int, ...]:
    """``spec.shape`` with each ``None`` (any size) replaced by :data:`VARIABLE_DIM`."""
    return tuple(VARIABLE_DIM if d is None else d for d in spec.shape)


def synthetic_inputs(inputs: Sequence[TensorSpec], n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` samples per input, keyed by input name: standard-normal floats, or integers drawn
    from the input's ``range`` (never negative ids for an Embedding)."""
    rng = np.random.default_rng(seed)
    out = {}
    for t in inputs:
        shape = (n, *concrete_shape(t))
        if t.is_integer:
            low, high = t.range or DEFAULT_INT_RANGE
            out[t.name] = rng.integers(low, high, size=shape).astype(t.dtype)
        elif np.dtype(t.dtype) in (np.float32, np.float64):  # drawn in place: no float64 copy of an image batch
            out[t.name] = rng.standard_normal(shape, dtype=np.dtype(t.dtype).type)
        else:
            out[t.name] = rng.standard_normal(shape).astype(t.dtype)
    return out


def synthetic_target(output: TensorSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` targets fit for ``output``'s loss."""
    shape = concrete_shape(output)
    if output.loss in SPARSE_LOSSES:
        return rng.integers(0, shape[-1], size=(n, *shape[:-1])).astype("int32")
    if output.loss in BINARY_LOSSES:
        return rng.integers(0, 2, size=(n, *shape)).astype("float32")
    return rng.standard_normal((n, *shape)).astype("float32")


def synthetic_data(
    inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], n: int = 64, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(x, y)`` dicts keyed by input and output name, ``n`` samples, reproducible by ``seed``."""
    x = synthetic_inputs(inputs, n, seed)
    rng = np.random.default_rng(seed + 1)
    y = {t.name: synthetic_target(t, n, rng) for t in outputs}
    return x, y
