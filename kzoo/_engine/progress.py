"""One plain line per epoch for logs: what ``kzoo train`` prints when stdout is a file or a pipe.

Keras's progress bar rewrites its line with control characters (a log shows each update), and
its ``verbose=2`` still writes two lines per epoch; a log wants ``Epoch 3/100 - ... - loss: ...``
once per epoch, nothing else.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any


def format_line(epoch: int, epochs: int, seconds: float, logs: Mapping[str, Any]) -> str:
    """``Epoch 3/100 - 0.12s - accuracy: 0.9500 - loss: 0.1234`` (epoch counted from 1)."""
    values = " - ".join(f"{name}: {float(value):.4f}" for name, value in sorted(logs.items())
                        if not name.startswith("learning_rate"))
    return f"Epoch {epoch}/{epochs} - {seconds:.2f}s" + (f" - {values}" if values else "")


def epoch_lines(epochs: int) -> Any:
    """A Keras callback printing :func:`format_line` to stdout at the end of every epoch."""
    import keras

    class EpochLines(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            seconds = time.perf_counter() - getattr(self, "started", time.perf_counter())
            print(format_line(epoch + 1, epochs, seconds, logs or {}), file=sys.stdout, flush=True)

    return EpochLines()
