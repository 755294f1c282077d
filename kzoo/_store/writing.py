"""Writing a ``.keras`` file together with kzoo's metadata.

kzoo adds one entry, ``kzoo.json``, to the ``.keras`` zip: the model name, its plugin and config,
and how the training data was shaped (target, input columns, class names, scaling). ``evaluate``
and ``predict`` read it back, so a saved model needs nothing else to be used on new data.
The file is written under a temporary name and renamed: never half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._engine.strategies import write_target
from .._meta.spec import jsonable
from .._system.backend import keep_tensorflow_out
from .._system.files import atomic_output
from .._system.limits import METADATA_MAX_BYTES, format_bytes
from .._version import __version__
from .._zoo.plugins import get_host
from ..errors import ConfigError, DataError, option
from .archive import METADATA_ENTRY

if TYPE_CHECKING:  # pragma: no cover
    import keras


def model_metadata(model_name: str, config: Mapping[str, Any], plugin: str | None = None, **extra: Any) -> dict[str, Any]:
    """The ``kzoo.json`` content for a model built by kzoo: name, plugin (default: the one that
    registered ``model_name``; None for a builder used without registering it), config, ``extra``."""
    if plugin is None:
        host = get_host()
        plugin = host.registry.spec(model_name).plugin if model_name in host.registry else None

    return {
        "kzoo_version": __version__,
        "model": model_name,
        "plugin": plugin,
        "config": jsonable(dict(config)),
        **jsonable(extra),
    }


def metadata_text(metadata: Mapping[str, Any], room: int = 0) -> str:
    """``kzoo.json``'s text, refused in one line when it would exceed what
    :func:`kzoo._store.archive.read_metadata` accepts (less ``room`` bytes kept for what training
    adds): a file kzoo writes, kzoo reads."""
    text = json.dumps(jsonable(dict(metadata)), indent=1)
    if len(text) > 2**20:  # a wide table's plan: one number per line would double it
        text = json.dumps(jsonable(dict(metadata)), separators=(",", ":"))
    limit = METADATA_MAX_BYTES - room
    if len(text.encode()) > limit:
        where, part = "", jsonable(dict(metadata))
        while isinstance(part, dict) and part:  # down to the key that takes the room
            key = max(part, key=lambda k: len(json.dumps(part[k])))
            where, part = f"{where}.{key}" if where else key, part[key]
        raise DataError(f"the model's metadata (kzoo.json) would take {format_bytes(len(text.encode()))}, more than the "
                        f"{format_bytes(limit)} a model file may hold, {format_bytes(len(json.dumps(part)))} of it in "
                        f"{where!r}; use fewer classes, categories or columns.")
    return text


def save(model: keras.Model, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None,
         entries: Mapping[str, bytes] | None = None) -> str:
    """Write ``model`` (with its optimizer state) and kzoo ``metadata`` to ``path`` atomically;
    ``entries`` are extra zip members written with them (a checkpoint's best weights)."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ConfigError(f"model files must end in .keras, got {path!r}; e.g. {option('out')} model.keras.")
    keep_tensorflow_out()
    text = None if metadata is None else metadata_text(metadata)
    with atomic_output(path) as tmp, top_compile_state_only(model):
        model.save(tmp)
        if text is not None:
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(METADATA_ENTRY, text)
        if entries:
            with zipfile.ZipFile(tmp, "a") as archive:
                for name, data in entries.items():
                    archive.writestr(name, data)
    return path


@contextlib.contextmanager
def top_compile_state_only(model: keras.Model) -> Iterator[None]:
    """While saving, the models nested in ``model`` (a trained table model's network) write no
    compile state: theirs served training only (the file keeps ``model``'s own), and it may name a
    plugin's loss class, which would make the file unreadable to a plain ``keras.saving.load_model``."""
    import keras

    nested, todo = [], list(getattr(model, "layers", []))
    while todo:
        layer = todo.pop()
        if isinstance(layer, keras.Model):
            nested.append(layer)
            todo.extend(layer.layers)
    for inner in nested:
        inner.get_compile_config = _no_compile_config  # an instance attribute, shadowing the method
    try:
        yield
    finally:
        for inner in nested:
            del inner.get_compile_config


def _no_compile_config() -> None:
    return None


def save_model(model: keras.Model, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None,
               strategy: Any = None, entries: Mapping[str, bytes] | None = None) -> None:
    """:func:`save` from every process of a ``tf.distribute`` run (saving may be a collective op);
    only the chief's file lands at ``path`` (``kzoo._engine.strategies.write_target``)."""
    with write_target(path, strategy) as target:
        save(model, target, metadata, entries)
