"""kzoo's conformance kit: checks every model a plugin registers, from pytest or from Python.

In a plugin's test suite, one line runs every check on every model of the plugin::

    from kzoo.testing import conformance_tests

    test_conformance = conformance_tests("my_plugin")   # the name of the plugin's entry point

Without pytest: ``kzoo.testing.assert_conformance("my_plugin")`` or ``check_model("my_model")``.
Importing this package never imports keras or tensorflow (pytest loads it in every run).
"""

from __future__ import annotations

from .checks import (
    IMPORT_CHECK,
    MODEL_CHECKS,
    WEIGHTS_CHECK,
    CheckResult,
    ConformanceError,
    assert_conformance,
    check_model,
    check_models,
    check_plugin,
    check_plugin_import,
    check_weights,
    plugin_models,
    plugin_weights,
)
from .pytest_plugin import conformance_tests

__all__ = [
    "IMPORT_CHECK",
    "MODEL_CHECKS",
    "WEIGHTS_CHECK",
    "CheckResult",
    "ConformanceError",
    "assert_conformance",
    "check_model",
    "check_models",
    "check_plugin",
    "check_plugin_import",
    "check_weights",
    "conformance_tests",
    "plugin_models",
    "plugin_weights",
]
