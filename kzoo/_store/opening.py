"""Opening a ``.keras`` file as a Keras model: its zip and ``kzoo.json`` checked first
(:mod:`.archive`), the plugin code it needs made known to Keras (:mod:`.plugin_code`), optionally
every layer in float32, and whatever Keras still refuses said in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._engine.precision import float32_config
from .._engine.strategies import steps_per_execution_for
from .._system.backend import allow_tensorflow, keep_tensorflow_out
from .._system.backend import name as backend_name
from ..errors import ConfigError, DataError
from .archive import CONFIG_ENTRY, check_network_size, read_entry, read_metadata
from .plugin_code import (
    check_file_backend,
    class_module,
    custom_objects,
    ensure_plugin,
    import_plugin_modules,
    missing_class,
    missing_class_message,
    plugin_of_module,
)

if TYPE_CHECKING:  # pragma: no cover
    import keras


def load(path: str | os.PathLike[str], safe_mode: bool = True, compile: bool = True,
         precision: str | None = None) -> keras.Model:
    """Load a ``.keras`` file saved from any kzoo model (its plugin is loaded first).

    ``safe_mode=False`` lets Keras run Python code stored in the file (Lambda layers); only use it
    for files you trust. ``precision="float32"`` loads a model trained in mixed precision with
    every layer computing in float32 (its weights are float32 already); None keeps each layer's
    saved policy.
    """
    path = os.fspath(path)
    if precision not in (None, "float32"):
        raise ConfigError(f"a model loads in its saved precision (None) or in 'float32', not {precision!r}.")
    metadata = read_metadata(path)
    check_network_size(path)
    with _converted(path, precision == "float32") as converted:
        return _load(converted, metadata, safe_mode, compile, shown=path)


@contextlib.contextmanager
def _converted(path: str, in_float32: bool) -> Iterator[str]:
    """``path``, or a temporary copy of it whose ``config.json`` names float32 where it named a
    mixed policy (``in_float32``: :func:`kzoo._engine.precision.float32_config`) and a portable
    optimizer where it named another backend's (:func:`portable_config`)."""
    raw = read_entry(path, CONFIG_ENTRY) or b"null"
    if not in_float32 and _BACKEND_MODULE.encode() not in raw:  # the common case: nothing to read
        yield path
        return
    try:
        config, changed = portable_config(json.loads(raw), backend_name())
        if in_float32:
            config, mixed = float32_config(config)
            changed += mixed
    except ValueError as exc:
        raise DataError(f"{path!r}: its {CONFIG_ENTRY} is not JSON ({exc}); the file may be corrupted.") from None
    if not changed:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="kzoo-load-") as folder:
        copy = os.path.join(folder, os.path.basename(path))
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = json.dumps(config).encode() if info.filename == CONFIG_ENTRY else source.read(info)
                target.writestr(info.filename, data)
        yield copy


_BACKEND_MODULE = "keras.src.backend."


def portable_config(config: Any, backend: str) -> tuple[Any, int]:
    """``(config, changed)``: a Keras model config (parsed JSON) whose classes from another
    backend's modules (PyTorch saves its optimizer as
    ``keras.src.backend.torch.optimizers.torch_adam.Adam``) are named by their public module
    (``keras.optimizers.Adam``), so that a file trained on one backend never imports another
    framework into the process that loads it (torch inside TensorFlow can crash it)."""
    changed = 0
    own = f"{_BACKEND_MODULE}{backend}."

    def walk(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, dict):
            module = node.get("module")
            if isinstance(module, str) and module.startswith(_BACKEND_MODULE) and not module.startswith(own):
                if ".optimizers" in module or ".optimizer" in module:
                    changed += 1
                    node = {**node, "module": "keras.optimizers"}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    return walk(config), changed


def _load(path: str, metadata: Mapping[str, Any] | None, safe_mode: bool, compile: bool,
          shown: str | None = None) -> keras.Model:
    path, shown = os.fspath(path), shown or os.fspath(path)
    ensure_plugin(metadata)
    check_file_backend(metadata)
    import keras

    keep_tensorflow_out()
    if ((metadata or {}).get("data") or {}).get("plan", {}).get("categorical"):
        allow_tensorflow()  # its StringLookup layers need tensorflow on any backend

    objects = custom_objects((metadata or {}).get("model"))
    failed = import_plugin_modules(path)
    try:
        model = keras.saving.load_model(path, custom_objects=objects, safe_mode=safe_mode, compile=compile)
    except Exception as exc:
        missing = missing_class(exc)
        module = class_module(path, missing) if missing is not None else None
        if module is not None and plugin_of_module(module) is not None:  # a plugin's class, not a foreign one
            raise DataError(missing_class_message(shown, missing, module, metadata, failed)) from None
        foreign = (f" kzoo imports a class's module only from a loaded plugin's package or a library its "
                   f"distribution declares as a dependency; install the plugin that made the file, or, if you trust "
                   f"it, import {module} before loading (or pass custom_objects=).") if module is not None else ""
        raise DataError(
            f"could not load {shown!r} as a Keras model ({keras_reason(exc)}). "
            f"Expected a .keras file written by model.save() or `kzoo train --out`.{foreign}"
        ) from exc
    if getattr(model, "compiled", False):  # a file compiled on TensorFlow or JAX may ask for more than torch runs
        model.steps_per_execution = steps_per_execution_for(None, int(model.steps_per_execution or 1))
    return model


def keras_reason(exc: BaseException) -> str:
    """One line of why Keras could not load a file: Keras nests the real cause (``Could not
    locate class 'Doubler'``) after pages of config, behind ``Exception encountered:``."""
    text = str(exc)
    if "Exception encountered:" in text:
        text = text.rsplit("Exception encountered:", 1)[1]
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    located = re.match(r"(Could not locate (?:class|function) '[^']*')\.", line)
    if located:  # Keras's advice to plugin authors and a config dump cut mid-word: say which module instead
        module = re.search(r"Full object config: \{'module': '([^']*)'", text)
        line = located.group(1) + (f" (the config names module {module.group(1)!r})" if module else "")
    return f"{type(exc).__name__}: {line[:300]}" if line else type(exc).__name__
