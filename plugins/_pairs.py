"""Pairs of samples for the siamese model (numpy; imported only when data is shaped)."""

from __future__ import annotations

import numpy as np


def make_pairs(
    features: np.ndarray, labels: np.ndarray | None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One pair per sample: even rows get a partner of the same class, odd rows one of another
    class (when there is one). Returns ``(left, right, same)``; ``same`` is None without labels."""
    rng = np.random.default_rng(seed)
    n = len(features)
    if labels is None or n == 0:
        return features, features[rng.permutation(n)], None
    labels = np.asarray(labels).reshape(n)
    partner = np.empty(n, dtype=int)
    for label in np.unique(labels):  # vectorized per class: O(samples x classes)
        members = np.flatnonzero(labels == label)
        others = np.flatnonzero(labels != label)
        wants_other = (members % 2 == 1) & (others.size > 0)
        partner[members[~wants_other]] = rng.choice(members, size=int((~wants_other).sum()))
        if wants_other.any():
            partner[members[wants_other]] = rng.choice(others, size=int(wants_other.sum()))
    same = (labels == labels[partner]).astype("float32").reshape(-1, 1)
    return features, features[partner], same
