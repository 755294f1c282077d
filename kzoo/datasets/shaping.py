"""Turning a feature table into a model's named inputs and outputs (the default rule)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .._meta.spec import TensorSpec
from ..errors import DataError, option

if TYPE_CHECKING:  # pragma: no cover - numpy loads with the data, not with ModelBuilder
    import numpy as np

    from .table import Table


def default_shape(
    inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], table: Table
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The user's column mapping, else feature columns in order split by input size; targets by output."""
    return shape_inputs(inputs, table), shape_targets(outputs, table)


def shape_inputs(inputs: Sequence[TensorSpec], table: Table) -> dict[str, np.ndarray]:
    """Each input's samples: text columns for integer sequence inputs (as strings, tokenized
    later by :mod:`kzoo.datasets.text`), else feature columns, reshaped to the input's shape."""
    text = text_assignments(inputs, table)
    numeric = [t for t in inputs if t.name not in text]
    out: dict[str, np.ndarray] = {name: table.text[column] for name, column in text.items()}
    if table.input_columns:
        _check_known(table, "input", table.input_columns, inputs)
        missing = [t.name for t in numeric if t.name not in table.input_columns]
        if missing:
            raise DataError(
                f"{table.source}: map columns to input {', '.join(map(repr, missing))} too, "
                f"e.g. {option('inputs')} {missing[0]}=col_a,col_b."
            )
        return {**out, **{t.name: fit_to_input(table.columns(table.input_columns[t.name]), t, table.source)
                          for t in numeric}}
    if not numeric:
        return out
    sizes = [math.prod(d or 0 for d in t.shape) for t in numeric]
    if len(numeric) > 1 and sum(sizes) != table.num_features:
        expected = ", ".join(f"{t.name} {list(t.shape)}" for t in numeric)
        raise DataError(
            f"{table.source}: {table.num_features} feature columns cannot be split into the inputs "
            f"{expected} (total {sum(sizes)}); map columns with {option('inputs')} NAME=COLS, or train with other sizes via {option('config')}."
        )
    if len(numeric) == 1:
        return {**out, numeric[0].name: fit_to_input(table.features, numeric[0], table.source)}
    start = 0
    for spec, size in zip(numeric, sizes):
        out[spec.name] = fit_to_input(table.features[:, start : start + size], spec, table.source)
        start += size
    return out


