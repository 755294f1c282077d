"""Saving and loading ``.keras`` files together with kzoo's metadata: the one face the rest of
kzoo imports (as Keras's ``saving_api``), each job in its own module below it.

- :mod:`.archive`: a ``.keras`` zip checked and read before Keras reads it (``read_metadata``).
- :mod:`.writing`: a model written with its ``kzoo.json``, atomically (``save_model``).
- :mod:`.plugin_code`: the plugin and custom classes a saved file needs.
- :mod:`.opening`: a file opened as a Keras model (``load``).
"""

from __future__ import annotations

from .._meta.spec import jsonable
from .archive import METADATA_ENTRY, check_network_size, read_entry, read_metadata
from .opening import load
from .plugin_code import custom_objects, ensure_plugin
from .writing import metadata_text, model_metadata, save, save_model

__all__ = [
    "METADATA_ENTRY", "check_network_size", "custom_objects", "ensure_plugin", "jsonable", "load", "metadata_text",
    "model_metadata", "read_entry", "read_metadata", "save", "save_model",
]
