"""Resuming training after a crash: a checkpoint of model + optimizer after every epoch.

:func:`epoch_checkpoint`'s callback writes ``<dir>/checkpoint.keras`` atomically at the end of each epoch, with
kzoo's metadata plus the number of finished epochs and the history so far. ``restore`` loads it
back (optimizer state included), so rerunning the same ``kzoo train`` command continues from the
last completed epoch, even after SIGKILL, and ends where the uninterrupted run would have: the
batch order of each epoch depends only on the seed and the epoch (``fitting.epoch_shuffled``).
A checkpoint made with other options (model, config, data, epochs, batch size, learning rate,
schedule, validation split, seed) is refused, naming the difference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._engine.stopping import BEST_WEIGHTS_ENTRY, StopState, weights_from_bytes
from .._meta.spec import jsonable
from .._system.files import remove_stale_temps
from ..errors import ConfigError, DataError, option
from .archive import read_entry, read_metadata
from .opening import load
from .writing import save_model

CHECKPOINT_NAME = "checkpoint.keras"
# What must be equal between the checkpoint and the rerun, as (metadata path, what to call it).
SAME_RUN = (
    (("model",), "model"), (("config",), "config"), (("data", "source"), "data"),
    (("data", "target"), "target"), (("data", "inputs"), "inputs"), (("data_digest",), "data contents"),
    (("training", "epochs"), "epochs"), (("training", "batch_size"), "batch size"),
    (("training", "learning_rate"), "learning rate"), (("training", "schedule"), "schedule"),
    (("training", "val_split"), "validation split"), (("training", "seed"), "seed"),
    (("training", "patience"), "patience"), (("training", "precision"), "precision"),
)


def checkpoint_path(directory: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(directory), CHECKPOINT_NAME)


def epoch_checkpoint(directory: str | os.PathLike[str], metadata: Mapping[str, Any],
                     history: dict[str, list[float]], strategy: Any = None, stopper: Any = None) -> Any:
    """A Keras callback saving model, optimizer, epoch count and history to ``directory`` after
    every epoch (under a multi-worker strategy only the chief's copy is kept). With ``stopper``
    (kzoo's early stopping callback, which runs first) its state and best weights are saved too."""
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.path = checkpoint_path(directory)
            self.metadata = dict(metadata)
            self.history = {k: list(v) for k, v in history.items()}

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            doc = {**self.metadata, "epoch": epoch + 1, "history": self.history}
            entries = None
            if stopper is not None:
                doc["stopping"] = stopper.state.to_dict()
                entries = stopper.checkpoint_entries()
            save_model(self.model, self.path, doc, strategy, entries)

    return EpochCheckpoint()


def _get(doc: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, Mapping) else None
    return doc


def differences(saved: Mapping[str, Any], metadata: Mapping[str, Any]) -> list[str]:
    """What differs between a checkpoint's metadata and this run's, as ``name: old -> new``."""
    now = jsonable(dict(metadata))
    found = []
    for keys, label in SAME_RUN:
        old, new = _get(saved, keys), _get(now, keys)
        if old is None and keys[0] in ("training", "data_digest"):
            continue  # a checkpoint from before kzoo recorded it
        if old != new:
            shown = (lambda v: repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "...")
            found.append(f"{label} {shown(old)} -> {shown(new)}")
    return found


def restore(directory: str | os.PathLike[str], metadata: Mapping[str, Any]) -> tuple[Any, int, dict[str, list[float]]] | None:
    """``(model, finished_epochs, history)`` from the checkpoint in ``directory``, or None if there
    is none. The checkpoint must come from the same model, config, data and training options."""
    path = checkpoint_path(directory)
    remove_stale_temps(Path(path))  # what a run killed inside a checkpoint write left behind
    if not os.path.exists(path):
        return None
    saved = read_metadata(path)  # validated like any kzoo.json
    if saved is None:
        raise DataError(f"{path!r} is not a kzoo checkpoint (it has no kzoo.json); use a new {option('checkpoint_dir')}.")
    changed = differences(saved, metadata)
    if changed:
        raise ConfigError(
            f"the checkpoint in {os.fspath(directory)!r} is from another run ({'; '.join(changed)}); rerun with the "
            f"same options to resume, or use a new {option('checkpoint_dir')} (or delete it) to start over."
        )
    model = load(path)
    return model, int(saved.get("epoch", 0)), {k: list(v) for k, v in (saved.get("history") or {}).items()}


def read_stopping(directory: str | os.PathLike[str]) -> tuple[StopState, list[Any] | None]:
    """Early stopping's state and best weights as the checkpoint in ``directory`` left them
    (a fresh state when there is no checkpoint or it predates early stopping)."""
    path = checkpoint_path(directory)
    if not os.path.exists(path):
        return StopState(), None
    saved = read_metadata(path) or {}
    state = StopState.from_dict(saved.get("stopping"))
    raw = read_entry(path, BEST_WEIGHTS_ENTRY) if state.best_epoch else None
    try:
        weights = weights_from_bytes(raw) if raw is not None else None
    except (ValueError, OSError, KeyError) as exc:
        raise DataError(f"{path!r}: its best weights are unreadable ({type(exc).__name__}: {exc}); "
                        f"use a new {option('checkpoint_dir')}.") from exc
    return state, weights


def check_best_weights(directory: str | os.PathLike[str], best: list[Any] | None, model: Any) -> None:
    """Refuse a checkpoint's best weights that do not fit the restored model (count, shapes or
    dtype kinds), now rather than when early stopping puts them back at the end of the run."""
    if best is None:
        return
    expected = [(tuple(w.shape), w.dtype) for w in model.get_weights()]
    found = [(tuple(getattr(w, "shape", ())), getattr(w, "dtype", None)) for w in best]
    if len(found) != len(expected) or any(f[0] != e[0] for f, e in zip(found, expected)):
        first = next((i for i, (f, e) in enumerate(zip(found, expected)) if f[0] != e[0]), min(len(found), len(expected)))
        got = found[first][0] if first < len(found) else "none"
        want = expected[first][0] if first < len(expected) else "none"
        raise DataError(f"{checkpoint_path(directory)!r}: its best weights do not fit the model ({len(found)} arrays, "
                        f"expected {len(expected)}; array {first} has shape {got}, expected {want}); the checkpoint "
                        f"was tampered with. Use a new {option('checkpoint_dir')}.")
