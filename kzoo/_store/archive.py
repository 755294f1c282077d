"""A ``.keras`` zip read safely, before Keras reads it: its members' sizes capped (no zip bomb),
``kzoo.json`` read within its cap and checked against the schema, and ``config.json`` refused
when it describes a network far larger than the file's weights hold.

Keras extracts a file's members to disk and builds every layer its config names: these checks
are what keep a tampered file to one ``DataError`` instead of gigabytes of memory or disk.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any

from .._system.limits import (
    MAX_COMPRESSION_RATIO,
    METADATA_MAX_BYTES,
    check_allocation,
    format_bytes,
    max_array_bytes,
)
from ..errors import DataError, option
from .schema import validate

METADATA_ENTRY = "kzoo.json"
"""kzoo's member of a ``.keras`` zip: the model name, its plugin and config, the data's shape."""
CONFIG_ENTRY = "config.json"
"""Keras's own member of a ``.keras`` zip: the model's architecture."""
WEIGHTS_ENTRIES = ("model.weights.h5", "model.weights.npz")
CONFIG_MAX_BYTES = 64 * 2**20
# Keras extracts a .keras file's members to disk and refuses one that expands more than 100:1
# beyond 256 MiB; kzoo applies the same rule to all such members together.
SWELLING_RATIO = 100
SWELLING_TOTAL = 1 << 28
_CONV = ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")


def check_archive(path: str, archive: zipfile.ZipFile) -> None:
    """Refuse a zip whose members claim more memory than allowed, or compress implausibly well
    (a zip bomb), before anything is decompressed."""
    cap, total, swelling = max_array_bytes(), 0, 0
    for info in archive.infolist():
        total += info.file_size
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise DataError(f"{path!r}: member {info.filename!r} claims {format_bytes(info.file_size)} from "
                            f"{format_bytes(info.compress_size)} compressed, more than {MAX_COMPRESSION_RATIO}:1; "
                            f"refusing a likely zip bomb.")
        if info.file_size > SWELLING_RATIO * max(info.compress_size, 1):
            swelling += info.file_size
    if swelling > SWELLING_TOTAL:  # many members, each under Keras's own per-member floor
        raise DataError(f"{path!r}: members that expand more than {SWELLING_RATIO}:1 claim "
                        f"{format_bytes(swelling)} together, more than {format_bytes(SWELLING_TOTAL)}; Keras would "
                        f"extract them to disk. Refusing a likely zip bomb (trained weights barely compress).")
    if total > cap:
        raise DataError(f"{path!r}: its members claim {format_bytes(total)} in all, more than the cap of "
                        f"{format_bytes(cap)}; raise KZOO_MAX_ARRAY_BYTES if the file is genuine.")


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """kzoo's metadata stored in a ``.keras`` file, or None for files Keras wrote alone."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"no model file at {path!r}; check the path (expected a .keras file).")
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(path, archive)
            if METADATA_ENTRY not in archive.namelist():
                return None
            info = archive.getinfo(METADATA_ENTRY)
            if info.file_size > METADATA_MAX_BYTES:
                raise DataError(f"{path!r}: its {METADATA_ENTRY} claims {format_bytes(info.file_size)}, more than "
                                f"the {format_bytes(METADATA_MAX_BYTES)} kzoo reads; the file was tampered with.")
            with archive.open(info) as member:  # the header may lie: never read past the cap
                raw = member.read(METADATA_MAX_BYTES + 1)
            if len(raw) > METADATA_MAX_BYTES:
                raise DataError(f"{path!r}: its {METADATA_ENTRY} is larger than the "
                                f"{format_bytes(METADATA_MAX_BYTES)} kzoo reads; the file was tampered with.")
            doc = json.loads(raw)
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, EOFError, RuntimeError,
            NotImplementedError) as exc:
        raise DataError(
            f"{path!r} is not a readable .keras file ({type(exc).__name__}: {exc}); it may be corrupted "
            f"or unfinished. Expected a file written by model.save() or `kzoo train --out`."
        ) from exc
    return validate(doc, repr(path))


