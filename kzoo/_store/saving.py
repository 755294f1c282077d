"""Saving and loading ``.keras`` files together with kzoo's metadata.

kzoo adds one entry, ``kzoo.json``, to the ``.keras`` zip: the model name, its plugin and config,
and how the training data was shaped (target, input columns, class names, scaling). ``evaluate``
and ``predict`` read it back, so a saved model needs nothing else to be used on new data.
The file is written under a temporary name and renamed: never half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._engine.precision import float32_config
from .._meta.spec import jsonable
from .._system.backend import allow_tensorflow, keep_tensorflow_out
from .._system.files import atomic_output
from .._system.limits import (
    MAX_COMPRESSION_RATIO,
    METADATA_MAX_BYTES,
    format_bytes,
    max_array_bytes,
)
from .._version import __version__
from .._zoo.guard import check_backend, describe_failure
from .._zoo.plugins import get_host
from .._engine.strategies import steps_per_execution_for, write_target
from ..errors import ConfigError, DataError, PluginError, PluginWarning, option
from .schema import validate

if TYPE_CHECKING:  # pragma: no cover
    import keras

METADATA_ENTRY = "kzoo.json"
CONFIG_ENTRY = "config.json"
"""Keras's own member of a ``.keras`` zip: the model's architecture."""
# Keras extracts a .keras file's members to disk and refuses one that expands more than 100:1
# beyond 256 MiB; kzoo applies the same rule to all such members together.
SWELLING_RATIO = 100
SWELLING_TOTAL = 1 << 28


def custom_objects(model: str | None = None) -> dict[str, Any]:
    """The custom Keras classes of every loaded plugin's models, so their saved files load.

    A builder whose ``custom_objects()`` raises or returns no mapping is one plugin's bug: a
    warning naming it, and the other files still load; it is an error only for a file of
    ``model``, the model whose classes are missing."""
    objects: dict[str, Any] = {}
    registry = get_host().registry
    for name in registry.names():
        builder = registry.get(name)
        try:
            found = builder.custom_objects()
            if not isinstance(found, Mapping):
                raise TypeError(f"it returned {type(found).__name__}, not a dict")
            objects.update(found)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            message = (f"custom_objects() of model {name!r} (plugin {builder.spec.plugin!r}) failed: "
                       f"{describe_failure(exc)}")
            if name == model:
                raise PluginError(message + "; its saved files cannot be loaded until the plugin is fixed.") from None
            warnings.warn(PluginWarning(message + "; its saved files may not load."), stacklevel=2)
    return objects


def model_metadata(model_name: str, config: Mapping[str, Any], plugin: str | None = None, **extra: Any) -> dict[str, Any]:
    """The ``kzoo.json`` content for a model built by kzoo: name, plugin (default: the one that
    registered ``model_name``; None for a builder used without registering it), config, ``extra``."""
    if plugin is None:
        host = get_host()
        plugin = host.registry.spec(model_name).plugin if model_name in host.registry else None

    return {
        "kzoo_version": __version__,
        "model": model_name,
        "plugin": plugin,
        "config": jsonable(dict(config)),
        **jsonable(extra),
    }


def save(model: keras.Model, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None,
         entries: Mapping[str, bytes] | None = None) -> str:
    """Write ``model`` (with its optimizer state) and kzoo ``metadata`` to ``path`` atomically;
    ``entries`` are extra zip members written with them (a checkpoint's best weights)."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ConfigError(f"model files must end in .keras, got {path!r}; e.g. {option('out')} model.keras.")
    keep_tensorflow_out()
    text = None if metadata is None else metadata_text(metadata)
    with atomic_output(path) as tmp:
        model.save(tmp)
        if text is not None:
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(METADATA_ENTRY, text)
        if entries:
            with zipfile.ZipFile(tmp, "a") as archive:
                for name, data in entries.items():
                    archive.writestr(name, data)
    return path


def metadata_text(metadata: Mapping[str, Any], room: int = 0) -> str:
    """``kzoo.json``'s text, refused in one line when it would exceed what :func:`read_metadata`
    accepts (less ``room`` bytes kept for what training adds): a file kzoo writes, kzoo reads."""
    text = json.dumps(jsonable(dict(metadata)), indent=1)
    if len(text) > 2**20:  # a wide table's plan: one number per line would double it
        text = json.dumps(jsonable(dict(metadata)), separators=(",", ":"))
    limit = METADATA_MAX_BYTES - room
    if len(text.encode()) > limit:
        where, part = "", jsonable(dict(metadata))
        while isinstance(part, dict) and part:  # down to the key that takes the room
            key = max(part, key=lambda k: len(json.dumps(part[k])))
            where, part = f"{where}.{key}" if where else key, part[key]
        raise DataError(f"the model's metadata (kzoo.json) would take {format_bytes(len(text.encode()))}, more than the "
                        f"{format_bytes(limit)} a model file may hold, {format_bytes(len(json.dumps(part)))} of it in "
                        f"{where!r}; use fewer classes, categories or columns.")
    return text


def save_model(model: keras.Model, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None,
               strategy: Any = None, entries: Mapping[str, bytes] | None = None) -> None:
    """:func:`save` from every process of a ``tf.distribute`` run (saving may be a collective op);
    only the chief's file lands at ``path`` (``kzoo._engine.strategies.write_target``)."""
    with write_target(path, strategy) as target:
        save(model, target, metadata, entries)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """kzoo's metadata stored in a ``.keras`` file, or None for files Keras wrote alone."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"no model file at {path!r}; check the path (expected a .keras file).")
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(path, archive)
            if METADATA_ENTRY not in archive.namelist():
                return None
            info = archive.getinfo(METADATA_ENTRY)
            if info.file_size > METADATA_MAX_BYTES:
                raise DataError(f"{path!r}: its {METADATA_ENTRY} claims {format_bytes(info.file_size)}, more than "
                                f"the {format_bytes(METADATA_MAX_BYTES)} kzoo reads; the file was tampered with.")
            with archive.open(info) as member:  # the header may lie: never read past the cap
                raw = member.read(METADATA_MAX_BYTES + 1)
            if len(raw) > METADATA_MAX_BYTES:
                raise DataError(f"{path!r}: its {METADATA_ENTRY} is larger than the "
                                f"{format_bytes(METADATA_MAX_BYTES)} kzoo reads; the file was tampered with.")
            doc = json.loads(raw)
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, EOFError, RuntimeError,
            NotImplementedError) as exc:
        raise DataError(
            f"{path!r} is not a readable .keras file ({type(exc).__name__}: {exc}); it may be corrupted "
            f"or unfinished. Expected a file written by model.save() or `kzoo train --out`."
        ) from exc
    return validate(doc, repr(path))


def read_entry(path: str | os.PathLike[str], name: str) -> bytes | None:
    """The bytes of zip member ``name`` of a ``.keras`` file (None if absent), within kzoo's caps."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(path, archive)
            if name not in archive.namelist():
                return None
            return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise DataError(f"{path!r}: cannot read its {name} ({type(exc).__name__}: {exc}); the file may be "
                        f"corrupted; use a new {option('checkpoint_dir')}.") from exc


def check_archive(path: str, archive: zipfile.ZipFile) -> None:
    """Refuse a zip whose members claim more memory than allowed, or compress implausibly well
    (a zip bomb), before anything is decompressed."""
    cap, total, swelling = max_array_bytes(), 0, 0
    for info in archive.infolist():
        total += info.file_size
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise DataError(f"{path!r}: member {info.filename!r} claims {format_bytes(info.file_size)} from "
                            f"{format_bytes(info.compress_size)} compressed, more than {MAX_COMPRESSION_RATIO}:1; "
                            f"refusing a likely zip bomb.")
        if info.file_size > SWELLING_RATIO * max(info.compress_size, 1):
            swelling += info.file_size
    if swelling > SWELLING_TOTAL:  # many members, each under Keras's own per-member floor
        raise DataError(f"{path!r}: members that expand more than {SWELLING_RATIO}:1 claim "
                        f"{format_bytes(swelling)} together, more than {format_bytes(SWELLING_TOTAL)}; Keras would "
                        f"extract them to disk. Refusing a likely zip bomb (trained weights barely compress).")
    if total > cap:
        raise DataError(f"{path!r}: its members claim {format_bytes(total)} in all, more than the cap of "
                        f"{format_bytes(cap)}; raise KZOO_MAX_ARRAY_BYTES if the file is genuine.")


CONFIG_ENTRY = "config.json"
WEIGHTS_ENTRIES = ("model.weights.h5", "model.weights.npz")
CONFIG_MAX_BYTES = 64 * 2**20
_CONV = ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")


def check_network_size(path: str) -> None:
    """Refuse a file whose ``config.json`` describes a network far larger than its weights hold
    (a tampered config naming a 100,000,000-unit Dense), from the config's text, before Keras
    builds a single layer. The count is a lower bound: Dense, Embedding and convolution kernels."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            weights = sum(archive.getinfo(n).file_size for n in WEIGHTS_ENTRIES if n in names)
            if CONFIG_ENTRY not in names or not weights:
                return
            with archive.open(CONFIG_ENTRY) as member:
                raw = member.read(CONFIG_MAX_BYTES + 1)
        if len(raw) > CONFIG_MAX_BYTES:
            raise DataError(f"{path!r}: its {CONFIG_ENTRY} is larger than {format_bytes(CONFIG_MAX_BYTES)}; the file "
                            f"was tampered with.")
        params = _least_params(json.loads(raw))
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, EOFError, RuntimeError, RecursionError):
        return  # Keras reports an unreadable config itself, in one line (see load)
    if params > weights + 2**20:  # at least one byte per parameter, whatever the dtype
        raise DataError(f"{path!r}: its {CONFIG_ENTRY} describes a network of at least {params:,} parameters, but its "
                        f"weights hold only {format_bytes(weights)}; the file was tampered with or damaged. Not loaded.")


def _least_params(doc: Any) -> int:
    """A lower bound of the parameters a Keras config describes (layers nested anywhere)."""
    total = 0
    if isinstance(doc, list):
        return sum(_least_params(item) for item in doc)
    if not isinstance(doc, dict):
        return 0
    config = doc.get("config")
    if isinstance(doc.get("class_name"), str) and isinstance(config, dict):
        shape = (doc.get("build_config") or {}).get("input_shape") if isinstance(doc.get("build_config"), dict) else None
        fan_in = shape[-1] if isinstance(shape, list) and shape and _count(shape[-1]) else 1
        kind = doc["class_name"]
        if _count(config.get("units")):
            total += config["units"] * fan_in
        elif kind == "Embedding" and _count(config.get("input_dim")) and _count(config.get("output_dim")):
            total += config["input_dim"] * config["output_dim"]
        elif kind in _CONV and _count(config.get("filters")):
            kernel = config.get("kernel_size")
            size = 1
            for k in kernel if isinstance(kernel, list) else [kernel]:
                size *= k if _count(k) else 1
            total += config["filters"] * size * fan_in
    return total + sum(_least_params(value) for value in doc.values() if isinstance(value, (dict, list)))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def ensure_plugin(metadata: Mapping[str, Any] | None) -> None:
    """Load the plugin that provides the saved model if it is not loaded yet, so its custom
    classes are known to Keras. It goes through the one plugin-loading path (``kzoo._zoo.plugins``):
    the user's allow and deny lists are final, whatever the file asks for."""
    if not metadata or not metadata.get("model"):
        return
    host = get_host()
    name, plugin = metadata["model"], metadata.get("plugin")
    if name in host.registry.names() or plugin is None:
        return
    try:
        info = host.load_named(plugin)
    except PluginError as exc:
        raise PluginError(f"the model file was made by model {name!r} of plugin {plugin!r}, but {exc}") from None
    if info.status != "ok" or name not in host.registry.names():
        why = f"it failed to load: {info.error}" if info.status != "ok" else f"it has no model {name!r}"
        raise PluginError(f"the model file was made by model {name!r} of plugin {plugin!r}, but {why}.")


def check_file_backend(metadata: Mapping[str, Any] | None) -> None:
    """A saved model of a plugin that supports only some backends is refused on the others, in
    one line, before Keras reads it."""
    name = (metadata or {}).get("model")
    registry = get_host().registry
    if name and name in registry.names():
        check_backend(registry.spec(name))


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
    if precision == "float32":
        with _in_float32(path) as converted:
            return _load(converted, metadata, safe_mode, compile, shown=path)
    return _load(path, metadata, safe_mode, compile)


@contextlib.contextmanager
def _in_float32(path: str) -> Iterator[str]:
    """``path``, or a temporary copy of it whose ``config.json`` names float32 where it named a
    mixed policy (:func:`kzoo._engine.precision.float32_config`)."""
    raw = read_entry(path, CONFIG_ENTRY)
    try:
        config, changed = float32_config(json.loads(raw or b"null"))
    except ValueError as exc:
        raise DataError(f"{path!r}: its {CONFIG_ENTRY} is not JSON ({exc}); the file may be corrupted.") from None
    if not changed:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="kzoo-float32-") as folder:
        copy = os.path.join(folder, os.path.basename(path))
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = json.dumps(config).encode() if info.filename == CONFIG_ENTRY else source.read(info)
                target.writestr(info.filename, data)
        yield copy


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
        raise DataError(
            f"could not load {shown!r} as a Keras model ({keras_reason(exc)}). "
            f"Expected a .keras file written by model.save() or `kzoo train --out`."
        ) from exc
    if getattr(model, "compiled", False):  # a file compiled on TensorFlow or JAX may ask for more than torch runs
        model.steps_per_execution = steps_per_execution_for(None, int(model.steps_per_execution or 1))
    return model


