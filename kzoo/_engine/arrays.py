"""kzoo's data is always dicts of arrays keyed by input or output name; these two helpers read it
for Keras, which wants plain arrays for a single input or output. No numpy import needed."""

from __future__ import annotations

from typing import Any


def unwrap(data: Any) -> Any:
    """A one-entry dict becomes its array: Sequential and single-output models want plain arrays,
    while kzoo's data is always keyed by input / output name."""
    if isinstance(data, dict) and len(data) == 1:
        return next(iter(data.values()))
    return data


def count_rows(x: Any) -> int:
    """The number of samples in an array or a dict of equally long arrays."""
    return len(next(iter(x.values())) if isinstance(x, dict) else x)
