"""Model names -> builders: registration with conflict checks, filtered listing, lookup.

The registry is plain data; :mod:`kzoo._zoo.host` fills it from the loaded plugins.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._engine.options import RECIPE_DEFAULTS, RECIPE_FIELDS, recipe_problems
from .._meta.spec import MODEL_NAME, NAME_RULE, Choice, ModelSpec, Range, fit_space
from ..errors import (
    ConfigError,
    DuplicateModelError,
    PluginError,
    UnknownModelError,
    outside_kzoo,
)
from .builder import ModelBuilder

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Alias:
    """A deprecated name that resolves to ``target`` with a warning."""

    name: str
    target: str
    plugin: str


class Registry:
    """Every registered model, by name, and the plugin that registered it."""

    def __init__(self) -> None:
        self._builders: dict[str, ModelBuilder] = {}
        self._aliases: dict[str, Alias] = {}

    # -- registration ------------------------------------------------------------------------
    def add(self, builder: ModelBuilder, plugin: str, aliases: Iterable[str] = (),
            on_conflict: Callable[[DuplicateModelError], None] | None = None) -> bool:
        """Register ``builder`` as provided by ``plugin``; a taken name raises, naming both plugins.

        With ``on_conflict``, a taken name is handed to it instead and only that name is left
        out: the model (with its aliases) for a taken model name, the alias for a taken alias.
        Returns whether the model was registered."""
        check_builder(builder, plugin)
        name = builder.spec.name
        free = [n for n in (name, *aliases) if self._conflict(n, plugin) is None]
        for taken in (n for n in (name, *aliases) if n not in free):
            conflict = self._conflict(taken, plugin)
            if on_conflict is None:
                raise conflict  # type: ignore[misc]
            on_conflict(conflict)  # type: ignore[arg-type]
        if name not in free:
            return False
        builder.spec = builder.spec.with_facts(plugin=plugin, search_space=checked_space(builder.spec))
        self._builders[name] = builder
        for alias in free[1:]:
            self._aliases[alias] = Alias(alias, name, plugin)
        return True

    def add_all(self, entries: Sequence[tuple[ModelBuilder, tuple[str, ...]]], plugin: str,
                on_conflict: Callable[[DuplicateModelError], None] | None = None) -> list[str]:
        """Register a plugin's ``(builder, aliases)`` pairs all or none: an invalid builder, or
        a conflict when ``on_conflict`` is None, adds nothing. With ``on_conflict``, a taken name
        leaves out only that name (see :meth:`add`); anything it raises adds nothing.
        Returns the names registered."""
        added: list[str] = []
        try:
            for builder, aliases in entries:
                if self.add(builder, plugin, aliases, on_conflict):
                    added.append(builder.spec.name)
        except BaseException:
            for name in added:
                del self._builders[name]
            self._aliases = {k: a for k, a in self._aliases.items() if a.target not in added}
            raise
        return added

    def _conflict(self, name: str, plugin: str) -> DuplicateModelError | None:
        """The error for ``name`` when it is taken (by another plugin, or by ``plugin`` itself)."""
        owner = self.owner(name)
        if owner is None:
            return None
        return DuplicateModelError(
            f"plugin {plugin!r} registers model {name!r}, which plugin {owner!r} already "
            f"registered. Rename one of the models (a namespace prefix, such as '{plugin}/{name}', keeps a "
            f"plugin's names apart), or disable a plugin with KZOO_DISABLE_PLUGINS."
        )

    def owner(self, name: str) -> str | None:
        """The plugin that registered ``name`` (a model or an alias), if any."""
        if name in self._builders:
            return self._builders[name].spec.plugin
        if name in self._aliases:
            return self._aliases[name].plugin
        return None

    # -- lookup ------------------------------------------------------------------------------
    def get(self, name: str) -> ModelBuilder:
        """The builder registered as ``name``; a deprecated alias warns and resolves."""
        if name in self._builders:
            return self._builders[name]
        alias = self._aliases.get(name)
        if alias is not None:
            warnings.warn(
                f"model name {name!r} is deprecated; use {alias.target!r} instead.",
                DeprecationWarning,
                stacklevel=outside_kzoo(),
            )
            return self._builders[alias.target]
        raise UnknownModelError(name, self._builders)

    def __contains__(self, name: object) -> bool:
        return name in self._builders or name in self._aliases

    def __len__(self) -> int:
        return len(self._builders)

    @property
    def aliases(self) -> dict[str, Alias]:
        return dict(self._aliases)

    def names(
        self,
        filter: str | Sequence[str] = "",
        exclude: str | Sequence[str] = (),
        tags: Iterable[str] = (),
        plugin: str | None = None,
        include_aliases: bool = False,
    ) -> list[str]:
        """Sorted names of the registered models: ``kzoo.list_models`` is this method, on the
        loaded plugins' registry.

        Args:
            filter: glob(s) a name must match, e.g. ``"*mlp*"``; empty matches all.
            exclude: glob(s) that drop a name.
            tags: tags a model must all carry, e.g. ``["multi-input"]``.
            plugin: only models from this plugin.
            include_aliases: also list deprecated alias names.

        Returns:
            The matching names in natural order (``resnet50`` before ``resnet101``); ``[]`` when
            none match.

        Example:
            >>> kzoo.list_models("*mlp*", tags=["multi-input"])
            ['siamese_mlp', 'two_input_mlp']
        """
        includes = _as_tuple(filter)
        excludes = _as_tuple(exclude)
        wanted_tags = set(tags)
        candidates: list[str] = list(self._builders)
        if include_aliases:
            candidates += list(self._aliases)
        out = []
        for name in candidates:
            spec = self.spec(name)
            if includes and not any(fnmatch.fnmatchcase(name, pat) for pat in includes):
                continue
            if any(fnmatch.fnmatchcase(name, pat) for pat in excludes):
                continue
            if wanted_tags and not wanted_tags.issubset(spec.tags):
                continue
            if plugin is not None and spec.plugin != plugin:
                continue
            out.append(name)
        return sorted(out, key=natural_key)

    def spec(self, name: str) -> ModelSpec:
        builder = self._builders.get(name)
        if builder is None:
            alias = self._aliases.get(name)
            if alias is None:
                raise UnknownModelError(name, self._builders)
            builder = self._builders[alias.target]
        return builder.spec


def on_registry(method: Callable[Concatenate[Registry, P], R], find: Callable[[], Registry],
                name: str) -> Callable[P, R]:
    """``method`` as a function named ``name`` (in ``find``'s module) that calls it on the registry
    ``find()`` returns at each call: a public function keeps the method's one signature and docstring."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return method(find(), *args, **kwargs)

    signature = inspect.signature(method)
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
    call.__name__ = call.__qualname__ = name
    call.__module__ = find.__module__
    return call


def check_builder(builder: object, plugin: str) -> None:
    """Reject registrations that are not usable builders, naming the plugin and what was wrong."""
    if not isinstance(builder, ModelBuilder):
        hint = " (pass an instance, not the class)" if isinstance(builder, type) else ""
        raise PluginError(
            f"plugin {plugin!r} called register() with {builder!r}; expected a kzoo.ModelBuilder "
            f"instance{hint}."
        )
    spec = getattr(builder, "spec", None)
    if not isinstance(spec, ModelSpec):
        raise PluginError(f"plugin {plugin!r}: {type(builder).__name__}.spec must be a kzoo.ModelSpec, got {spec!r}.")
    if not MODEL_NAME.fullmatch(spec.name):
        raise PluginError(f"plugin {plugin!r}: model name {spec.name!r} is not valid; use {NAME_RULE}.")
    bad_recipe = recipe_problems(spec.training)
    if bad_recipe:
        said = "; ".join(f"{name}={value!r} (expected {expected})" for name, value, expected in bad_recipe)
        raise PluginError(f"plugin {plugin!r}: model {spec.name!r} declares a training recipe kzoo cannot use: {said}.")
    try:
        checked_space(spec)
    except ConfigError as exc:
        raise PluginError(f"plugin {plugin!r}: model {exc}") from None


def checked_space(spec: ModelSpec, space: Mapping[str, Choice | Range] | None = None,
                  config: Mapping[str, Any] | None = None) -> dict[str, Choice | Range]:
    """``space`` (default: the spec's) fitted to the model (:func:`kzoo._meta.spec.fit_space`): its
    keys are config keys (of ``config``, default the spec's defaults) or training options, each
    choice read as its key's type, and the training options' choices and ends values kzoo trains with."""
    space = spec.search_space if space is None else space
    fitted = fit_space(spec.name, space, {**RECIPE_DEFAULTS, **(spec.default_config if config is None else config)})
    training = {key: entry for key, entry in fitted.items() if key in RECIPE_FIELDS and key not in spec.default_config}
    bad = [problem for key, entry in training.items() for v in entry.values for problem in recipe_problems({key: v})]
    if bad:
        name, value, expected = bad[0]
        raise ConfigError(f"{spec.name}: search space {name}={training[name]} reaches {value!r}; expected {expected}.")
    return fitted


def _as_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(v for v in value if v)


def natural_key(name: str) -> list[object]:
    """Sort key that puts ``mlp2`` before ``mlp10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]
