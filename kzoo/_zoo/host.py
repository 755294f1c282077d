"""The plugin host: one pluggy manager, the plugins it loaded (or failed to), the model
registry they filled, and one ``collect`` for what else they register (weights, data sets).

Environment:
  KZOO_STRICT_PLUGINS=1      a plugin that fails to load raises instead of warning
  KZOO_TRACE_PLUGINS=1       print each hook call and its plugin before it runs, and its duration

A plugin cannot take kzoo down: any exception from its import or hooks (``SystemExit``
included; only ``KeyboardInterrupt`` passes through) marks it failed and the others go on; one
that hangs is abandoned (:mod:`kzoo._zoo.watchdog`). The deny list is pluggy's: its names are
blocked (``PluginManager.set_blocked``) when the host is made. What no in-process host can
stop: a plugin that calls ``os._exit`` or kills its own process.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar

import pluggy

from .. import hookspecs
from .._meta.spec import ModelSpec
from .._meta.weights_card import Weights, check_weights
from .._version import __version__
from ..errors import PluginError, PluginWarning, outside_kzoo
from .builder import ModelBuilder
from .discovery import (
    PROJECT,
    allow_list,
    deny_list,
    discover,
    dist_field,
    dist_name,
    env_flag,
    load_order,
    required_kzoo,
)
from .guard import describe_failure
from .manifest import complete
from .registry import Registry, natural_key
from .watchdog import abandon_timeout, bounded, plugin_timeout

T = TypeVar("T")


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
        plugin_timeout(), abandon_timeout()  # a bad value is one line now, not a failed plugin later
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.infos: dict[str, PluginInfo] = {}
        self._collected: dict[str, dict[str, Any]] = {}  # hook name -> registrations by name
        self.allowed = allow_list()  # the lists are read once: reset() makes a host that reads them again
        for name in deny_list():
            self.pm.set_blocked(name)
        if env_flag("KZOO_TRACE_PLUGINS"):
            self.pm.add_hookcall_monitoring(*_tracer())

    # -- loading -----------------------------------------------------------------------------
    def is_allowed(self, name: str) -> bool:
        """KZOO_LOAD_PLUGINS (allow-list; empty loads none) lists ``name``, or is unset, and
        KZOO_DISABLE_PLUGINS does not name it (pluggy blocks those)."""
        return (self.allowed is None or name in self.allowed) and not self.pm.is_blocked(name)

    def disabled_by(self, name: str) -> str:
        """Which setting keeps plugin ``name`` out, for messages."""
        return "KZOO_DISABLE_PLUGINS names it" if self.pm.is_blocked(name) else "KZOO_LOAD_PLUGINS does not list it"

    def load_entry_points(self) -> None:
        """Load every allowed plugin of the ``kzoo`` entry-point group, built-ins first; an
        allow-list name that no entry point has (a typo) is warned about, once."""
        found = sorted(discover(), key=load_order)
        unknown = sorted((self.allowed or set()) - {ep.name for ep in found})
        if unknown:
            warnings.warn(f"KZOO_LOAD_PLUGINS names {', '.join(map(repr, unknown))}, but no installed plugin has "
                          f"that name (installed: {', '.join(sorted({ep.name for ep in found})) or 'none'}); "
                          f"check the spelling (`kzoo plugins` lists them).", PluginWarning, stacklevel=outside_kzoo())
        for ep in found:
            if not self.is_allowed(ep.name):
                continue
            if ep.name in self.infos:
                self._shadowed(ep, self.infos[ep.name])
                continue
            self.load_entry_point(ep)

    def _shadowed(self, ep: metadata.EntryPoint, loaded: PluginInfo) -> None:
        """Report an entry point that reuses the name of a plugin already loaded (a built-in's
        first): it is not loaded, and nothing it brings is silently lost or swapped in."""
        dist = dist_name(getattr(ep, "dist", None))
        if ep.value == loaded.module and dist == loaded.distribution:
            return  # the same plugin found twice on the path
        kind = "built-in plugin" if (loaded.distribution or "").lower() == PROJECT else "plugin"
        message = (f"kzoo plugin {ep.name!r} ({ep.value}, distribution {dist or 'unknown'}) has the name of the "
                   f"{kind} {loaded.name!r} ({loaded.module}) and was not loaded; rename its entry point.")
        if self.strict:
            raise PluginError(message + " (KZOO_STRICT_PLUGINS is set)")
        warnings.warn(message, PluginWarning, stacklevel=outside_kzoo())

    def load_entry_point(self, ep: metadata.EntryPoint) -> PluginInfo:
        """Import one entry point's plugin and register it: the one path every plugin takes
        (isolation of a failing import, the kzoo version check, the watchdog)."""
        dist = getattr(ep, "dist", None)
        info = PluginInfo(name=ep.name, module=ep.value, distribution=dist_name(dist),
                          version=dist_field(dist, "Version"))
        if dist is not None and info.distribution is None:
            where = getattr(dist, "_path", None) or "its distribution"
            warnings.warn(f"kzoo plugin {ep.name!r}: the metadata of {str(where)!r} has no Name; the plugin is "
                          f"loaded, but reinstall that package to fix its metadata.", PluginWarning, stacklevel=outside_kzoo())
        try:
            plugin = bounded(f"importing plugin {ep.name!r} ({ep.value})", ep.name, ep.load)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a broken plugin must not take kzoo down
            self.infos[info.name] = info
            return self._fail(info, f"import failed: {describe_failure(exc)}")
        self._check_supported_versions(info, dist)
        return self.add(plugin, info)

    def load_named(self, name: str) -> PluginInfo:
        """Load the installed plugin ``name`` on demand (a saved model asks for it), subject to
        the user's allow and deny lists; raises PluginError when it is not allowed or missing."""
        if name in self.infos:
            return self.infos[name]
        if not self.is_allowed(name):
            raise PluginError(f"plugin {name!r} is disabled ({self.disabled_by(name)}); enable it to use its models.")
        for ep in sorted(discover(), key=load_order):
            if ep.name == name:
                return self.load_entry_point(ep)
        raise PluginError(f"plugin {name!r} is not installed; install it, then try again.")

    def add(self, plugin: object, info: PluginInfo | str) -> PluginInfo:
        """Register ``plugin`` (a module or object with hook implementations) and its models."""
        if isinstance(info, str):
            info = PluginInfo(name=info, module=getattr(plugin, "__name__", repr(plugin)))
        if info.name in self.infos:
            raise PluginError(f"a plugin named {info.name!r} is already loaded; pick another name.")
        self.infos[info.name] = info
        # Added in-process (register_plugin) is the caller's explicit choice, which the deny list,
        # kept for installed plugins, does not overrule; entry points were checked before loading.
        self.pm.unblock(info.name)
        try:
            self.pm.register(plugin, name=info.name)
            self.pm.check_pending()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # an invalid hook, or an object whose __dir__ or attributes raise
            with contextlib.suppress(Exception):
                if self.pm.is_registered(plugin):
                    self.pm.unregister(plugin)
            why = "invalid hook implementation" if isinstance(exc, pluggy.PluginValidationError) else "cannot be registered"
            return self._fail(info, f"{why}: {describe_failure(exc)}")
        self._register_models(plugin, info)
        self._collected.clear()  # weights and data sets are collected again, with this plugin's
        return info

    def _register_models(self, plugin: object, info: PluginInfo) -> None:
        entries: list[tuple[ModelBuilder, tuple[str, ...]]] = []

        def register(builder: ModelBuilder, aliases: Iterable[str] = ()) -> None:
            entries.append((builder, tuple(aliases)))

        try:
            self.call_one(plugin, "kzoo_register_models", register=register)
            for builder, _ in entries:
                if isinstance(builder, ModelBuilder) and isinstance(getattr(builder, "spec", None), ModelSpec):
                    builder.__dict__.setdefault("_written_spec", builder.spec)  # before the manifest fills it
                    builder.spec = complete(builder.spec, builder)  # facts only a build tells, from the manifest
                    builder.weights_source = self.weights_for
            info.models = self.registry.add_all(entries, info.name, on_conflict=self._collision(info))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(info, describe_failure(exc) if not isinstance(exc, PluginError) else str(exc))

    def _collision(self, info: PluginInfo) -> Callable[[PluginError], None]:
        """What a name another plugin already took does: in strict mode it fails the plugin
        (nothing of it is registered); otherwise one warning, and only that name is left out."""
        def collided(conflict: PluginError) -> None:
            if self.strict:
                raise conflict
            warnings.warn(f"kzoo plugin {info.name!r} ({info.module}): {conflict} Only that name is left out; "
                          f"the plugin's other models are registered.", PluginWarning, stacklevel=outside_kzoo())

        return collided

    def collect(self, hook_name: str, kind: str, check: Callable[[object, str], tuple[str, T]],
                reserved: Mapping[str, str] | None = None) -> dict[str, T]:
        """Every plugin's registrations through ``hook_name`` (called with ``register=``), by name,
        collected on first use and kept until another plugin is added: the one mechanism behind
        weights and data sets (models use the same rules, eagerly, through the registry).

        ``check(item, plugin)`` returns ``(name, item as registered)`` or raises PluginError.
        A plugin's registrations are taken all or none: one whose hook raises, registers
        something ``check`` refuses, or reuses a name (another plugin's, or one of ``reserved``:
        name -> owner) is marked failed, with both plugins named; the rest go on."""
        if hook_name not in self._collected:
            found: dict[str, T] = {}
            owners: dict[str, str] = dict(reserved or {})
            for name, info in list(self.infos.items()):
                plugin = self.pm.get_plugin(name)
                if plugin is None or info.status != "ok":
                    continue
                mine: dict[str, T] = {}
                try:
                    registered: list[object] = []
                    self.call_one(plugin, hook_name, register=registered.append)
                    for item in registered:
                        key, value = check(item, name)
                        owner = owners.get(key) or (name if key in mine else None)
                        if owner is not None:
                            raise PluginError(f"plugin {name!r} registers {kind} {key!r}, which plugin {owner!r} "
                                              f"already registered; rename one of them.")
                        mine[key] = value
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    self._fail(info, str(exc) if isinstance(exc, PluginError) else f"{hook_name} raised {describe_failure(exc)}")
                    continue
                found.update(mine)
                owners.update(dict.fromkeys(mine, name))
            self._collected[hook_name] = found
        return self._collected[hook_name]

    def weights(self) -> dict[str, Weights]:
        """Every plugin's registered weights by full name (``mlp.iris``), collected on first use."""
        def check(item: object, plugin: str) -> tuple[str, Weights]:
            weights = check_weights(item, plugin).registered(plugin, _module_dir(self.pm.get_plugin(plugin)))
            return weights.full_name, weights

        return self.collect("kzoo_register_weights", "weights", check)

    def weights_for(self, model: str) -> dict[str, Weights]:
        """``{"iris": Weights(...)}``: the weights registered for ``model``, by short name, in name order."""
        return {w.name: w for _, w in sorted(self.weights().items(), key=lambda kv: natural_key(kv[0]))
                if w.model == model}

    def call_one(self, plugin: object, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call ``hook_name`` on ``plugin`` alone, so each result is known to come from it.

        A plugin that does not implement the hook is not called (nor traced)."""
        if not any(impl.plugin is plugin for impl in getattr(self.pm.hook, hook_name).get_hookimpls()):
            return []
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
        name = self.pm.get_name(plugin) or repr(plugin)
        return bounded(f"hook {hook_name} of plugin {name!r}", name, lambda: caller(**kwargs))

    def _fail(self, info: PluginInfo, why: str) -> PluginInfo:
        info.status, info.error = "failed", why
        message = f"kzoo plugin {info.name!r} ({info.module}) failed to load: {why}"
        if self.strict:
            raise PluginError(message + " (KZOO_STRICT_PLUGINS is set)")
        warnings.warn(message, PluginWarning, stacklevel=outside_kzoo())
        return info

    def _check_supported_versions(self, info: PluginInfo, dist: metadata.Distribution | None) -> None:
        """Warn (or fail in strict mode) when the plugin's distribution requires another kzoo."""
        try:
            supported = required_kzoo(dist)
        except Exception as exc:  # an unparsable Requires-Dist: the distribution's fault, not kzoo's
            warnings.warn(f"kzoo plugin {info.name!r}: the metadata of distribution {info.distribution!r} cannot "
                          f"be read ({describe_failure(exc)}); its supported kzoo versions are unknown.", PluginWarning,
                          stacklevel=outside_kzoo())
            return
        if supported is None or supported.contains(__version__, prereleases=True):
            return
        message = (
            f"kzoo plugin {info.name!r} ({info.distribution} {info.version}) supports kzoo{supported}, "
            f"but this is kzoo {__version__}; upgrade one of them."
        )
        if self.strict:
            raise PluginError(message + " (KZOO_STRICT_PLUGINS is set)")
        warnings.warn(message, PluginWarning, stacklevel=outside_kzoo())


def _module_dir(plugin: object) -> str | None:
    """The folder of the module that defines ``plugin``: where its bundled files live."""
    module = plugin if isinstance(plugin, type(sys)) else sys.modules.get(type(plugin).__module__)
    path = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else None


def _tracer() -> tuple[Callable[..., None], Callable[..., None]]:
    """pluggy hook-call monitors that print each call, its plugins and its duration to stderr."""
    started: list[float] = []

    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        plugins = ",".join(impl.plugin_name for impl in hook_impls) or "-"
        print(f"kzoo trace: calling {hook_name} plugin={plugins}", file=sys.stderr, flush=True)
        started.append(time.perf_counter())

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        elapsed = (time.perf_counter() - started.pop()) * 1000
        plugins = ",".join(impl.plugin_name for impl in hook_impls) or "-"
        failed = " (raised)" if outcome.exception is not None else ""
        print(f"kzoo trace: {hook_name} plugin={plugins} {elapsed:.2f} ms{failed}", file=sys.stderr)

    return before, after
