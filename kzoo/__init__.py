"""kzoo: a plugin-style model zoo for Keras.

``import kzoo`` never imports keras or tensorflow; building and training do, on first use.
"""

from __future__ import annotations

from ._engine.options import DataOptions, TrainOptions
from ._meta.spec import ModelSpec, TensorSpec
from ._meta.weights_card import Weights
from ._store.summary import saved_info
from ._system.quiet import quiet_tensorflow_start as _quiet_tensorflow_start
from ._version import __version__
from ._weights.cache import (
    fetch as fetch_weights,
    locate as weights_path,
    verify as verify_weights,
)
from ._weights.lookup import all_weights, get_weights, list_weights
from ._workflow.api import build, get, get_spec, list_models
from ._workflow.diagrams import plot_model
from ._zoo.builder import ModelBuilder
from ._zoo.declare import DeclaredModel, model
from ._zoo.manifest_writer import write_manifest
from ._zoo.plugins import plugin_infos, register_plugin
from ._zoo.scaffold import new_plugin, new_plugin_names
from ._zoo.table import model_table
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
    SearchError,
    UnknownModelError,
    UnknownWeightsError,
    WeightsError,
)
from .hookspecs import hookimpl

_quiet_tensorflow_start()  # TensorFlow starts without its C++ chatter once something imports it

_LAZY_MODULES = {"datasets", "sklearn"}  # imported on first use: they need numpy (and scikit-learn)
_LAZY_ATTRIBUTES = {  # they need numpy
    "train": ("_workflow.training", "train"),
    "export_model": ("_workflow.export", "export"),
    "load": ("_workflow.inference", "load_model"),
    "predict": ("_workflow.inference", "predict_file"),
    "evaluate": ("_workflow.inference", "evaluate_file"),
    "tune": ("_workflow.tuning", "tune"),  # Optuna and keras load when a search runs
}


def __getattr__(name: str):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        module, attribute = _LAZY_ATTRIBUTES[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Every public name, the lazily loaded ones (``train``, ``export_model``...) included, so
    ``dir(kzoo)`` and tab completion show them before their first use."""
    return sorted(set(globals()) | set(__all__) | _LAZY_MODULES)


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
    "SearchError",
    "TensorSpec",
    "TrainOptions",
    "UnknownModelError",
    "UnknownWeightsError",
    "Weights",
    "WeightsError",
    "__version__",
    "all_weights",
    "build",
    "evaluate",
    "export_model",
    "fetch_weights",
    "get",
    "get_spec",
    "get_weights",
    "hookimpl",
    "list_models",
    "list_weights",
    "load",
    "model",
    "model_table",
    "new_plugin",
    "new_plugin_names",
    "plot_model",
    "plugin_infos",
    "predict",
    "register_plugin",
    "saved_info",
    "train",
    "tune",
    "verify_weights",
    "weights_path",
    "write_manifest",
]
