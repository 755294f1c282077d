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


@hookspec
def kzoo_register_weights(register: Callable[..., None]) -> None:
    """Call ``register(weights)`` once per set of trained weights, with a ``kzoo.Weights``.

    Called lazily, the first time weights are listed or used; the models they name are checked
    only when the weights are used, so a plugin may publish weights for another plugin's model.
    """