def read_entry(path: str | os.PathLike[str], name: str) -> bytes | None:
    """The bytes of zip member ``name`` of a ``.keras`` file (None if absent), within kzoo's caps."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(path, archive)
            if name not in archive.namelist():
                return None
            return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise DataError(f"{path!r}: cannot read its {name} ({type(exc).__name__}: {exc}); the file may be "
                        f"corrupted; use a new {option('checkpoint_dir')}.") from exc


def check_network_size(path: str) -> None:
    """Refuse a file whose ``config.json`` describes a network far larger than its weights hold
    (a tampered config naming a 100,000,000-unit Dense), from the config's text, before Keras
    builds a single layer. The count is a lower bound: Dense, Embedding and convolution kernels."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            weights = sum(archive.getinfo(n).file_size for n in WEIGHTS_ENTRIES if n in names)
            if CONFIG_ENTRY not in names or not weights:
                return
            with archive.open(CONFIG_ENTRY) as member:
                raw = member.read(CONFIG_MAX_BYTES + 1)
        if len(raw) > CONFIG_MAX_BYTES:
            raise DataError(f"{path!r}: its {CONFIG_ENTRY} is larger than {format_bytes(CONFIG_MAX_BYTES)}; the file "
                            f"was tampered with.")
        params = _least_params(json.loads(raw))
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, EOFError, RuntimeError, RecursionError):
        return  # Keras reports an unreadable config itself, in one line (see opening.load)
    if params > weights + 2**20:  # at least one byte per parameter, whatever the dtype
        raise DataError(f"{path!r}: its {CONFIG_ENTRY} describes a network of at least {params:,} parameters, but its "
                        f"weights hold only {format_bytes(weights)}; the file was tampered with or damaged. Not loaded.")
    width, layer = _widest_encoding(json.loads(raw))
    if width:  # a layer without weights can still ask for gigabytes a batch
        check_allocation(width * 4 * ROWS_PER_BATCH, f"{path!r}: its layer {layer!r}, which encodes each row into "
                         f"{width:,} values, for a batch of {ROWS_PER_BATCH} rows",
                         "the file was tampered with, or needs a machine with more memory. Not loaded.")


#: Rows kzoo predicts at once (``wrapping.predict``'s fixed batch): what an encoding's width multiplies.
ROWS_PER_BATCH = 256
#: Output modes in which a preprocessing layer writes one value per token or bin.
_WIDE_MODES = {"one_hot", "multi_hot", "count", "tf_idf"}


def _widest_encoding(doc: Any) -> tuple[int, str]:
    """The widest row a weightless encoding layer (CategoryEncoding, Hashing, a lookup in a
    one-hot mode) of a Keras config writes, and that layer's name; (0, "") for none."""
    best: tuple[int, str] = (0, "")
    if isinstance(doc, list):
        for item in doc:
            best = max(best, _widest_encoding(item))
        return best
    if not isinstance(doc, dict):
        return best
    config = doc.get("config")
    if isinstance(doc.get("class_name"), str) and isinstance(config, dict):
        width = next((config[k] for k in ("num_tokens", "num_bins", "max_tokens") if _count(config.get(k))), 0)
        mode = config.get("output_mode")
        if width and (doc["class_name"] == "CategoryEncoding" or mode in _WIDE_MODES):
            best = max(best, (width, str(config.get("name", doc["class_name"]))))
    for value in doc.values():
        if isinstance(value, (dict, list)):
            best = max(best, _widest_encoding(value))
    return best


def _least_params(doc: Any) -> int:
    """A lower bound of the parameters a Keras config describes (layers nested anywhere)."""
    total = 0
    if isinstance(doc, list):
        return sum(_least_params(item) for item in doc)
    if not isinstance(doc, dict):
        return 0
    config = doc.get("config")
    if isinstance(doc.get("class_name"), str) and isinstance(config, dict):
        shape = (doc.get("build_config") or {}).get("input_shape") if isinstance(doc.get("build_config"), dict) else None
        fan_in = shape[-1] if isinstance(shape, list) and shape and _count(shape[-1]) else 1
        kind = doc["class_name"]
        if _count(config.get("units")):
            total += config["units"] * fan_in
        elif kind == "Embedding" and _count(config.get("input_dim")) and _count(config.get("output_dim")):
            total += config["input_dim"] * config["output_dim"]
        elif kind in _CONV and _count(config.get("filters")):
            kernel = config.get("kernel_size")
            size = 1
            for k in kernel if isinstance(kernel, list) else [kernel]:
                size *= k if _count(k) else 1
            total += config["filters"] * size * fan_in
    return total + sum(_least_params(value) for value in doc.values() if isinstance(value, (dict, list)))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
