"""Which Keras backend runs, found without importing keras: ``tf.data`` and ``tf.distribute`` are
used only on TensorFlow, and on JAX or PyTorch nothing in kzoo imports tensorflow.

Keras picks its backend once, when it is first imported: ``KERAS_BACKEND``, else the
``backend`` of ``$KERAS_HOME/keras.json`` (``~/.keras/keras.json``), else TensorFlow.
``kzoo --backend NAME`` sets ``KERAS_BACKEND`` before that happens (:func:`choose`).
"""

from __future__ import annotations

import json
import os
import sys

from ..errors import ConfigError

BACKENDS = ("tensorflow", "jax", "torch")


def name() -> str:
    """The backend Keras uses, or will use once imported."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "config"):
        return keras.config.backend()
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as file:
            configured = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        configured = None
    return configured if isinstance(configured, str) and configured else "tensorflow"


def is_tensorflow() -> bool:
    return name() == "tensorflow"


def choose(backend: str) -> None:
    """Make ``backend`` Keras's backend: set ``KERAS_BACKEND`` before keras loads; once it has
    loaded with another backend that is no longer possible, which is a ConfigError."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}.")
    if "keras" in sys.modules and name() != backend:
        raise ConfigError(f"Keras is already running on {name()!r} in this process; the backend must be chosen "
                          f"before Keras loads (set KERAS_BACKEND={backend} in the environment).")
    module = _MODULES[backend]
    if sys.modules.get(module) is None and not _installed(module):
        raise _not_installed(backend, "choose another --backend")
    os.environ["KERAS_BACKEND"] = backend


def _not_installed(backend: str, instead: str) -> ConfigError:
    extra = f'pip install "kzoo[{backend}]"' if backend != "tensorflow" else "pip install tensorflow"
    return ConfigError(f"the {backend} backend needs {_MODULES[backend]!r}, which is not installed; {extra} (see "
                       f"docs/backends.md), or {instead}.")


def missing_backend(exc: BaseException) -> ConfigError | None:
    """The one-line error for ``exc`` when it is Keras failing to import the chosen backend's
    package (``KERAS_BACKEND=torch`` without torch): the user's setting, not a model, is at fault."""
    if not isinstance(exc, ModuleNotFoundError) or exc.name is None:
        return None
    chosen = name()
    if _MODULES.get(chosen) != exc.name.partition(".")[0]:
        return None
    where = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "the backend in keras.json"
    return _not_installed(chosen, f"choose another backend ({where} is {chosen!r}; kzoo --backend NAME overrides it)")


# The package each backend imports (checked without importing it: torch alone takes seconds).
_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install, or sys.modules[module] = None (made unimportable)
        return False


def keep_tensorflow_out() -> None:
    """Off TensorFlow, tell Keras that tensorflow is not there for its optional uses.

    Keras imports tensorflow whenever it is installed, on any backend, for checks that do not
    need it (``isinstance(obj, tf.TensorShape)`` while saving, seeding tf's RNG); that costs
    seconds and memory a JAX user did not ask for. Code that truly needs it (``TextVectorization``)
    still imports it. A no-op on TensorFlow or once tensorflow is loaded."""
    if is_tensorflow() or "tensorflow" in sys.modules:
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:  # pragma: no cover - another Keras layout: nothing to switch off
        return
    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "_available", True) is None:
        lazy._available = False


def allow_tensorflow() -> None:
    """Undo :func:`keep_tensorflow_out`: a model with ``StringLookup`` layers (a table's category
    columns) needs tensorflow on any backend, to build or load them."""
    try:
        from keras.src.utils import module_utils
    except ImportError:  # pragma: no cover
        return
    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "_available", None) is False:
        lazy._available = None


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed`` without importing tensorflow off its backend."""
    import keras

    keep_tensorflow_out()
    keras.utils.set_random_seed(seed)
