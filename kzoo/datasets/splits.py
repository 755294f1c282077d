"""Which rows train and which validate: one rule, shared by training and by whatever the data
learns from its training rows only (a text vocabulary)."""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def split_rows(n: int, labels: np.ndarray | None, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` row indices; stratified by ``labels`` (class labels) when possible."""
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    try:
        return tuple(train_test_split(index, test_size=fraction, random_state=seed, stratify=labels))  # type: ignore[return-value]
    except ValueError:  # too few samples of some class to stratify
        try:
            return tuple(train_test_split(index, test_size=fraction, random_state=seed))  # type: ignore[return-value]
        except ValueError as exc:
            raise DataError(f"cannot hold out {fraction} of {n} samples for validation: {exc}") from None


def class_labels(y: dict[str, np.ndarray] | None) -> np.ndarray | None:
    """The first target's integer labels, which a split is stratified by; None for real values."""
    if y:
        first = np.asarray(next(iter(y.values())))
        if np.issubdtype(first.dtype, np.integer):
            return first.reshape(len(first), -1)[:, 0]
    return None
