"""The hooks a kzoo plugin may implement. Signatures and docstrings only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("kzoo")
hookimpl = pluggy.HookimplMarker("kzoo")


@hookspec
def kzoo_register_models(register: Callable[..., None]) -> None:
    """Call ``register(builder)`` once per model, with a ``kzoo.ModelBuilder`` instance.

    ``register(builder, aliases=("old_name",))`` also registers deprecated names that warn
    and resolve to the builder. Import keras inside build methods, never at module level.
    """


@hookspec
def kzoo_register_datasets(register: Callable[..., Any]) -> None:
    """Call ``register(dataset)`` once per data set the plugin contributes.

    ``dataset`` is a ``kzoo.datasets.Dataset`` whose ``load()`` returns a ``kzoo.datasets.Table``;
    import numpy and friends inside ``load``. Called lazily, the first time data sets are needed.
    """
