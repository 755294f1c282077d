"""``kzoo-manifest.json``: the facts only a build can tell, written once, read without keras.

A plugin package ships one manifest beside its ``__init__.py``; ``kzoo manifest PACKAGE_DIR``
writes it by building every model the package registers with its default config. At
registration kzoo fills the parts of a spec left unknown (api style, inputs, outputs,
parameter count) from it, so ``kzoo list`` stays free of the framework. An entry whose default
config no longer matches the code is ignored (shown as unknown) until the manifest is rebuilt;
the conformance kit fails on a missing or stale manifest and prints the fixing command.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pkgutil
import sys
from collections.abc import Iterable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from ._builder import ModelBuilder
from ._derive import ModelFacts
from ._files import write_text
from ._spec import ModelSpec, jsonable
from ._version import __version__
from .errors import KzooError, PluginError

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
    return replace(
        spec,
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
    changed = sorted(k for k in fresh if entry.get(k) != fresh[k])
    if changed:
        return f"{where}: {', '.join(changed)} of {builder.spec.name!r} differ from a build"
    return None


# -- writing ---------------------------------------------------------------------------------------
def package_folder(package_dir: str | os.PathLike[str]) -> Path:
    """``package_dir`` resolved, or a PluginError when it holds no ``__init__.py`` (checked before
    anything is imported or built)."""
    folder = Path(package_dir).resolve()
    if not (folder / "__init__.py").is_file():
        raise PluginError(
            f"{str(package_dir)!r} is not a Python package folder (no __init__.py); pass the folder that "
            f"holds your plugin's __init__.py, e.g. `kzoo manifest src/kzoo_tiny`."
        )
    return folder


def write(package_dir: str | os.PathLike[str], installed: Iterable[str] = ()) -> tuple[Path, list[str]]:
    """Build every model the package in ``package_dir`` registers (default config) and write its
    manifest atomically. ``installed`` names installed plugin packages (from the entry points),
    which may map another import name onto the folder. Returns the manifest's path and the names."""
    folder = package_folder(package_dir)
    builders = registered_builders(import_package(folder, installed))
    if not builders:
        raise PluginError(f"the package in {str(folder)!r} registers no models (no kzoo_register_models hook found).")
    models = {}
    for builder in builders:
        facts = builder.facts()
        models[builder.spec.name] = {"default_config": jsonable(dict(builder.spec.default_config)), **facts.to_dict()}
    text = json.dumps({"kzoo_manifest": FORMAT, "written_by": f"kzoo {__version__}", "models": models},
                      indent=1, sort_keys=False)
    path = folder / MANIFEST_NAME
    write_text(path, text + "\n")
    read.cache_clear()
    return path, list(models)


def import_package(folder: Path, installed: Iterable[str] = ()) -> str:
    """Import the package whose folder is ``folder``; returns its import name.

    The import name is the folder's name, unless one of the ``installed`` packages maps onto this
    folder (the built-ins: ``plugins/`` is installed as ``kzoo_plugins``)."""
    for name in dict.fromkeys(installed):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        locations = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
        if folder in locations:
            importlib.import_module(name)
            return name
    sys.path.insert(0, str(folder.parent))
    importlib.invalidate_caches()
    module = importlib.import_module(folder.name)
    found = Path(next(iter(module.__path__))).resolve()
    if found != folder:
        raise PluginError(f"importing {folder.name!r} found {found}, not {folder}; uninstall the other copy first.")
    return folder.name


def registered_builders(package: str) -> list[ModelBuilder]:
    """Every builder the package's ``kzoo_register_models`` hooks register (in any of its modules)."""
    root = importlib.import_module(package)
    modules = [root] + [importlib.import_module(info.name)
                        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
                        if not info.name.rpartition(".")[2].startswith("_")]
    builders: dict[str, ModelBuilder] = {}

    def register(builder: ModelBuilder, aliases: Any = ()) -> None:
        builders.setdefault(builder.spec.name, builder)

    for module in modules:
        hook = getattr(module, "kzoo_register_models", None)
        if callable(hook) and hasattr(hook, "kzoo_impl"):
            hook(register=register)
    return list(builders.values())
