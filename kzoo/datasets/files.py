"""Reading the user's own files: CSV with a header, NPZ with arrays named like the model's tensors."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._meta.tables import MAX_CATEGORIES
from .._system.limits import (
    MAX_COMPRESSION_RATIO,
    check_allocation,
    format_bytes,
    max_array_bytes,
)
from ..errors import CsvNote, DataError, option, outside_kzoo
from .csvread import read_columns
from .table import DEFAULT_NA_VALUES, Table


def require_file(path: str) -> None:
    if not os.path.isfile(path):
        raise DataError(f"no data file at {path!r}; check the path (expected a .csv or .npz file, or a data set name).")


def read_csv(
    path: str,
    target: Sequence[str] = (),
    inputs: Mapping[str, Sequence[str]] | None = None,
    class_names: Sequence[str] | None = None,
    require_target: bool = True,
    features: Sequence[str] | None = None,
    target_classes: Mapping[str, Sequence[str] | None] | None = None,
    na_values: Sequence[str] = DEFAULT_NA_VALUES,
    drop: Sequence[str] = (),
    text_columns: Sequence[str] = (),
) -> Table:
    """A table from a CSV file with a header row.

    ``target`` holds column names (the main target) or ``output=column`` pairs (one target per
    output). Every other column is a numeric feature, unless ``inputs`` maps input names to
    columns or ``features`` (the columns a saved model was trained on) names them.
    ``class_names`` fixes the main target's classes, ``target_classes`` each output's (a saved
    model's). With ``require_target=False`` (prediction) target columns are ignored, not read.
    ``na_values`` are the cells that mean "missing"; ``drop`` names columns to leave out. A
    text column that is a date or a per-row identifier is left out (with a note) unless chosen.
    Rows whose target is missing are left out (with a note).
    """
    require_file(path)
    main, per_output = _parse_targets(target)
    columns = read_columns(path, wide=[c for c in [main, *per_output.values()] if c], na_values=na_values)
    header = columns.header
    unknown_drop = [c for c in drop if c not in columns]
    if unknown_drop:
        raise DataError(f"{path!r} has no column {', '.join(map(repr, unknown_drop))} to drop; columns are "
                        f"{', '.join(header)}.")

    wanted = ([main] if main else []) + list(per_output.values())
    placeholders: list[str] = []
    if not require_target:  # prediction: target columns, present or not, are not read
        placeholders = list(per_output)
        wanted, main, per_output = [c for c in wanted if c in columns], None, {}
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(
            f"{path!r} has no target column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(header)}. Pass {option('target')} with one of them."
        )
    if require_target and not wanted:
        raise DataError(f"{path!r}: say which column is the target, e.g. {option('target')} {header[-1]}.")
    mapped = [c for cols in (inputs or {}).values() for c in cols]
    if features and not mapped:  # a saved model reads the columns it was trained on, by name
        absent = [f for f in features if f not in columns]
        if absent:
            raise DataError(
                f"{path!r} lacks column(s) {', '.join(map(repr, absent[:5]))}{' ...' if len(absent) > 5 else ''} "
                f"that the model was trained on; columns are {', '.join(header)}. Rename them, or choose columns "
                f"explicitly with {option('inputs')} NAME=COLS."
            )
    feature_names = mapped or list(features or []) or [h for h in header if h not in wanted and h not in drop]
    unknown = [c for c in feature_names if c not in columns]
    if unknown:
        raise DataError(f"{path!r} has no column {', '.join(map(repr, unknown))}; columns are {', '.join(header)}.")
    if not feature_names:
        raise DataError(f"{path!r} has no feature columns besides the target.")
    # Text columns feed integer sequence inputs (tokenized later), or are reported by the shaping step.
    # ``text_columns``: a saved model's categories, read as the text in the file even when every cell
    # looks like a number ("02134" stays "02134").
    text = {name: columns.text(name) for name in feature_names if columns.is_text(name) or name in text_columns}
    feature_names = [name for name in feature_names if name not in text]
    features = (np.stack([columns.numeric(name) for name in feature_names], axis=1) if feature_names
                else np.empty((columns.num_rows, 0), dtype="float32"))

    table = Table(features=features, feature_names=feature_names, source=path, text=text,
                  text_where={name: columns.first_text_cell(name) for name in text if columns.is_text(name)})
    absent = np.zeros(columns.num_rows, dtype=bool)
    if main:
        table.target, table.class_names, empty = columns.target(main, class_names)
        table.target_name = main
        absent |= empty
    for output, col in per_output.items():
        # Each target keeps its own classes; files saved before kzoo recorded them share class_names.
        fixed = target_classes.get(output) if target_classes is not None else class_names
        values, names, empty = columns.target(col, fixed)
        absent |= empty
        table.targets[output] = values
        if names:
            table.target_classes[output] = names
            table.class_names = table.class_names or names
    for output in placeholders:  # zeros, so the model's shape_data lays out inputs as in training
        table.targets[output] = np.zeros(columns.num_rows, dtype="int32")
    if absent.any():
        what = f"target {main!r}" if main and not per_output else "target"
        if absent.all():
            raise DataError(f"{path!r}: every row's {what} is missing; expected at least one labelled row.")
        warnings.warn(f"{path!r}: left out {int(absent.sum())} row(s) whose {what} is missing ({columns.where(absent)}).",
                      CsvNote, stacklevel=outside_kzoo())
        table.take(~absent)
    if inputs:
        table.select_inputs(inputs)
    return table


DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
#: Fewer rows than this and a column of all-different values may still be a category.
MIN_ROWS_FOR_IDENTIFIER = 20


def leave_out_unusable(table: Table) -> None:
    """Drop the table's text columns that are dates or identifiers, with a note for each (the
    columns of a table whose model treats text as categories, unless the user chose columns)."""
    if table.input_columns:
        return
    unusable = unusable_columns(table.text)
    for name, reason in unusable.items():
        del table.text[name]
        table.text_where.pop(name, None)
        warnings.warn(f"{table.source!r}: column {name!r} left out: {reason}; to keep it, list it in "
                      f"{option('inputs')} NAME=COLS.", CsvNote, stacklevel=outside_kzoo())
    if not table.feature_names and not table.text:
        raise DataError(f"{table.source!r} has no usable feature columns besides the target: "
                        f"{', '.join(map(repr, unusable))} left out. List a column in {option('inputs')} NAME=COLS "
                        f"to use it anyway.")


def unusable_columns(text: Mapping[str, np.ndarray]) -> dict[str, str]:
    """Text columns no model learns from, with the reason: dates (ISO 8601 such as
    ``2012-01-01``) with more distinct days than a category holds (a few dates, such as a model
    year, stay: they are categories), and identifiers (a different value in every row)."""
    found = {}
    for name, values in text.items():
        present = [v for v in np.asarray(values).tolist() if v]
        distinct = len(set(present))
        if present and distinct >= MAX_CATEGORIES and all(DATE.match(v) for v in present):
            found[name] = f"it holds dates ({distinct} distinct, such as {present[0]!r})"
        elif len(present) >= MIN_ROWS_FOR_IDENTIFIER and len(set(present)) == len(present) == len(values):
            found[name] = f"a per-row identifier (every row differs, such as {present[0]!r})"
    return found


def _parse_targets(target: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    main: str | None = None
    per_output: dict[str, str] = {}
    for item in target:
        output, sep, column = item.partition("=")
        if sep:
            per_output[output.strip()] = column.strip()
        elif main is None:
            main = item.strip()
        else:
            raise DataError(f"{option('target')} {item!r}: one plain target column only; name the outputs as out=column.")
    return main, per_output


def read_npz(path: str, wanted: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, keyed by name (no pickled objects are loaded); only those
    named in ``wanted`` when given. Each member's declared size is checked before anything is
    allocated (see :func:`check_npz`), and the wanted arrays' sample counts, read from their
    headers, must agree before any is loaded."""
    require_file(path)
    shapes = check_npz(path)
    names = [n for n in shapes if wanted is None or n in wanted]
    counts = {n: shapes[n][0] for n in names if shapes[n]}
    if len(set(counts.values())) > 1:
        sizes = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise DataError(f"{path!r}: arrays hold different numbers of samples ({sizes}, read from their headers); "
                        f"expected the same count.")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: np.asarray(data[name]) for name in names}
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise DataError(f"could not read {path!r} as NPZ ({type(exc).__name__}: {exc}).") from exc


