"""Data for kzoo models: named data sets, the user's CSV/NPZ files, or synthetic data, shaped
for one model's inputs and outputs and checked before training.

    >>> data = kzoo.datasets.load("digits", "mlp")          # doctest: +SKIP
    >>> data.x["input"].shape, data.config["num_classes"]     # doctest: +SKIP
    ((1797, 64), 10)
"""

from __future__ import annotations

from typing import Any

__all__ = ["SYNTHETIC", "Data", "Dataset", "Table", "datasets", "get_dataset", "list_datasets", "load", "load_table"]

_LAZY = {"SYNTHETIC": "registry", "Dataset": "registry", "datasets": "registry", "get_dataset": "registry",
         "list_datasets": "registry", "Data": "loading", "load": "loading", "load_table": "loading", "source_kind": "loading", "Table": "table"}


def __getattr__(name: str) -> Any:
    """Every part loads on first use: plugins register data sets at no cost, and the modules kzoo's
    core needs from this package (shaping) import without the data-set registry above them."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
