"""Writing a plugin package's ``kzoo-manifest.json`` (``kzoo manifest PACKAGE_DIR``): import the
package, register its models through a plugin host as ``kzoo`` would, build each one and write
the facts the build tells. Reading the manifest is :mod:`kzoo._zoo.manifest`'s job (below the host)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pkgutil
import sys
from collections.abc import Iterable
from pathlib import Path

from .._system.files import write_text
from .._version import __version__
from ..errors import PluginError
from .builder import ModelBuilder
from .guard import describe_failure
from .manifest import FORMAT, MANIFEST_NAME, clear_cache, entry_of
from .plugins import PluginHost, discover


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
    builders = imported_builders(folder, installed)
    if not builders:
        raise PluginError(f"the package in {str(folder)!r} registers no models (no kzoo_register_models hook found).")
    models = {}
    for builder in builders:
        models[builder.spec.name] = entry_of(builder, builder.facts())
    text = json.dumps({"kzoo_manifest": FORMAT, "written_by": f"kzoo {__version__}", "models": models},
                      indent=1, sort_keys=False)
    path = folder / MANIFEST_NAME
    write_text(path, text + "\n")
    clear_cache()
    return path, list(models)


def write_manifest(package_dir: str | os.PathLike[str]) -> tuple[Path, list[str]]:
    """Build every model of the plugin package in ``package_dir`` and write its
    ``kzoo-manifest.json``: what ``kzoo manifest`` does, for a plugin's build script.

    The manifest keeps what only a build can tell (inputs, outputs, api style, parameter count),
    so listing models never imports keras. Rerun it after changing a model.

    Args:
        package_dir: the folder holding the package's ``__init__.py``.

    Returns:
        The manifest's path and the names of the models it describes.

    Raises:
        kzoo.PluginError: the folder is not a package (checked before anything is imported or
            built), or its package registers no models.

    Example:
        >>> path, names = kzoo.write_manifest("src/kzoo_tiny")  # doctest: +SKIP
    """
    package_folder(package_dir)  # a wrong folder is reported before TensorFlow starts
    installed = [ep.value.partition(":")[0].partition(".")[0] for ep in discover()]
    return write(package_dir, installed)


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
    """Every builder the package's ``kzoo_register_models`` hooks register (in any of its modules),
    registered the way ``kzoo`` loads any plugin: through a strict :class:`PluginHost`, so a broken
    hook or a duplicate name is a PluginError naming the module."""
    root = importlib.import_module(package)
    modules = [root] + [importlib.import_module(info.name)
                        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
                        if not info.name.rpartition(".")[2].startswith("_")]
    host = PluginHost(strict=True)
    for module in modules:
        hook = getattr(module, "kzoo_register_models", None)
        if callable(hook) and hasattr(hook, "kzoo_impl"):
            host.add(module, module.__name__)
    return [host.registry.get(name) for name in host.registry.names()]


def imported_builders(folder: Path, installed: Iterable[str] = ()) -> list[ModelBuilder]:
    """:func:`registered_builders` of the package in ``folder``; a package that cannot be imported
    (a syntax error, a missing dependency, an exception at import time) is one PluginError."""
    try:
        return registered_builders(import_package(folder, installed))
    except (PluginError, KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:  # the package's own code: SystemExit included
        raise PluginError(f"importing the package in {str(folder)!r} failed: {describe_failure(exc)}; fix it and "
                          f"rerun `kzoo manifest`.") from exc
