"""kzoo: a plugin-style model zoo for Keras.

``import kzoo`` never imports keras or tensorflow; building and training do, on first use.
"""

from __future__ import annotations

from ._version import __version__
from .api import build, get, get_spec, list_models
from .builder import ModelBuilder
from .declare import DeclaredModel, model
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
from .export import export as export_model
from .hookspecs import hookimpl
from .options import DataOptions, TrainOptions
from .plugins import plugin_infos, register_plugin
from .saving import load
from .spec import ModelSpec, TensorSpec
from .weights import Weights
from .zoo import get_weights, list_weights

_LAZY_MODULES = {"datasets"}  # imported on first use: they need numpy
_LAZY_ATTRIBUTES = {"train": "training"}  # training reads data, so it needs numpy too


def __getattr__(name: str):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(f".{_LAZY_ATTRIBUTES[name]}", __name__), name)
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
    "plugin_infos",
    "register_plugin",
    "train",
]
