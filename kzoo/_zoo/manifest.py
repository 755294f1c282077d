"""``kzoo-manifest.json``: the facts only a build can tell, written once, read without keras.

A plugin package ships one manifest beside its ``__init__.py``; ``kzoo manifest PACKAGE_DIR``
writes it by building every model the package registers with its default config. At
registration kzoo fills the parts of a spec left unknown (api style, inputs, outputs,
parameter count) from it, so ``kzoo list`` stays free of the framework. An entry whose default
config no longer matches the code is ignored (shown as unknown) until the manifest is rebuilt;
the conformance kit fails on a missing or stale manifest and prints the fixing command.

Versions: a kzoo release may add facts to an entry (``range`` of token inputs, ``search_space``),
never change what a written one means; such an addition keeps :data:`FORMAT`. A manifest an
older kzoo wrote lacks the new facts: it is *older*, not stale (its facts are read, the missing
ones are unknown, and the kit passes with a note to regenerate), while a fact it holds with
another value than a build tells is *stale* and fails. Keys a newer kzoo wrote are ignored.
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
def _document(package_dir: Path) -> dict[str, Any] | None:
    """The parsed manifest of ``package_dir``, or None when there is none (or it is unreadable)."""
    try:
        with open(package_dir / MANIFEST_NAME, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read(package_dir: Path) -> dict[str, Any] | None:
    """The manifest's ``models`` entries by name, or None when there is none (or it is unreadable)."""
    models = (_document(package_dir) or {}).get("models")
    return models if isinstance(models, dict) else None


def clear_cache() -> None:
    """Forget the manifests read so far (after one is written or edited)."""
    _document.cache_clear()


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


def entry_of(builder: ModelBuilder, facts: ModelFacts) -> dict[str, Any]:
    """The manifest entry this kzoo writes for ``builder`` built as ``facts`` say."""
    entry = {"default_config": jsonable(dict(builder.spec.default_config)), **facts.to_dict()}
    if builder.spec.search_space:  # optional: readers of older manifests skip it
        entry["search_space"] = space_to_dict(builder.spec.search_space)
    return entry


def differences(written: Any, fresh: Any, path: str = "") -> tuple[list[str], list[str]]:
    """``(stale, lacking)``: the places (``inputs[0].range``) where ``written`` holds another value
    than ``fresh``, and those it lacks. What only ``written`` holds (a newer kzoo's facts) is neither."""
    if isinstance(fresh, dict) and isinstance(written, dict):
        stale: list[str] = []
        lacking: list[str] = []
        for key, value in fresh.items():
            where = f"{path}.{key}" if path else key
            if key not in written:
                lacking.append(where)
                continue
            more = differences(written[key], value, where)
            stale += more[0]
            lacking += more[1]
        return stale, lacking
    if isinstance(fresh, list) and isinstance(written, list) and len(fresh) == len(written):
        stale, lacking = [], []
        for i, (old, new) in enumerate(zip(written, fresh)):
            more = differences(old, new, f"{path}[{i}]")
            stale += more[0]
            lacking += more[1]
        return stale, lacking
    return ([] if written == fresh else [path or "the entry"]), []


def _written(builder: ModelBuilder) -> tuple[Path | None, Any]:
    """Where the manifest of ``builder``'s package is, and its entry for it (or why there is none)."""
    package = package_dir_of(builder_module(builder))
    if package is None:
        return None, f"{builder_module(builder)} is a lone module; put the plugin in a package to ship a manifest"
    models = read(package)
    where = package / MANIFEST_NAME
    if models is None:
        return where, f"{where} is missing or unreadable"
    entry = models.get(builder.spec.name)
    if not isinstance(entry, dict):
        return where, f"{where} has no entry for model {builder.spec.name!r}"
    return where, entry


def stale_reason(builder: ModelBuilder, facts: ModelFacts) -> str | None:
    """Why the manifest does not describe ``builder`` as built (``facts``), or None when it does
    (an older manifest that lacks facts a newer kzoo writes does: :func:`older_note`)."""
    where, entry = _written(builder)
    if isinstance(entry, str):
        return entry
    if entry.get("default_config") != jsonable(dict(builder.spec.default_config)):
        return f"{where}: the default config of {builder.spec.name!r} changed since it was written"
    stale, _ = differences(entry, entry_of(builder, facts))
    if stale:
        return f"{where}: {', '.join(sorted(stale))} of {builder.spec.name!r} differ from a build"
    return None


def older_note(builder: ModelBuilder, facts: ModelFacts) -> str | None:
    """What a manifest written by an older kzoo lacks of ``builder``'s entry, as a note to
    regenerate it (None when it lacks nothing, or is missing or stale: :func:`stale_reason`)."""
    where, entry = _written(builder)
    if isinstance(entry, str):
        return None
    _, lacking = differences(entry, entry_of(builder, facts))
    if not lacking:
        return None
    by = (_document(where.parent) or {}).get("written_by", "an older kzoo")
    return (f"{where} was written by {by} and lacks {', '.join(lacking)} of {builder.spec.name!r} (unknown until "
            f"rewritten; nothing it holds is wrong); rerun `{fix_command(builder)}` to record them")