def custom_classes(path: str) -> list[tuple[str, str]]:
    """``(module, class name)`` of every class outside Keras that the file's ``config.json`` names
    (layers a plugin registered with ``keras.saving.register_keras_serializable``)."""
    try:
        doc = json.loads(read_entry(path, CONFIG_ENTRY) or b"null")
    except (ValueError, DataError):
        return []
    found: dict[tuple[str, str], None] = {}
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            module, cls = item.get("module"), item.get("class_name")
            if isinstance(module, str) and isinstance(cls, str) and module.partition(".")[0] != "keras":
                found[(module, cls)] = None
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return list(found)


def plugin_of_module(module: str) -> str | None:
    """The loaded plugin whose package holds ``module`` (None when no loaded plugin's does)."""
    package = module.partition(".")[0]
    host = get_host()
    for info in host.infos.values():
        if info.status == "ok" and info.module.partition(":")[0].partition(".")[0] == package:
            return info.name
    return None


def import_plugin_modules(path: str) -> dict[str, str]:
    """Import the modules of a loaded plugin's package that define the file's custom classes, so
    classes registered in a module only the build function imports (``kzoo_x/_layers.py``) are
    known to Keras in any process, not only the one that built the model. A module outside every
    loaded plugin's package is never imported: a file cannot make kzoo run other code. Returns the
    modules whose import failed, with why (for the message if a class is then missing)."""
    import importlib

    failed: dict[str, str] = {}
    for module in dict.fromkeys(module for module, _ in custom_classes(path)):
        if module in sys.modules or plugin_of_module(module) is None:
            continue
        try:
            importlib.import_module(module)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the plugin's bug: reported if a class is then missing
            failed[module] = describe_failure(exc)
    return failed


def missing_class(exc: BaseException) -> str | None:
    """The class name in Keras's ``Could not locate class 'X'``, or None for other errors."""
    match = re.search(r"Could not locate (?:class|function) '([^']+)'", str(exc))
    return match.group(1) if match else None


def class_module(path: str, cls: str) -> str | None:
    """The module the file's config names for class ``cls`` (None when it names none)."""
    return next((m for m, c in custom_classes(path) if c == cls or c == cls.rpartition(">")[2]), None)


def missing_class_message(shown: str, cls: str, module: str, metadata: Mapping[str, Any] | None,
                          failed: Mapping[str, str]) -> str:
    """One line for a plugin's custom class Keras cannot find: the class, its module, the plugin, the fix."""
    plugin = plugin_of_module(module)
    made = f"model {metadata['model']!r} of plugin {plugin!r}" if (metadata or {}).get("model") else f"plugin {plugin!r}"
    why = f" (importing it failed: {failed[module]})" if module in failed else ""
    return (f"could not load {shown!r}: Keras cannot find class {cls!r} from module {module!r}{why}, used by {made}; decorate the "
            f"class with @keras.saving.register_keras_serializable() in a module of the plugin's package, or "
            f"return it from the model's custom_objects().")


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
