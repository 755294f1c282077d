"""Data for kzoo models: named data sets, the user's CSV/NPZ files, or synthetic data, shaped
for one model's inputs and outputs and checked before training.

    >>> data = kzoo.datasets.load("digits", "mlp")          # doctest: +SKIP
    >>> data.x["input"].shape, data.config["num_classes"]     # doctest: +SKIP
    ((1797, 64), 10)
"""

from __future__ import annotations

from typing import Any

__all__ = ["SYNTHETIC", "Data", "Dataset", "Table", "datasets", "get_dataset", "list_datasets", "load", "load_table"]

# Each public name, by the module that defines it (absolute: the data-set registry lives with the
# plugin host in kzoo._zoo, and loading for one model in kzoo._workflow), as "module" or, for a
# name defined there under another one, "module:name".
_LAZY = {"SYNTHETIC": "kzoo._zoo.datasets", "Dataset": "kzoo._zoo.datasets", "datasets": "kzoo._zoo.datasets",
         "get_dataset": "kzoo._zoo.datasets", "list_datasets": "kzoo._zoo.datasets", "Data": "kzoo._workflow.loading",
         "load": "kzoo._workflow.loading:load_data", "load_table": "kzoo._workflow.loading",
         "source_kind": "kzoo._workflow.loading", "Table": "kzoo.datasets.table"}


def __getattr__(name: str) -> Any:
    """Every part loads on first use: plugins register data sets at no cost, and a module that
    needs only this package's tables (kzoo._zoo's builder needs shaping) imports it without the
    registry and the loading, which stand in higher wings."""
    if name in _LAZY:
        import importlib

        module, _, defined = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), defined or name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
