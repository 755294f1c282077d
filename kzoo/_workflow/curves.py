"""Training curves: loss and each metric per epoch, training and validation, as a picture.

Drawn with matplotlib's Agg canvas on a plain ``Figure`` (no pyplot, no display needed), so it
works on headless machines and never changes the user's pyplot backend.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._system.files import atomic_output, image_format
from ..errors import DataError

IMAGE_FORMATS = ("png", "svg", "pdf")
"""File suffixes :func:`plot_history` writes."""

_PANEL_SIZE = (4.8, 3.4)  # inches per subplot
_MAX_COLUMNS = 3


def plot_history(history: Mapping[str, Sequence[float]] | Any, path: str | os.PathLike[str]) -> Path:
    """Draw ``history`` (``History.history``, or the ``History`` itself) to ``path``; returns ``path``.

    One subplot per quantity: ``loss`` first, then each metric, each with its training curve and,
    when present, its ``val_`` curve. The format follows the suffix (.png, .svg, .pdf); the file is
    written atomically.
    """
    history = getattr(history, "history", history)
    path = Path(path)
    fmt = image_format(path, IMAGE_FORMATS, what="training curves")
    panels = _panels(history)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    columns = min(len(panels), _MAX_COLUMNS)
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(_PANEL_SIZE[0] * columns, _PANEL_SIZE[1] * rows), layout="constrained")
    FigureCanvasAgg(figure)
    for index, (name, curves) in enumerate(panels.items(), start=1):
        axes = figure.add_subplot(rows, columns, index)
        for label, values in curves.items():
            epochs = range(1, len(values) + 1)
            axes.plot(epochs, [float(v) for v in values], label=label, marker="o" if len(values) <= 30 else None,
                      markersize=3)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, alpha=0.3)
        axes.legend()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format=fmt, dpi=100)
    return path


def _panels(history: Mapping[str, Sequence[float]]) -> dict[str, dict[str, Sequence[float]]]:
    """``{"loss": {"training": [...], "validation": [...]}, "accuracy": {...}}``, loss first."""
    if not isinstance(history, Mapping) or not any(len(v) for v in history.values()):
        raise DataError(
            "no training history to plot: expected a mapping such as {'loss': [0.9, 0.5], "
            "'val_loss': [1.0, 0.7]} with one value per epoch (History.history after fit)."
        )
    names = [k.removeprefix("val_") for k in history]
    ordered = sorted(dict.fromkeys(names), key=lambda n: n != "loss")
    panels: dict[str, dict[str, Sequence[float]]] = {}
    for name in ordered:
        curves = {label: history[key] for label, key in (("training", name), ("validation", f"val_{name}"))
                  if len(history.get(key, ()))}
        if curves:
            panels[name] = curves
    return panels

