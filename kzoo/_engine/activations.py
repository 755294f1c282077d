"""What one batch's activations cost, read from the built model, held against the memory budget.

Why: a model's parameters can be small while its activations are not. MobileNetV3Small has 2.5
million parameters at any input size, but at ``input_shape=3000,3000,3`` one sample's layer
outputs hold about 950 million values: a training batch of 8 grew past 24 GB and was killed,
where the parameter check had passed. Every layer output's shape is known once the model is
built, so the cost is read from the graph (never typed per model) and checked before a step runs:

- training keeps every layer's output of the batch for the backward pass: the *sum* over layers;
- inference needs at least the largest layer's input and output at once: twice the *peak*, and
  kzoo lowers its inference batch to fit rather than refuse (one sample that cannot fit is refused).

A subclassed model's graph is not known before it runs: it is not checked (0 values).
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from .._system.limits import check_allocation, memory_budget
from ..errors import option

BYTES_PER_VALUE = 4  # float32; a 16-bit policy needs less, and the estimate stays an upper bound


_CACHE: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


def _graph(model: Any) -> Any:
    """The functional graph of ``model`` (a Sequential's inner one), or None (a subclassed model, a
    plain layer)."""
    functional = getattr(model, "_functional", None)
    if functional is not None:
        return functional
    return model if hasattr(model, "operations") and hasattr(model, "_nodes_by_depth") else None


def values_per_sample(model: Any) -> tuple[int, int]:
    """``(sum, peak)`` of the values one sample's layer outputs hold, over every layer of the graph
    (nested models included); ``(0, 0)`` when the graph is unknown. Read once per model."""
    if model in _CACHE:
        return _CACHE[model]
    graph = _graph(model)
    if graph is None:
        return 0, 0
    total = peak = 0
    for operation in graph.operations:
        if _graph(operation) is not None and operation is not graph:
            inner_total, inner_peak = values_per_sample(operation)
            total, peak = total + inner_total, max(peak, inner_peak)
            continue
        for node in getattr(operation, "_inbound_nodes", ()):
            for tensor in node.output_tensors:
                size = math.prod(int(d or 1) for d in tensor.shape[1:])
                total, peak = total + size, max(peak, size)
    _CACHE[model] = total, peak
    return total, peak


def _shape_of(model: Any) -> str:
    shapes = [tuple(getattr(t, "shape", ()))[1:] for t in getattr(model, "inputs", None) or ()]
    return ", ".join("x".join(str(d) for d in shape) for shape in shapes) or "its input"


def check_training_batch(model: Any, batch_size: int) -> None:
    """Refuse, in one line, a training batch whose activations cannot fit in the memory budget."""
    total, _ = values_per_sample(model)
    if total:
        check_allocation(total * batch_size * BYTES_PER_VALUE,
                         f"training {model.name!r} on batches of {batch_size} at input {_shape_of(model)} "
                         f"({total:,} activation values a sample)",
                         f"use a smaller {option('batch_size')} or a smaller input "
                         f"({option('config')} input_shape=...).")


def inference_batch(model: Any, batch_size: int) -> int:
    """The largest batch up to ``batch_size`` whose activations fit in the memory budget; a
    DataError when not even one sample fits."""
    _, peak = values_per_sample(model)
    per_sample = 2 * peak * BYTES_PER_VALUE
    if not per_sample:
        return batch_size
    check_allocation(per_sample, f"running {model.name!r} on one sample at input {_shape_of(model)} "
                                 f"({peak:,} values in its largest layer output)",
                     f"rebuild the model with a smaller input ({option('config')} input_shape=...).")
    return max(1, min(batch_size, int(memory_budget()[0] // per_sample)))