def split_npz(
    path: str, arrays: dict[str, np.ndarray], input_names: Sequence[str], output_names: Sequence[str],
    require_target: bool,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """NPZ arrays -> (x, y) keyed by the model's input and output names."""
    missing = [n for n in input_names if n not in arrays]
    if missing:
        held = [n for n in _npy_names(path) if n not in arrays] + list(arrays)
        raise DataError(
            f"{path!r} has no array {', '.join(map(repr, missing))}; it holds {', '.join(held) or 'nothing'}. "
            f"Name the arrays after the model's inputs ({', '.join(input_names)}) and outputs ({', '.join(output_names)})."
        )
    x = {n: arrays[n] for n in input_names}
    present = [n for n in output_names if n in arrays]
    if len(present) < len(output_names):
        if require_target:
            absent = [n for n in output_names if n not in arrays]
            raise DataError(f"{path!r} has no target array {', '.join(map(repr, absent))}; add one per model output.")
        return x, None
    return x, {n: arrays[n] for n in output_names}


def _npy_names(path: str) -> list[str]:
    """The array names an NPZ file holds (for messages; read_npz loads only the wanted ones)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile):
        return []


def check_npz(path: str) -> dict[str, tuple[int, ...]]:
    """The declared shape of each ``.npy`` member, by array name, after refusing an NPZ whose
    arrays declare more than ``KZOO_MAX_ARRAY_BYTES`` (or more than memory holds), or whose
    members compress implausibly well (a zip bomb), reading only the zip directory and each
    ``.npy`` header. Members that are not ``.npy`` arrays are never read."""
    import zipfile

    cap, total = max_array_bytes(), 0
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename
                if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                    raise DataError(f"{path!r}: array {name!r} claims {format_bytes(info.file_size)} from "
                                    f"{format_bytes(info.compress_size)} compressed, more than "
                                    f"{MAX_COMPRESSION_RATIO}:1; refusing a likely zip bomb.")
                if not name.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member)
                if dtype.hasobject:
                    raise DataError(f"{path!r}: array {name[:-4]!r} holds Python objects, which kzoo does not "
                                    f"load (they could run code); save numeric arrays.")
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if declared > cap:
                    raise DataError(f"{path!r}: array {name[:-4]!r} declares shape {list(shape)} of {dtype} "
                                    f"({format_bytes(declared)}), more than the cap of {format_bytes(cap)}; "
                                    f"raise KZOO_MAX_ARRAY_BYTES if the file is genuine.")
                if declared > info.file_size:
                    raise DataError(f"{path!r}: array {name[:-4]!r} declares {format_bytes(declared)} but its "
                                    f"member holds only {format_bytes(info.file_size)}; the file is damaged.")
                total += declared
                shapes[name[:-4]] = tuple(int(d) for d in shape)
    except (DataError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # hostile bytes: zlib, struct, header parsing... all mean "not an NPZ"
        raise DataError(f"could not read {path!r} as NPZ ({type(exc).__name__}: {exc}).") from exc
    check_allocation(total, f"the arrays of {path!r}", "use a smaller file.")
    return shapes
