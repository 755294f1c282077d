"""kzoo's data is always dicts of arrays keyed by input or output name; these helpers read it for
Keras, which wants plain arrays for a single input or output. No numpy import needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError


def unwrap(data: Any) -> Any:
    """A one-entry dict becomes its array: Sequential and single-output models want plain arrays,
    while kzoo's data is always keyed by input / output name."""
    if isinstance(data, dict) and len(data) == 1:
        return next(iter(data.values()))
    return data


def count_rows(x: Any) -> int:
    """The number of samples in an array or a dict of equally long arrays."""
    return len(next(iter(x.values())) if isinstance(x, dict) else x)


def split_tail(data: Any, fraction: float) -> tuple[Any, Any]:
    """``(head, tail)`` of an array or dict of arrays, the tail holding ``fraction`` of the samples:
    ``validation_split`` as Keras takes it (the last samples, unshuffled).

    Args:
        data: an array (anything with ``len`` and slicing) or a dict of equally long arrays.
        fraction: the share of samples in the tail, between 0 and 1.

    Returns:
        ``(head, tail)``, each of the same kind as ``data``.

    Raises:
        kzoo.ConfigError: ``fraction`` leaves the head or the tail empty.

    Example:
        >>> distribute.split_tail(list(range(10)), 0.2)
        ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if isinstance(data, Mapping):
        parts = {k: split_tail(v, fraction) for k, v in data.items()}
        return {k: p[0] for k, p in parts.items()}, {k: p[1] for k, p in parts.items()}
    cut = int(len(data) * (1.0 - fraction))
    if not 0 < cut < len(data):
        raise ConfigError(f"validation_split={fraction} leaves no training or no validation samples "
                          f"out of {len(data)}; use a value between 0 and 1 such as 0.2.")
    return data[:cut], data[cut:]
