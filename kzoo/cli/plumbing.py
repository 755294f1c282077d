"""The CLI's one door below kzoo's public API, for what has no meaning outside a command line:
the choices and limits its flags show in ``--help``, the ``--backend`` chooser, TensorFlow's
quiet start, and the output-file checks a command runs before Keras starts. Everything else a
command does goes through kzoo's public names (``kzoo.train``, ``kzoo.get``...), as a user's
code would; ``tests/test_layers.py`` holds ``kzoo.cli`` to that."""

from __future__ import annotations

from .._engine.options import MAX_EXPORT_SAMPLES, RECIPE_DEFAULTS, SCHEDULES, STRATEGIES
from .._engine.precision import PRECISIONS
from .._meta.tables import DEFAULT_NA_VALUES, MAX_INTEGER_CLASSES, TASKS
from .._system.backend import BACKENDS, choose, missing_backend
from .._system.files import check_distinct, check_writable, write_text
from .._system.quiet import quiet_tensorflow_start

__all__ = [
    "BACKENDS",
    "DEFAULT_NA_VALUES",
    "MAX_EXPORT_SAMPLES",
    "MAX_INTEGER_CLASSES",
    "PRECISIONS",
    "RECIPE_DEFAULTS",
    "SCHEDULES",
    "STRATEGIES",
    "TASKS",
    "check_distinct",
    "check_writable",
    "choose",
    "missing_backend",
    "quiet_tensorflow_start",
    "write_text",
]
