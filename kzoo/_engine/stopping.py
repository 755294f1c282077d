"""Stop when learned: end training once the validation metric stops improving, keep the best weights.

Small tables peak long before a fixed epoch count (digits near epoch 20 of 100), so with a
validation split kzoo watches ``val_accuracy`` (or ``val_loss`` where there is no accuracy) and
stops after ``patience`` epochs without an improvement, putting back the weights of the best
epoch. An epoch improves on the best when its ``val_accuracy`` is higher, or equal with a
``val_loss`` at least 0.001 lower (:data:`LOSS_TIE_BREAK`): on a small validation set accuracy moves
in coarse steps (1/30 on iris) and sits still for epochs while the model still gets better, yet
a loss creeping towards 0 by less than 0.001 per ``patience`` epochs is no reason to go on. The
step is absolute: at 100% on iris the loss still falls faster than that (0.035 to 0.021 over 60
epochs), so such a run goes on to about epoch 95. ``--epochs`` stays the ceiling, and the
learning-rate schedule still decays over it, so a run that stops early has taken exactly the
steps the full run would have taken until then.

The state (monitor, best value and epoch, epochs waited) is plain JSON in the checkpoint's
``kzoo.json`` and the best weights ride in the same ``.keras`` zip, so a resumed run carries on
counting where the killed one was and restores the same weights.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

LOSS_TIE_BREAK = 0.001
"""At equal accuracy, an epoch improves when its val_loss is at least this much below the best's."""
BEST_WEIGHTS_ENTRY = "kzoo_best_weights.npz"
"""The zip entry of a checkpoint holding the best epoch's weights (numpy arrays in model order)."""


@dataclass
class StopState:
    """Where early stopping stands after ``epoch`` finished epochs (epochs counted from 1)."""

    monitor: str | None = None
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    stopped_epoch: int | None = None
    best_loss: float | None = None  # val_loss at the best epoch: the tie-break for equal accuracy

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> StopState:
        """The state a checkpoint's ``kzoo.json`` recorded (already schema-checked); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (doc or {}).items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def monitor_for(logs: Mapping[str, Any]) -> str | None:
    """``val_accuracy`` when the logs have it, else ``val_loss``, else None (no validation)."""
    for name in ("val_accuracy", "val_loss"):
        if name in logs:
            return name
    return None


def improved(monitor: str, value: float, best: float | None, loss: float | None = None,
             best_loss: float | None = None) -> bool:
    """Better than ``best``: a higher accuracy, or the same with a ``loss`` at least
    :data:`LOSS_TIE_BREAK` below ``best_loss``;
    a lower loss when the monitor is a loss. NaN never is."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    if not monitor.endswith("accuracy"):
        return value < best
    if value != best:
        return value > best
    return loss is not None and math.isfinite(loss) and (best_loss is None or loss <= best_loss - LOSS_TIE_BREAK)


def kept_metrics(history: Mapping[str, list[Any]], epochs: int,
                 state: StopState | None) -> tuple[int, dict[str, Any]]:
    """``(epoch, metrics)`` of the weights a finished run keeps: the best epoch's whenever early
    stopping watched the run (its weights were restored, at the stop or after the last epoch),
    else the last of ``epochs``."""
    if state is None or not state.best_epoch:
        return epochs, {key: values[-1] for key, values in history.items() if values}
    best = state.best_epoch
    return best, {key: values[best - 1] for key, values in history.items() if 0 < best <= len(values)}


def reason(state: StopState | None, patience: int, epochs: int) -> str:
    """The one line a log ends with: why training stopped (``state`` None: no early stopping)."""
    if state is not None and state.stopped_epoch is not None:
        return (f"stopped at epoch {state.stopped_epoch}: {state.monitor} has not improved for {patience} epochs; "
                f"restored the best weights from epoch {state.best_epoch}")
    if state is not None and 0 < state.best_epoch < epochs:
        return (f"trained all {epochs} epochs (the epochs limit); restored the best weights from epoch "
                f"{state.best_epoch} ({state.monitor})")
    return f"trained all {epochs} epochs (the epochs limit)"


def weights_to_bytes(weights: list[Any]) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, *weights)
    return buffer.getvalue()


def weights_from_bytes(data: bytes) -> list[Any]:
    import numpy as np

    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def make_callback(patience: int, state: StopState, best_weights: list[Any] | None = None) -> Any:
    """A Keras callback applying :class:`StopState` rules; it must run before the checkpoint
    callback of the same epoch, so the checkpoint records this epoch's state and best weights."""
    import keras

    class StopWhenLearned(keras.callbacks.Callback):
        """Early stopping whose state survives a resume (see the module docstring)."""

        def __init__(self) -> None:
            super().__init__()
            self.patience = patience
            self.state = state
            self.best_weights = best_weights

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            logs = logs or {}
            if self.state.monitor is None:
                self.state.monitor = monitor_for(logs)
            if self.state.monitor is None or self.state.monitor not in logs:
                return
            value = float(logs[self.state.monitor])
            loss = float(logs["val_loss"]) if "val_loss" in logs else None
            if improved(self.state.monitor, value, self.state.best, loss, self.state.best_loss):
                self.state.best, self.state.best_epoch, self.state.wait = value, epoch + 1, 0
                self.state.best_loss = loss if loss is not None and math.isfinite(loss) else None
                self.best_weights = self.model.get_weights()
                return
            self.state.wait += 1
            if self.state.wait >= self.patience:
                self.state.stopped_epoch = epoch + 1
                self.model.stop_training = True
                if self.best_weights is not None:
                    self.model.set_weights(self.best_weights)

        def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
            """A run that used all its epochs keeps the best epoch's weights too, as one that
            stopped does: with a decaying learning rate the best epoch is often not the last."""
            if self.state.stopped_epoch is None and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

        def checkpoint_entries(self) -> dict[str, bytes]:
            """Extra zip entries for the checkpoint: the best weights so far."""
            return {} if self.best_weights is None else {BEST_WEIGHTS_ENTRY: weights_to_bytes(self.best_weights)}

    return StopWhenLearned()
