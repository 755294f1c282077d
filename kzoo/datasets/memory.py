"""In-memory data (``(X, y)`` arrays, a dict of columns, a pandas DataFrame) as a :class:`Table`.

Why: data handed over in memory takes the same path as a CSV file (numeric columns become
float32 features with NaN for missing cells, text columns become text, rows without a target
are left out, a text target becomes classes), so a model trained on it records the same facts
(feature names, class names) and is as self-contained as one trained on a file. pandas is
duck-typed, never imported: it is not a dependency.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import CsvNote, DataError, outside_kzoo
from .table import DEFAULT_NA_VALUES, Table, encode_labels

ACCEPTED = ("(X, y) arrays, a dict of columns with target=, a pandas DataFrame with target=, a kzoo.datasets.Table, "
            "or a path to a .csv/.npz file or a data set name")
_MISSING = frozenset(v.strip() for v in DEFAULT_NA_VALUES) | {""}
_NUMERIC_KINDS = "iufb"  # int, uint, float, bool


def table_from_memory(data: Any, target: str | None = None, source: str = "data", require_target: bool = True) -> Table:
    """A table from ``data``: a :class:`Table` (returned as is), ``(X, y)`` (X 2-D numbers,
    features ``x0, x1, ...``; target ``y``), or a dict of 1-D columns or a DataFrame with
    ``target`` naming the target column. ``source`` names the data in the table and in messages.
    Rows whose target is missing are left out, with a :class:`~kzoo.errors.CsvNote`. With
    ``require_target=False`` (prediction) a dict or DataFrame needs no target: every column is read."""
    if isinstance(data, Table):
        if target is not None:
            raise DataError(f"{source}: target={target!r} does not apply to a Table, which carries its own target "
                            f"({data.target_name!r}); pass target=None.")
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        if target is not None:
            raise DataError(f"{source}: target={target!r} does not apply to (X, y) arrays, whose target is y; "
                            f"pass target=None, or pass a dict of columns to choose the target by name.")
        table, dropped = _from_arrays(data[0], data[1], source)
    elif is_frame(data):
        table, dropped = _from_columns(frame_columns(data, source), target, source, require_target)
    elif isinstance(data, Mapping):
        table, dropped = _from_columns(data, target, source, require_target)
    else:
        raise DataError(f"{source}: cannot read {_describe(data)} as data; expected {ACCEPTED}.")
    if dropped:
        warnings.warn(f"{source}: left out {dropped} row(s) whose target {table.target_name!r} is missing.",
                      CsvNote, stacklevel=outside_kzoo())
    return table


def _describe(data: Any) -> str:
    kind = type(data)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(data, (tuple, list)):
        return f"a {name} of {len(data)} item(s)"
    if isinstance(data, np.ndarray):
        return f"a bare {name} of shape {data.shape} (pass (X, y) to give the target)"
    return f"a {name}"


def is_frame(data: Any) -> bool:
    """True for a DataFrame (pandas, or anything with ``columns`` read by label), without importing pandas."""
    return (hasattr(data, "columns") and hasattr(data, "__getitem__")
            and not isinstance(data, (Mapping, str, bytes, np.ndarray)))


def frame_columns(frame: Any, source: str) -> dict[str, np.ndarray]:
    """A DataFrame's columns as 1-D arrays keyed by name (``str`` of each label; duplicates refused)."""
    labels = list(frame.columns)
    names = [str(label) for label in labels]
    _refuse_duplicates(names, source)
    columns = {}
    for label, name in zip(labels, names):
        column = frame[label]
        columns[name] = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    return columns


def _refuse_duplicates(names: list[str], source: str) -> None:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"{source}: column name(s) {', '.join(map(repr, duplicates))} appear more than once; "
                        f"give every column its own name.")