def fit_to_input(array: np.ndarray, spec: TensorSpec, source: str) -> np.ndarray:
    """Flat rows reshaped to ``spec.shape`` when the sizes agree (64 pixels -> (8, 8, 1); 20
    columns -> (20, 1) for a sequence input ``(None, 1)``), and cast to an integer input's dtype; anything else is left for the data checks to report."""
    import numpy as np

    array = np.asarray(array)
    shape = tuple(spec.shape)
    if None not in shape and array.ndim >= 2 and array.shape[1:] != shape and math.prod(array.shape[1:]) == math.prod(shape):
        array = array.reshape(len(array), *shape)
    elif shape.count(None) == 1 and array.ndim == 2 and len(shape) > 1:
        # A sequence of any length, (None, 1) or (None, channels): a row of T*channels values is T steps.
        step = math.prod(d for d in shape if d is not None)
        if array.shape[1] % step == 0:
            array = array.reshape(len(array), *(array.shape[1] // step if d is None else d for d in shape))
    if spec.is_integer and np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if finite.all() and np.array_equal(array, np.round(array)):
            array = array.astype(spec.dtype)
    return array


def text_assignments(inputs: Sequence[TensorSpec], table: Table) -> dict[str, str]:
    """Which text column feeds which integer sequence input: the user's ``--input NAME=COLUMN``,
    else the table's one text column feeds the model's one sequence input. A text column left
    over is an error naming it."""
    chosen = {name: cols[0] for name, cols in table.input_columns.items() if len(cols) == 1 and cols[0] in table.text}
    sequences = [t for t in inputs if t.is_sequence]
    if not chosen:  # a text column named as a sequence input feeds it
        chosen = {t.name: t.name for t in sequences if t.name in table.text}
    if not chosen and len(table.text) == 1 and len(sequences) == 1:
        chosen = {sequences[0].name: next(iter(table.text))}
    by_name = {t.name: t for t in inputs}
    for name, column in chosen.items():
        spec = by_name.get(name)
        if spec is not None and not spec.is_sequence:
            raise DataError(
                f"{table.source}: column {column!r} holds text, but input {name!r} takes {spec.dtype} values of shape "
                f"{list(spec.shape)}; text feeds integer sequence inputs (shape (length,), int32, as an Embedding takes)."
            )
    unused = [c for c in table.text if c not in chosen.values()]
    free = [t.name for t in sequences if t.name not in chosen]
    if len(unused) > 1 and free:  # several text columns for the model's sequence inputs: which is the text?
        longest = max(unused, key=lambda c: _mean_length(table.text[c]))
        others = [c for c in unused if c != longest]
        raise DataError(f"{table.source!r}: columns {', '.join(map(repr, unused))} hold text, and the model has "
                        f"{len(free)} integer sequence input(s) left to feed ({', '.join(free)}); choose with "
                        f"{option('inputs')} {free[0]}={longest} (the longest text here) and leave the others out "
                        f"({option('drop')} {','.join(others)}), or map each input to its column.")
    if unused:
        column = unused[0]
        sample = next((str(v) for v in table.text[column] if str(v).strip()), "")
        predicting = table.target is None and not table.targets  # a target cannot be chosen now
        fed = ", ".join(f"{name}={col}" for name, col in chosen.items())
        hint = (f"map it with {option('inputs')} {free[0]}={column}" if free else
                f"the model's sequence inputs are fed ({fed}); drop it with {option('drop')} {column}"
                if sequences and not predicting else
                f"the model's sequence inputs are fed ({fed}); remove the column from the data" if sequences else
                "the model has no integer sequence input to tokenize it for; remove the column from the data"
                if predicting else
                f"the model has no integer sequence input to tokenize it for; drop the column or make it the {option('target')}")
        where = table.text_where.get(column) or f"it holds text such as {sample[:40]!r}"
        raise DataError(f"{table.source!r}: column {column!r} is not numeric ({where}); {hint}.")
    return chosen


def _mean_length(values: Any) -> float:
    """The mean length of a text column's cells: a review is longer than its title or its product code."""
    cells = [str(v) for v in values]
    return sum(map(len, cells)) / max(len(cells), 1)


def shape_targets(outputs: Sequence[TensorSpec], table: Table) -> dict[str, np.ndarray] | None:
    if table.targets:
        _check_known(table, "output", table.targets, outputs)
        y = dict(table.targets)
        if table.target is not None and len(outputs) == 1:
            y.setdefault(outputs[0].name, table.target)
        missing = [o.name for o in outputs if o.name not in y]
        if missing:
            raise DataError(f"{table.source}: give a target for output {', '.join(map(repr, missing))} too ({option('target')} out=column).")
        return y
    if table.target is None:
        return None
    if len(outputs) != 1:
        names = ", ".join(o.name for o in outputs)
        raise DataError(
            f"{table.source}: the model has outputs {names}; give one target per output, "
            f"e.g. {option('target')} {outputs[0].name}=column."
        )
    return {outputs[0].name: table.target}


def _check_known(table: Table, kind: str, names: Iterable[str], specs: Sequence[TensorSpec]) -> None:
    """Raise unless every name the user mapped is one of the model's inputs or outputs."""
    unknown = [n for n in names if n not in {t.name for t in specs}]
    if unknown:
        raise DataError(
            f"{table.source}: the model has no {kind} {', '.join(map(repr, unknown))}; "
            f"its {kind}s are {', '.join(t.name for t in specs)}."
        )
