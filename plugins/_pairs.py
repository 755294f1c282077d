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
        partner = rng.permutation(n)
        return features, features[partner], None
    labels = np.asarray(labels)
    partner = np.empty(n, dtype=int)
    for i in range(n):
        same_class = labels == labels[i]
        pool = np.flatnonzero(same_class if i % 2 == 0 or same_class.all() else ~same_class)
        partner[i] = rng.choice(pool)
    same = (labels == labels[partner]).astype("float32").reshape(-1, 1)
    return features, features[partner], same
