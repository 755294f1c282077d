"""kzoo: a plugin-style model zoo for Keras.

``import kzoo`` never imports keras or tensorflow; building and training do, on first use.
"""

from __future__ import annotations

from ._api import build, get, get_spec, list_models
from ._builder import ModelBuilder
from ._declare import DeclaredModel, model
from ._diagrams import plot_model
from ._options import DataOptions, TrainOptions
from ._plugins import plugin_infos, register_plugin
from ._saving import load
from ._scaffold import new_plugin
from ._spec import ModelSpec, TensorSpec
from ._version import __version__
from ._weights import Weights
from ._zoo import get_weights, list_weights
from .errors import (
    ConfigError,
    ConformanceError,
    CsvNote,
    DataError,
    DiagramWarning,
    DuplicateModelError,
    KzooError,
    KzooWarning,
    MissingToolError,
    OptionError,
    OutputError,
    PluginError,
    PluginWarning,
    UnknownModelError,
    UnknownWeightsError,
    WeightsError,
)
from .hookspecs import hookimpl

_LAZY_MODULES = {"datasets"}  # imported on first use: they need numpy
_LAZY_ATTRIBUTES = {"train": ("_training", "train"), "export_model": ("_export", "export")}  # they need numpy


def __getattr__(name: str):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        module, attribute = _LAZY_ATTRIBUTES[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ConfigError",
    "ConformanceError",
    "CsvNote",
    "DataError",
    "DataOptions",
    "DeclaredModel",
    "DiagramWarning",
    "DuplicateModelError",
    "KzooError",
    "KzooWarning",
    "MissingToolError",
    "ModelBuilder",
    "ModelSpec",
    "OptionError",
    "OutputError",
    "PluginError",
    "PluginWarning",
    "TensorSpec",
    "TrainOptions",
    "UnknownModelError",
    "UnknownWeightsError",
    "Weights",
    "WeightsError",
    "__version__",
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
    "new_plugin",
    "plot_model",
    "plugin_infos",
    "register_plugin",
    "train",
]
