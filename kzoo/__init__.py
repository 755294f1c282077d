"""kzoo: a plugin-style model zoo for Keras.

``import kzoo`` never imports keras or tensorflow; building and training do, on first use.
"""

from __future__ import annotations

from ._version import __version__
from .api import build, get, get_spec, list_models
from .builder import ModelBuilder
from .declare import DeclaredModel, model
from .export import export as export_model
from .errors import (
    ConfigError,
    DataError,
    DuplicateModelError,
    KzooError,
    PluginError,
    UnknownModelError,
    UnknownWeightsError,
    WeightsError,
)
from .hookspecs import hookimpl
from .plugins import PluginWarning, plugin_infos, register_plugin
from .saving import load
from .spec import ModelSpec, TensorSpec
from .training import train
from .weights import Weights
from .zoo import get_weights, list_weights

_LAZY_MODULES = {"datasets"}  # imported on first use: they need numpy


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "DeclaredModel",
    "DuplicateModelError",
    "KzooError",
    "ModelBuilder",
    "ModelSpec",
    "PluginError",
    "PluginWarning",
    "TensorSpec",
    "UnknownModelError",
    "UnknownWeightsError",
    "Weights",
    "WeightsError",
    "build",
    "export_model",
    "get",
    "get_spec",
    "get_weights",
    "hookimpl",
    "list_models",
    "list_weights",
    "load",
    "model",
    "plugin_infos",
    "register_plugin",
    "train",
]
