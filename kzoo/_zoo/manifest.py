"""``kzoo-manifest.json``: the facts only a build can tell, written once, read without keras.

A plugin package ships one manifest beside its ``__init__.py``; ``kzoo manifest PACKAGE_DIR``
writes it by building every model the package registers with its default config. At
registration kzoo fills the parts of a spec left unknown (api style, inputs, outputs,
parameter count) from it, so ``kzoo list`` stays free of the framework. An entry whose default
config no longer matches the code is ignored (shown as unknown) until the manifest is rebuilt;
the conformance kit fails on a missing or stale manifest and prints the fixing command.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from .._meta.derive import ModelFacts
from .._meta.spec import ModelSpec, jsonable, space_to_dict
from ..errors import KzooError
from .builder import ModelBuilder

MANIFEST_NAME = "kzoo-manifest.json"
FORMAT = 1


# -- reading ---------------------------------------------------------------------------------------
_package_dirs: dict[str, tuple[Any, Path | None]] = {}  # top-level name -> (module, its folder)


def package_dir_of(module: str) -> Path | None:
    """The folder of the top-level package ``module`` belongs to (None for a lone module)."""
    name = module.partition(".")[0]
    top = sys.modules.get(name)
    cached = _package_dirs.get(name)
    if cached is None or cached[0] is not top:
        paths = list(getattr(top, "__path__", []) or [])
        cached = _package_dirs[name] = (top, Path(paths[0]) if paths else None)
    return cached[1]


def builder_module(builder: ModelBuilder) -> str:
    """Where ``builder`` was written: a decorated function's module, else its class's."""
    return getattr(builder, "module", None) or type(builder).__module__


@cache
def read(package_dir: Path) -> dict[str, Any] | None:
    """The manifest's ``models`` entries by name, or None when there is none (or it is unreadable)."""
    path = package_dir / MANIFEST_NAME
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    models = data.get("models") if isinstance(data, dict) else None
    return models if isinstance(models, dict) else None


def entry_for(builder: ModelBuilder) -> dict[str, Any] | None:
    """The manifest entry of ``builder`` if its package has one that matches its default config."""
    package = package_dir_of(builder_module(builder))
    models = read(package) if package is not None else None
    entry = (models or {}).get(builder.spec.name)
    if not isinstance(entry, dict) or entry.get("default_config") != jsonable(dict(builder.spec.default_config)):
        return None
    return entry


def complete(spec: ModelSpec, builder: ModelBuilder) -> ModelSpec:
    """``spec`` with its unknown facts filled from the manifest (unchanged when there is none)."""
    if spec.is_complete:
        return spec
    entry = entry_for(builder)
    if entry is None:
        return spec
    try:
        facts = ModelFacts.from_dict(entry)
    except (KeyError, TypeError, ValueError, KzooError):
        return spec  # a damaged entry tells nothing; the kit reports it
    return spec.with_facts(
        api=spec.api if spec.api is not None else facts.api,
        inputs=spec.inputs if spec.inputs is not None else facts.inputs,
        outputs=spec.outputs if spec.outputs is not None else facts.outputs,
        params=spec.params if spec.params is not None else facts.params,
    )


def fix_command(builder: ModelBuilder) -> str:
    package = package_dir_of(builder_module(builder))
    return f"kzoo manifest {package if package is not None else '<package folder>'}"


def stale_reason(builder: ModelBuilder, facts: ModelFacts) -> str | None:
    """Why the manifest does not describe ``builder`` as built (``facts``), or None when it does."""
    package = package_dir_of(builder_module(builder))
    if package is None:
        return f"{builder_module(builder)} is a lone module; put the plugin in a package to ship a manifest"
    models = read(package)
    where = package / MANIFEST_NAME
    if models is None:
        return f"{where} is missing or unreadable"
    entry = models.get(builder.spec.name)
    if entry is None:
        return f"{where} has no entry for model {builder.spec.name!r}"
    if entry.get("default_config") != jsonable(dict(builder.spec.default_config)):
        return f"{where}: the default config of {builder.spec.name!r} changed since it was written"
    fresh = facts.to_dict()
    if "search_space" in entry:  # optional (older manifests lack it), but never stale
        fresh["search_space"] = space_to_dict(builder.spec.search_space)
    changed = sorted(k for k in fresh if entry.get(k) != fresh[k])
    if changed:
        return f"{where}: {', '.join(changed)} of {builder.spec.name!r} differ from a build"
    return None
