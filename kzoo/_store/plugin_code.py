"""The plugin code a saved file needs before Keras can read it: the plugin that made the model
loaded (through the one plugin-loading path), its backends checked, the custom classes of every
loaded plugin gathered, and the modules defining the file's classes imported from the plugin's
own package (or a library its distribution declares as a dependency: an adapter's); when Keras
still misses a class, one line naming it, its module and its plugin.

A file never makes kzoo import a module outside a loaded plugin's package and its declared
dependencies: it cannot run other code.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from .._zoo.discovery import dependency_packages
from .._zoo.guard import check_backend, describe_failure
from .._zoo.plugins import get_host
from ..errors import DataError, PluginError, PluginWarning, outside_kzoo
from .archive import CONFIG_ENTRY, read_entry


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
            warnings.warn(PluginWarning(message + "; its saved files may not load."), stacklevel=outside_kzoo())
    return objects


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
    """The loaded plugin whose package holds ``module``, else the first loaded plugin whose
    distribution declares the library holding it as a dependency (an adapter's wrapped library,
    whose classes it registers in its own modules); None when neither."""
    package = module.partition(".")[0]
    loaded = [info for info in get_host().infos.values() if info.status == "ok"]
    for info in loaded:
        if info.module.partition(":")[0].partition(".")[0] == package:
            return info.name
    for info in loaded:
        if package in dependency_packages(info.distribution):
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
            f"return it from the model's custom_objects(); a class of a library the plugin wraps loads once that "
            f"library is among the dependencies of the plugin's distribution.")