def _from_arrays(x: Any, y: Any, source: str) -> tuple[Table, int]:
    """``(X, y)``: X a 2-D array of numbers, y one target per row."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2:
        raise DataError(f"{source}: X has shape {x.shape}, expected a 2-D array (rows x features) in (X, y); "
                        f"reshape it, e.g. X.reshape(len(X), -1).")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{source}: y has shape {y.shape}, expected one target per row (a 1-D array) in (X, y); "
                        f"for several targets pass a dict of columns.")
    if len(x) != len(y):
        raise DataError(f"{source}: X has {len(x)} row(s) but y has {len(y)} value(s); give one target per row.")
    if not len(x):
        raise DataError(f"{source}: X and y have 0 rows; expected at least one sample.")
    if not x.shape[1]:
        raise DataError(f"{source}: X has no columns (shape {x.shape}); expected at least one feature column.")
    features = _numbers(x)
    if features is None:
        cells = x.ravel().tolist()
        cell = next((v for v in cells if not _is_number(v) and not _is_missing(v)), cells[0])
        raise DataError(f"{source}: X holds a value that is not a number ({cell!r}); (X, y) takes numeric "
                        f"features only. For text columns pass a dict of columns with target=.")
    table = Table(features=features.astype("float32", copy=False),
                  feature_names=[f"x{i}" for i in range(x.shape[1])], source=source)
    return table, _set_target(table, y, "y", source)


def _from_columns(data: Mapping[Any, Any], target: str | None, source: str,
                  require_target: bool = True) -> tuple[Table, int]:
    """A dict of equally long 1-D columns, ``target`` naming one."""
    names = [str(name) for name in data]
    _refuse_duplicates(names, source)
    columns = {name: np.asarray(values) for name, values in zip(names, data.values())}
    listed = ", ".join(names) or "none"
    target = None if target is None else str(target)
    if target is None and require_target:
        raise DataError(f"{source}: say which column is the target, e.g. target={names[-1] if names else 'y'!r}; "
                        f"columns are {listed}.")
    if target is not None and target not in columns:
        raise DataError(f"{source}: no target column {target!r}; columns are {listed}. Pass target= with one of them.")
    for name, values in columns.items():
        if values.ndim != 1:
            raise DataError(f"{source}: column {name!r} has shape {values.shape}, expected a 1-D column (one value "
                            f"per row); split it into one column per feature.")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"{source}: columns have different lengths ("
                        f"{', '.join(f'{n!r} {k}' for n, k in lengths.items())}); every column needs one value per row.")
    rows = lengths[target] if target is not None else (next(iter(lengths.values())) if lengths else 0)
    if not rows:
        raise DataError(f"{source}: the columns have 0 rows; expected at least one sample.")
    feature_names, numeric, text, where = [], [], {}, {}
    for name, values in columns.items():
        if name == target:
            continue
        floats = _numbers(values)
        if floats is None:
            cells = _texts(values)
            filled = np.nonzero(cells != "")[0]
            if len(filled):
                text[name] = cells
                first = next((i for i in filled if not _reads_as_number(str(cells[i]))), filled[0])  # the culprit
                where[name] = f"row {int(first)} holds {str(cells[first])!r}"
                continue
            floats = np.full(rows, np.nan)  # nothing but missing cells: a numeric column, as in a CSV file
        feature_names.append(name)
        numeric.append(floats.astype("float32", copy=False))
    if not feature_names and not text:
        raise DataError(f"{source}: no feature columns besides the target {target!r}; expected at least one more "
                        f"column.")
    features = np.stack(numeric, axis=1) if numeric else np.empty((rows, 0), dtype="float32")
    table = Table(features=features, feature_names=feature_names, source=source, text=text, text_where=where)
    return table, (0 if target is None else _set_target(table, columns[target], target, source))


def _set_target(table: Table, values: np.ndarray, name: str, source: str) -> int:
    """Set ``table``'s target from ``values``, leaving out rows where it is missing; their count."""
    floats = None if _is_bool(values) else _numbers(values)
    if floats is not None:
        missing = np.isnan(floats)
    else:
        texts = _texts(values)
        missing = texts == ""
    dropped = int(missing.sum())
    if dropped == len(missing):
        raise DataError(f"{source}: every row's target {name!r} is missing; expected at least one labelled row.")
    if dropped:
        table.take(~missing)
    table.target_name = name
    if floats is not None:
        present = floats[~missing]
        if np.all(present == np.round(present)) and np.all(np.abs(present) < 2**31):
            table.target, table.class_names = present.astype("int32"), None
        else:
            table.target, table.class_names = present.astype("float32"), None
    else:
        table.target, table.class_names = encode_labels(texts[~missing])
    return dropped


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in _MISSING
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return type(value).__name__ in ("NAType", "NaTType")  # pandas' missing markers, without importing pandas


def _is_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating))


def _is_bool(values: np.ndarray) -> bool:
    """A column of True/False (with missing cells): classes, not numbers, when it is a target."""
    if values.dtype.kind == "b":
        return True
    if values.dtype != object:
        return False
    present = [v for v in values.ravel().tolist() if not _is_missing(v)]
    return bool(present) and all(isinstance(v, (bool, np.bool_)) for v in present)


def _numbers(values: np.ndarray) -> np.ndarray | None:
    """``values`` as float64 (missing cells NaN), or None when they are not all numbers."""
    if values.dtype.kind in _NUMERIC_KINDS:
        return values.astype("float64")
    if values.dtype != object:
        return None
    cells = values.ravel().tolist()
    if not all(_is_number(v) or _is_missing(v) for v in cells):
        return None
    return np.array([math.nan if _is_missing(v) else float(v) for v in cells], dtype="float64").reshape(values.shape)


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _texts(values: np.ndarray) -> np.ndarray:
    """``values`` as stripped strings, missing cells as ""."""
    cells = []
    for value in (list(values) if values.dtype.kind in "Mm" else values.tolist()):  # tolist: datetimes as ints
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if _is_missing(value):
            cells.append("")
        else:
            cells.append(str(value).strip())
    return np.array(cells, dtype=str)
