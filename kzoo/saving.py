"""Loading saved ``.keras`` files with every plugin's custom classes known to Keras."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .errors import DataError
from .plugins import get_host

if TYPE_CHECKING:  # pragma: no cover
    import keras


def custom_objects() -> dict[str, Any]:
    """The custom Keras classes of every loaded plugin's models, so their saved files load."""
    objects: dict[str, Any] = {}
    registry = get_host().registry
    for name in registry.names():
        objects.update(registry.get(name).custom_objects())
    return objects


def load(path: str | os.PathLike[str], safe_mode: bool = True, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` file saved from any kzoo model.

    ``safe_mode=False`` lets Keras run Python code stored in the file (Lambda layers); only use it
    for files you trust.
    """
    import keras

    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"no model file at {path!r}; check the path (expected a .keras file).")
    try:
        return keras.saving.load_model(path, custom_objects=custom_objects(), safe_mode=safe_mode, compile=compile)
    except Exception as exc:
        raise DataError(
            f"could not load {path!r} as a Keras model ({type(exc).__name__}: {exc}). "
            f"Expected a .keras file written by model.save() or `kzoo train --out`."
        ) from exc
