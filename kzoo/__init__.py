"""kzoo: a plugin-style model zoo for Keras.

``import kzoo`` never imports keras or tensorflow; building and training do, on first use.
"""

from __future__ import annotations

from ._version import __version__
from .api import build, get, get_spec, list_models
from .builder import ModelBuilder
from .errors import (
    ConfigError,
    DataError,
    DuplicateModelError,
    KzooError,
    PluginError,
    UnknownModelError,
)
from .hookspecs import hookimpl
from .plugins import PluginWarning, plugin_infos, register_plugin
from .saving import load
from .spec import ModelSpec, TensorSpec

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "DuplicateModelError",
    "KzooError",
    "ModelBuilder",
    "ModelSpec",
    "PluginError",
    "PluginWarning",
    "TensorSpec",
    "UnknownModelError",
    "build",
    "get",
    "get_spec",
    "hookimpl",
    "list_models",
    "load",
    "plugin_infos",
    "register_plugin",
]
