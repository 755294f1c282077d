"""Resuming training after a crash: a checkpoint of model + optimizer after every epoch.

``EpochCheckpoint`` writes ``<dir>/checkpoint.keras`` atomically at the end of each epoch, with
kzoo's metadata plus the number of finished epochs and the history so far. ``restore`` loads it
back (optimizer state included), so rerunning the same ``kzoo train`` command continues from the
last completed epoch, even after SIGKILL.

Testing aid: with ``KZOO_KILL_AFTER_EPOCH=k`` set, the process SIGKILLs itself right after the
checkpoint of epoch ``k`` is written (the test of resuming uses it to crash deterministically).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

import keras

from . import saving
from .errors import DataError

CHECKPOINT_NAME = "checkpoint.keras"
KILL_ENV = "KZOO_KILL_AFTER_EPOCH"


def checkpoint_path(directory: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(directory), CHECKPOINT_NAME)


class EpochCheckpoint(keras.callbacks.Callback):
    """Save model, optimizer, epoch count and history to ``directory`` after every epoch
    (under a multi-worker strategy only the chief's copy is kept)."""

    def __init__(self, directory: str | os.PathLike[str], metadata: Mapping[str, Any],
                 history: dict[str, list[float]], strategy: Any = None):
        super().__init__()
        self.strategy = strategy
        self.path = checkpoint_path(directory)
        self.metadata = dict(metadata)
        self.history = {k: list(v) for k, v in history.items()}
        kill = os.environ.get(KILL_ENV, "").strip()
        self.kill_after = int(kill) if kill else None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        metadata = {**self.metadata, "epoch": epoch + 1, "history": self.history}
        saving.save_model(self.model, self.path, metadata, self.strategy)
        if self.kill_after is not None and epoch + 1 >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


def restore(directory: str | os.PathLike[str], metadata: Mapping[str, Any]) -> tuple[Any, int, dict[str, list[float]]] | None:
    """``(model, finished_epochs, history)`` from the checkpoint in ``directory``, or None if there
    is none. The checkpoint must come from the same model, config and data."""
    path = checkpoint_path(directory)
    if not os.path.exists(path):
        return None
    saved = saving.read_metadata(path) or {}
    expected = saving.jsonable({k: metadata.get(k) for k in ("model", "config")})
    found = {k: saved.get(k) for k in ("model", "config")}
    if found != expected or (saved.get("data") or {}).get("source") != (metadata.get("data") or {}).get("source"):
        raise DataError(
            f"the checkpoint in {os.fspath(directory)!r} is from another run (model {found['model']!r}, "
            f"data {(saved.get('data') or {}).get('source')!r}); use a new --checkpoint-dir or delete it."
        )
    model = saving.load(path)
    return model, int(saved.get("epoch", 0)), {k: list(v) for k, v in (saved.get("history") or {}).items()}
