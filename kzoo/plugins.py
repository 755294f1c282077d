"""The plugin manager: entry-point discovery, allow/deny lists, isolation of broken plugins.

Environment:
  KZOO_LOAD_PLUGINS=a,b      load only these plugins ("" loads none; built-ins included)
  KZOO_DISABLE_PLUGINS=a,b   skip these plugins
  KZOO_STRICT_PLUGINS=1      a plugin that fails to load raises instead of warning
  KZOO_TRACE_PLUGINS=1       print each hook call, its plugin and its duration to stderr
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from ._version import __version__
from .builder import ModelBuilder
from .errors import PluginError
from .registry import Registry
from .weights import Weights, check_weights

ENTRY_POINT_GROUP = "kzoo"
PROJECT = "kzoo"


class PluginWarning(UserWarning):
    """A plugin failed to load or is outside its supported kzoo versions; the rest go on."""


@dataclass
class PluginInfo:
    """What ``kzoo plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    models: list[str] = field(default_factory=list)
    status: str = "ok"  # "ok" or "failed"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "models": list(self.models),
            "status": self.status,
            "error": self.error,
        }


class PluginHost:
    """One pluggy manager, the plugins it loaded (or failed to) and the model registry they filled."""

    def __init__(self, strict: bool | None = None) -> None:
        self.strict = env_flag("KZOO_STRICT_PLUGINS") if strict is None else strict
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.infos: dict[str, PluginInfo] = {}
        self._weights: dict[str, Weights] | None = None
        if env_flag("KZOO_TRACE_PLUGINS"):
            self.pm.add_hookcall_monitoring(*_tracer())

    # -- loading -----------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        """Load every allowed plugin of the ``kzoo`` entry-point group, built-ins first."""
        for ep in sorted(discover(), key=_load_order):
            if not is_allowed(ep.name):
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take kzoo down
                self.infos[info.name] = info
                self._fail(info, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self._check_supported_versions(info, dist)
            self.add(plugin, info)

    def add(self, plugin: object, info: PluginInfo | str) -> PluginInfo:
        """Register ``plugin`` (a module or object with hook implementations) and its models."""
        if isinstance(info, str):
            info = PluginInfo(name=info, module=getattr(plugin, "__name__", repr(plugin)))
        if info.name in self.infos:
            raise PluginError(f"a plugin named {info.name!r} is already loaded; pick another name.")
        self.infos[info.name] = info
        try:
            self.pm.register(plugin, name=info.name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            return self._fail(info, f"invalid hook implementation: {exc}")
        self._register_models(plugin, info)
        self._weights = None  # collected again, with this plugin's, when next asked for
        return info

    def _register_models(self, plugin: object, info: PluginInfo) -> None:
        entries: list[tuple[ModelBuilder, tuple[str, ...]]] = []

        def register(builder: ModelBuilder, aliases: Iterable[str] = ()) -> None:
            entries.append((builder, tuple(aliases)))

        try:
            self.call_one(plugin, "kzoo_register_models", register=register)
            self.registry.add_all(entries, info.name)
        except Exception as exc:
            self._fail(info, f"{type(exc).__name__}: {exc}" if not isinstance(exc, PluginError) else str(exc))
            return
        info.models = [builder.spec.name for builder, _ in entries]

    def weights(self) -> dict[str, Weights]:
        """Every plugin's registered weights by full name (``mlp.iris``), collected on first use.

        A plugin's registrations are taken all or none: one that raises, registers something that
        is not a ``kzoo.Weights`` or reuses another plugin's name is marked failed; the rest go on.
        """
        if self._weights is None:
            found: dict[str, Weights] = {}
            for name, info in list(self.infos.items()):
                plugin = self.pm.get_plugin(name)
                if plugin is None or info.status != "ok":
                    continue
                mine: dict[str, Weights] = {}
                try:
                    registered: list[object] = []
                    self.call_one(plugin, "kzoo_register_weights", register=registered.append)
                    for item in registered:
                        weights = check_weights(item, name).registered(name, _module_dir(plugin))
                        taken = found.get(weights.full_name) or mine.get(weights.full_name)
                        if taken is not None:
                            raise PluginError(f"plugin {name!r} registers weights {weights.full_name!r}, which plugin "
                                              f"{taken.plugin!r} already registered; rename one of them.")
                        mine[weights.full_name] = weights
                except Exception as exc:
                    self._fail(info, str(exc) if isinstance(exc, PluginError)
                               else f"kzoo_register_weights raised {type(exc).__name__}: {exc}")
                    continue
                found.update(mine)
            self._weights = found
        return self._weights

    def call_one(self, plugin: object, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call ``hook_name`` on ``plugin`` alone, so each result is known to come from it.

        A plugin that does not implement the hook is not called (nor traced)."""
        if not any(impl.plugin is plugin for impl in getattr(self.pm.hook, hook_name).get_hookimpls()):
            return []
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
        return caller(**kwargs)

    def call_each(self, hook_name: str, make_kwargs: Callable[[str], dict[str, Any]]) -> None:
        """Call ``hook_name`` on every healthy plugin in turn; one that raises is marked failed."""
        for name, info in list(self.infos.items()):
            plugin = self.pm.get_plugin(name)
            if plugin is None or info.status != "ok":
                continue
            try:
                self.call_one(plugin, hook_name, **make_kwargs(name))
            except Exception as exc:
                self._fail(info, f"{hook_name} raised {type(exc).__name__}: {exc}")

    def _fail(self, info: PluginInfo, why: str) -> PluginInfo:
        info.status, info.error = "failed", why
        message = f"kzoo plugin {info.name!r} ({info.module}) failed to load: {why}"
        if self.strict:
            raise PluginError(message + " (KZOO_STRICT_PLUGINS is set)")
        warnings.warn(message, PluginWarning, stacklevel=2)
        return info

    def _check_supported_versions(self, info: PluginInfo, dist: metadata.Distribution | None) -> None:
        """Warn (or fail in strict mode) when the plugin's distribution requires another kzoo."""
        supported = required_kzoo(dist)
        if supported is None or supported.contains(__version__, prereleases=True):
            return
        message = (
            f"kzoo plugin {info.name!r} ({info.distribution} {info.version}) supports kzoo{supported}, "
            f"but this is kzoo {__version__}; upgrade one of them."
        )
        if self.strict:
            raise PluginError(message + " (KZOO_STRICT_PLUGINS is set)")
        warnings.warn(message, PluginWarning, stacklevel=2)


def _module_dir(plugin: object) -> str | None:
    """The folder of the module that defines ``plugin``: where its bundled files live."""
    module = plugin if isinstance(plugin, type(sys)) else sys.modules.get(type(plugin).__module__)
    path = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else None


def required_kzoo(dist: metadata.Distribution | None) -> Any:
    """The ``SpecifierSet`` a plugin's distribution requires of kzoo, or None if it says nothing."""
    if dist is None or dist.metadata["Name"].lower() == PROJECT:
        return None
    for line in dist.requires or ():
        if not line.lower().startswith(PROJECT):
            continue
        from packaging.requirements import Requirement  # only for third-party plugins

        req = Requirement(line)
        if req.name.lower() == PROJECT and not req.marker:
            return req.specifier
    return None


def discover() -> list[metadata.EntryPoint]:
    """Every entry point of the ``kzoo`` group, loaded or not."""
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _load_order(ep: metadata.EntryPoint) -> tuple[bool, str]:
    dist = getattr(ep, "dist", None)
    builtin = dist is not None and dist.metadata["Name"].lower() == PROJECT
    return (not builtin, ep.name)


def is_allowed(name: str) -> bool:
    """Apply KZOO_LOAD_PLUGINS (allow-list; empty loads none) and KZOO_DISABLE_PLUGINS."""
    allowed = os.environ.get("KZOO_LOAD_PLUGINS")
    if allowed is not None and name not in _split(allowed):
        return False
    return name not in _split(os.environ.get("KZOO_DISABLE_PLUGINS", ""))


def _split(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _tracer() -> tuple[Callable[..., None], Callable[..., None]]:
    """pluggy hook-call monitors that print each call, its plugins and its duration to stderr."""
    started: list[float] = []

    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        started.append(time.perf_counter())

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        elapsed = (time.perf_counter() - started.pop()) * 1000
        plugins = ",".join(impl.plugin_name for impl in hook_impls) or "-"
        failed = " (raised)" if outcome.exception is not None else ""
        print(f"kzoo trace: {hook_name} plugin={plugins} {elapsed:.2f} ms{failed}", file=sys.stderr)

    return before, after


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, loading the entry-point plugins on first use."""
    global _host
    if _host is None:
        host = PluginHost()
        host.load_entry_points()
        _host = host
    return _host


def reset() -> None:
    """Forget loaded plugins; the next call reloads them (reads the environment again)."""
    global _host
    _host = None


def register_plugin(plugin: object, name: str) -> PluginInfo:
    """Load a plugin object in-process, without an entry point (handy in tests and notebooks)."""
    return get_host().add(plugin, name)


def plugin_infos() -> list[PluginInfo]:
    """Every plugin kzoo tried to load, in load order."""
    return list(get_host().infos.values())
