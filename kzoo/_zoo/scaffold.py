"""``kzoo new-plugin``: write a complete, installable plugin project from kzoo's templates.

The templates live in ``kzoo/templates/plugin`` (``*.tmpl`` files, ``${name}`` placeholders;
``__package__`` in a path becomes the package name). Everything is written to a hidden sibling
folder first and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import shutil
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path
from string import Template

from .._system.files import current_umask, output_error
from .._version import __version__
from ..errors import KzooError

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
NAME_RULE = "lowercase letters and digits, separated by single '-' or '_', starting with a letter, such as kzoo-hello"


def new_plugin_names(name: str) -> dict[str, str]:
    """Every name the project :func:`new_plugin` writes for ``name`` uses, so its author knows
    what to import and list afterwards.

    The plugin (entry-point) name drops a ``kzoo`` prefix: ``kzoo-hello`` -> plugin ``hello``,
    package ``kzoo_hello``, model ``hello_mlp``.

    Args:
        name: the distribution name, such as ``kzoo-hello``.

    Returns:
        ``dist``, ``package``, ``plugin`` and ``model`` names, ``kzoo_range`` (the kzoo versions
        the project declares it supports) and ``kzoo_version``.

    Raises:
        kzoo.KzooError: ``name`` is not a valid plugin name.

    Example:
        >>> kzoo.new_plugin_names("kzoo-hello")["model"]
        'hello_mlp'
    """
    if not NAME_PATTERN.fullmatch(name or ""):
        raise KzooError(f"invalid plugin name {name!r}: use {NAME_RULE}.")
    package = name.replace("-", "_")
    plugin = package.removeprefix("kzoo_") if package != "kzoo" else package
    if package == "kzoo" or keyword.iskeyword(package):
        raise KzooError(f"invalid plugin name {name!r}: it cannot be imported as a package; use {NAME_RULE}.")
    return {
        "dist": name,
        "package": package,
        "plugin": plugin,
        "model": f"{plugin}_mlp",
        "kzoo_range": supported_range(__version__),
        "kzoo_version": __version__,
    }


def check_unshadowed(name: str) -> None:
    """Refuse a name whose distribution is installed or whose package is importable: the
    scaffold's own ``pip install -e .`` would replace it (``numpy`` -> a stub "numpy 0.1.0")."""
    names = new_plugin_names(name)
    for dist in dict.fromkeys((names["dist"], names["package"])):
        try:
            found = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            continue
        raise KzooError(f"invalid plugin name {name!r}: the distribution {found.metadata['Name']} "
                        f"{found.version} is installed, and installing the new project would replace it; "
                        f"pick another name, such as kzoo-{names['plugin']}-models.")
    package = names["package"]
    cached = sys.modules.pop(package, None)  # ask the import system, not this process's cache
    try:
        importable = package in sys.stdlib_module_names or importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        importable = True
    finally:
        if cached is not None:
            sys.modules[package] = cached
    if importable:
        raise KzooError(f"invalid plugin name {name!r}: a module called {package!r} can already be imported, and "
                        f"the new package would shadow it; pick another name, such as kzoo-{names['plugin']}-models.")


def supported_range(version: str) -> str:
    """The kzoo versions a new plugin declares: this release series (``>=0.1,<0.2``; ``>=1.2,<2``)."""
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else str(major + 1)
    return f">={major}.{minor},<{upper}"


def render(name: str, adapter: bool = False) -> dict[str, str]:
    """The project's files, relative path -> text, without writing anything. ``adapter``: the
    ``templates/adapter`` files replace the plugin template's of the same path (a model table)."""
    names = new_plugin_names(name)
    templates = resources.files("kzoo") / "templates"
    found = dict((rel, template) for template, rel in _walk(templates / "plugin", ""))
    if adapter:
        found.update((rel, template) for template, rel in _walk(templates / "adapter", ""))
    files: dict[str, str] = {}
    for rel, template in sorted(found.items()):
        # The template manifest is what `kzoo manifest` writes for the template models
        # (tests/test_scaffold.py and tests/test_adapters.py rebuild it and compare).
        path = rel.removesuffix(".tmpl").replace("__package__", names["package"])
        if path == "gitignore":
            path = ".gitignore"
        files[path] = Template(template.read_text(encoding="utf-8")).substitute(names)
    return files


def _walk(node, prefix: str):
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _walk(child, rel + "/")
        elif child.name.endswith(".tmpl"):
            yield child, rel


def new_plugin(name: str, directory: str | os.PathLike[str] | None = None, adapter: bool = False) -> Path:
    """Write the plugin project ``name`` into ``directory`` (default ``./name``); return its path.

    Refuses an invalid name, a name that would shadow an installed distribution or an importable
    module, or a folder that exists and is not empty, writing nothing. The files are written to a
    hidden sibling folder and renamed into place, so a failure leaves nothing half-written.

    Args:
        name: the distribution name, such as ``kzoo-hello`` (see :func:`new_plugin_names` for the
            package, plugin and model names it gives).
        directory: the project folder to create; it may exist if it is empty.
        adapter: an adapter project instead: a :func:`kzoo.model_table` of two keras.applications
            architectures under the prefix ``PLUGIN/``, its build functions in ``_build.py``.

    Returns:
        The project folder, resolved to an absolute path.

    Raises:
        kzoo.KzooError: an invalid or shadowing name, or a folder that is not empty.
        kzoo.OutputError: the folder cannot be written (permissions, disk space).

    Example:
        >>> path = kzoo.new_plugin("kzoo-hello", "plugins/kzoo-hello")  # doctest: +SKIP
        >>> sorted(p.name for p in path.iterdir())  # doctest: +SKIP
        ['.gitignore', 'README.md', 'kzoo_hello', 'pyproject.toml', 'tests']
    """
    check_unshadowed(name)
    files = render(name, adapter)
    target = Path(directory if directory is not None else name).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise KzooError(f"{target} already exists and is not empty; pick a new folder with --dir, or empty it.")
    try:  # a read-only or full file system is one line naming the folder, and leaves nothing
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o777 & ~current_umask())
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise output_error(target, exc) from None
        raise
    return target

