"""Finding plugins: the ``kzoo`` entry points installed, their distributions' metadata, and the
user's allow and deny lists, read from the environment.

Environment:
  KZOO_LOAD_PLUGINS=a,b      load only these plugins ("" loads none; built-ins included)
  KZOO_DISABLE_PLUGINS=a,b   skip these plugins

Broken distribution metadata (no ``Name``, an unparsable ``Requires-Dist``, unreadable entry
points) is other people's package, not kzoo's fault: it is read as "unknown" or left out with a
warning naming the distribution, never an exception.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Collection
from importlib import metadata
from typing import Any

from ..errors import PluginWarning, outside_kzoo
from .guard import describe_failure

ENTRY_POINT_GROUP = "kzoo"
PROJECT = "kzoo"


def discover() -> list[metadata.EntryPoint]:
    """Every entry point of the ``kzoo`` group, loaded or not. A distribution whose metadata
    cannot be read is left out with a warning naming it; the rest are found."""
    with contextlib.suppress(Exception):  # one broken distribution fails the whole scan
        return list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    found: list[metadata.EntryPoint] = []  # so read them one by one
    for dist in metadata.distributions():
        try:
            found += [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
        except Exception as exc:
            where = getattr(dist, "_path", None) or dist_name(dist) or "a distribution"
            warnings.warn(f"the metadata of {where} cannot be read ({describe_failure(exc)}); its kzoo plugins, if any, "
                          f"are not loaded. Reinstall or remove that package.", PluginWarning, stacklevel=outside_kzoo())
    return found


def dist_name(dist: metadata.Distribution | None) -> str | None:
    """A distribution's name, or None when there is none or its metadata cannot be read."""
    return dist_field(dist, "Name")


def dist_field(dist: metadata.Distribution | None, key: str) -> str | None:
    """One field of a distribution's metadata; None for a missing field or unreadable metadata
    (other people's broken packages must not take kzoo down)."""
    if dist is None:
        return None
    try:
        value = dist.metadata[key]
    except Exception:
        return None
    return value if isinstance(value, str) and value else None


def dependency_packages(distribution: str | None, built_on: Collection[str] = ()) -> set[str]:
    """The top-level import packages of the distributions ``distribution`` declares in its
    ``Requires-Dist`` (extras' included): the libraries a plugin wraps, whose classes its saved
    files may name. ``built_on``: only those that are, or themselves require, one of these
    distributions (a library on a framework, which listing must not import). Empty for kzoo
    itself, a distribution not installed, or unreadable metadata."""
    if not distribution or distribution.lower() == PROJECT:
        return set()
    try:
        wanted = _requires(distribution)
        if built_on:
            frameworks = {_normal(name) for name in built_on}
            wanted = {d for d in wanted if d != PROJECT and (d in frameworks or frameworks & _requires(d))}
        owners = metadata.packages_distributions()
    except Exception:  # other people's broken metadata means: no dependencies known
        return set()
    return {package for package, dists in owners.items() if any(_normal(d) in wanted for d in dists)}


def _requires(distribution: str) -> set[str]:
    """The normal names of what ``distribution`` requires; empty for one not installed."""
    from packaging.requirements import Requirement  # only for third-party plugins

    try:
        lines = metadata.distribution(distribution).requires or ()
    except metadata.PackageNotFoundError:
        return set()
    return {_normal(Requirement(line).name) for line in lines}


def _normal(name: str) -> str:
    """A distribution name in PEP 503's normal form (``Keras_Image-Models`` is ``keras-image-models``)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def required_kzoo(dist: metadata.Distribution | None) -> Any:
    """The ``SpecifierSet`` a plugin's distribution requires of kzoo, or None if it says nothing."""
    if dist is None or (dist_name(dist) or "").lower() == PROJECT:
        return None
    for line in dist.requires or ():
        if not line.lower().startswith(PROJECT):
            continue
        from packaging.requirements import Requirement  # only for third-party plugins

        req = Requirement(line)
        if req.name.lower() == PROJECT and not req.marker:
            return req.specifier
    return None


def is_builtin(ep: metadata.EntryPoint) -> bool:
    """True for the plugins kzoo's own distribution declares."""
    return (dist_name(getattr(ep, "dist", None)) or "").lower() == PROJECT


def load_order(ep: metadata.EntryPoint) -> tuple[bool, str]:
    """Sort key: built-ins first, then by name, so a third-party plugin never shadows a built-in."""
    return (not is_builtin(ep), ep.name)


def allow_list() -> set[str] | None:
    """KZOO_LOAD_PLUGINS: the only plugins to load (empty loads none), or None when it is unset."""
    allowed = os.environ.get("KZOO_LOAD_PLUGINS")
    return None if allowed is None else split(allowed)


def deny_list() -> set[str]:
    """KZOO_DISABLE_PLUGINS: the plugins never to load (the host blocks them in pluggy)."""
    return split(os.environ.get("KZOO_DISABLE_PLUGINS", ""))


def split(value: str) -> set[str]:
    """The names of a comma-separated list, blanks dropped."""
    return {part.strip() for part in value.split(",") if part.strip()}


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` says yes (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
