"""Hashing weights files with the algorithm their card names, and the one-line error of a mismatch."""

from __future__ import annotations

import hashlib
import os

from .._meta.weights_card import Weights
from ..errors import WeightsError

CHUNK = 1 << 16


def digest_of(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """The hex digest of the file at ``path`` (``sha256`` or ``md5``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def mismatch(weights: Weights, actual: str, where: str) -> WeightsError:
    return WeightsError(
        f"weights {weights.full_name!r} failed their checksum: expected {weights.hash_algorithm} {weights.digest}, "
        f"got {actual} ({where}); the file is corrupted, truncated or was replaced. No model was loaded."
    )
