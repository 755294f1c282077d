"""The process's plugin host, made and loaded on first use, and the plugin names the package
imports, behind one ``__all__``.

Finding plugins and the allow/deny lists are :mod:`kzoo._zoo.discovery`, a plugin's time bounds
:mod:`kzoo._zoo.watchdog`, loading, isolation and ``collect`` :mod:`kzoo._zoo.host`; the
environment variables each reads are listed there (and in ``kzoo plugins --help``).
"""

from __future__ import annotations

import threading

from .discovery import discover, env_flag
from .host import PluginHost, PluginInfo
from .watchdog import loading, plugin_timeout, watchdog

__all__ = [
    "PluginHost",
    "PluginInfo",
    "discover",
    "env_flag",
    "get_host",
    "plugin_infos",
    "plugin_timeout",
    "register_plugin",
    "reset",
    "watchdog",
]

_host: PluginHost | None = None
_lock = threading.RLock()


def get_host() -> PluginHost:
    """The process-wide plugin host, loading the entry-point plugins on first use.

    Loading happens once, under a lock: threads that arrive meanwhile wait for it. A plugin
    whose import or hook calls back into kzoo while loading (in its own thread or this one)
    sees the host loaded so far."""
    global _host
    host = _host
    if host is not None:
        return host
    being_loaded = loading.get()
    if isinstance(being_loaded, PluginHost):
        return being_loaded
    with _lock:
        if _host is not None:
            return _host
        host = PluginHost()
        token = loading.set(host)
        try:
            host.load_entry_points()
            _host = host
        finally:
            loading.reset(token)
        return _host


def reset() -> None:
    """Forget loaded plugins; the next call reloads them (reads the environment again)."""
    global _host
    with _lock:
        _host = None


def register_plugin(plugin: object, name: str) -> PluginInfo:
    """Load a plugin object in-process, without an entry point (handy in tests and notebooks).

    Args:
        plugin: a module or object with hook implementations (``kzoo_register_models`` and the
            other ``@kzoo.hookimpl`` functions).
        name: the plugin's name, as ``kzoo plugins`` shows it; it must not be loaded already.

    Returns:
        Its ``PluginInfo``: ``status`` is ``"failed"`` (with a warning and ``error``)
        when a hook is invalid or registering its models fails.

    Raises:
        kzoo.PluginError: a plugin called ``name`` is already loaded, or it fails while
            ``KZOO_STRICT_PLUGINS`` is set.

    Example::

        class Tiny:
            @kzoo.hookimpl
            def kzoo_register_models(self, register):
                register(tiny)  # a @kzoo.model builder

        kzoo.register_plugin(Tiny(), "tiny").models  # ['tiny']
    """
    return get_host().add(plugin, name)


def plugin_infos() -> list[PluginInfo]:
    """Every plugin kzoo tried to load, in load order, failed ones included (``kzoo plugins``).

    Returns:
        One ``PluginInfo`` per plugin: its name, module, distribution and version,
        the models it registered, and ``status`` (``"ok"`` or ``"failed"``, with ``error``).

    Example:
        >>> [info.name for info in kzoo.plugin_infos() if info.status == "failed"]
        []
    """
    return list(get_host().infos.values())
