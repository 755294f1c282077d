"""Named data sets contributed by plugins through ``kzoo_register_datasets(register)``.

The hook is called lazily, the first time a data set is needed, never on ``kzoo list``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import DataError, KzooError, PluginError, close_matches
from .guard import describe_failure
from .plugins import get_host

if TYPE_CHECKING:  # pragma: no cover
    from ..datasets.table import Table

SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class Dataset:
    """A named data set: how to load it as a feature table, and how kzoo treats it by default.

    ``load`` takes no arguments and returns a :class:`~kzoo.datasets.Table`. ``standardize``
    says whether training z-scores the features by default (the statistics are saved with the
    model and reused by evaluate and predict).
    """

    name: str
    description: str
    load: Callable[[], Table]
    task: str = "classification"
    standardize: bool = False
    samples: int | None = None
    features: int | None = None
    classes: int | None = None
    plugin: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "task": self.task,
            "samples": self.samples, "features": self.features, "classes": self.classes,
            "standardize": self.standardize, "plugin": self.plugin, "source": self.source,
        }


def _no_table() -> Table:
    raise DataError("synthetic data has no fixed table: it is generated from each model's specs.")


SYNTHETIC_INFO = Dataset(
    name=SYNTHETIC,
    description="Random data shaped by the model's own input and output specs (any model, no files).",
    load=_no_table,
    task="any",
    plugin="kzoo",
)

def datasets() -> dict[str, Dataset]:
    """Every registered data set by name, collected from the plugins on first use (all or none
    per plugin, as weights are: :meth:`kzoo._zoo.host.PluginHost.collect`)."""
    def check(item: object, plugin: str) -> tuple[str, Dataset]:
        if not isinstance(item, Dataset):
            raise PluginError(f"plugin {plugin!r} registered {type(item).__name__} {item!r}, not a "
                              f"kzoo.datasets.Dataset.")
        return item.name, replace(item, plugin=plugin)

    return get_host().collect("kzoo_register_datasets", "data set", check, reserved={SYNTHETIC: "kzoo"})


def list_datasets() -> list[str]:
    """Sorted names of every data set, ``synthetic`` included."""
    return sorted([*datasets(), SYNTHETIC])


def get_dataset(name: str) -> Dataset:
    """The data set ``name``, or a DataError with did-you-mean suggestions."""
    if name == SYNTHETIC:
        return SYNTHETIC_INFO
    found = datasets()
    if name not in found:
        hints = close_matches(name, list_datasets())
        hint = f" Did you mean {', '.join(hints)}?" if hints else ""
        filtered = [v for v in ("KZOO_LOAD_PLUGINS", "KZOO_DISABLE_PLUGINS") if v in os.environ]
        plugins_hint = f" ({' and '.join(filtered)} may be hiding the plugin that provides it.)" if filtered else ""
        raise DataError(
            f"unknown data set {name!r}.{hint} Run `kzoo datasets` to see them, or pass a .csv/.npz file path."
            f"{plugins_hint}"
        )
    return found[name]


def load_dataset(name: str) -> Table:
    """The table of data set ``name``, from its plugin's loader. A loader that raises, exits or
    returns something other than a Table is one PluginError naming the plugin and the data set."""
    from ..datasets.table import Table

    dataset = get_dataset(name)
    what = f"the loader of data set {name!r} (plugin {dataset.plugin!r})"
    try:
        table = dataset.load()
    except (KzooError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # SystemExit too: the plugin's bug, not the end of kzoo
        raise PluginError(f"{what} failed: {describe_failure(exc)}") from exc
    if not isinstance(table, Table):
        raise PluginError(f"{what} returned {type(table).__name__}, not a kzoo.datasets.Table; the plugin "
                          f"must be fixed.")
    return table
