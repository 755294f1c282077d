"""What a saved model is, read from its ``kzoo.json`` without keras: the metadata training
recorded, and the metrics of the weights the file holds (the best epoch's after early stopping)."""

from __future__ import annotations

import os
from typing import Any

from .._engine.stopping import StopState, kept_metrics
from .saving import read_metadata


def saved_info(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What training recorded in the ``.keras`` file at ``path``, without importing keras.

    A user holding ``m.keras`` wants to know what it predicts, from which columns, how it was
    trained and how well before loading a framework; ``kzoo info m.keras`` prints this.

    Args:
        path: a ``.keras`` file.

    Returns:
        The file's ``kzoo.json`` (``model``, ``config``, ``data``, ``training``, ``history``...)
        plus ``metrics`` and ``metrics_epoch``: the metrics of the epoch whose weights the file
        holds, the best one when early stopping ended the run (``{}`` and None for a file saved
        before training). None for a file Keras wrote alone.

    Raises:
        kzoo.DataError: no file at ``path``, or one that is not a readable ``.keras`` file.

    Example:
        >>> info = kzoo.saved_info("m.keras")  # doctest: +SKIP
        >>> info["model"], info["metrics_epoch"], info["metrics"]["val_accuracy"]  # doctest: +SKIP
        ('mlp', 23, 0.9667)
    """
    metadata = read_metadata(path)
    if metadata is None:
        return None
    epoch, metrics = None, {}
    if metadata.get("epoch"):
        state = StopState.from_dict(metadata["stopping"]) if metadata.get("stopping") else None
        epoch, metrics = kept_metrics(metadata.get("history") or {}, metadata["epoch"], state)
    return {**metadata, "metrics": metrics, "metrics_epoch": epoch}
