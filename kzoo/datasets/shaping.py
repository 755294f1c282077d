"""Turning a feature table into a model's named inputs and outputs (the default rule)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import DataError
from ..spec import TensorSpec
from .table import Table


def default_shape(
    inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], table: Table
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The user's column mapping, else feature columns in order split by input size; targets by output."""
    return shape_inputs(inputs, table), shape_targets(outputs, table)


def shape_inputs(inputs: Sequence[TensorSpec], table: Table) -> dict[str, np.ndarray]:
    if table.input_columns:
        _check_known(table, "input", table.input_columns, inputs)
        missing = [t.name for t in inputs if t.name not in table.input_columns]
        if missing:
            raise DataError(
                f"{table.source}: map columns to input {', '.join(map(repr, missing))} too, "
                f"e.g. --input {missing[0]}=col_a,col_b."
            )
        return {t.name: table.columns(table.input_columns[t.name]) for t in inputs}
    sizes = [math.prod(t.shape) for t in inputs]
    if len(inputs) > 1 and sum(sizes) != table.num_features:
        expected = ", ".join(f"{t.name} {list(t.shape)}" for t in inputs)
        raise DataError(
            f"{table.source}: {table.num_features} feature columns cannot be split into the inputs "
            f"{expected} (total {sum(sizes)}); map columns with --input NAME=COLS, or train with other sizes via --set."
        )
    if len(inputs) == 1:
        return {inputs[0].name: table.features}
    out, start = {}, 0
    for spec, size in zip(inputs, sizes):
        out[spec.name] = table.features[:, start : start + size].reshape(-1, *spec.shape)
        start += size
    return out


def shape_targets(outputs: Sequence[TensorSpec], table: Table) -> dict[str, np.ndarray] | None:
    if table.targets:
        _check_known(table, "output", table.targets, outputs)
        y = dict(table.targets)
        if table.target is not None and len(outputs) == 1:
            y.setdefault(outputs[0].name, table.target)
        missing = [o.name for o in outputs if o.name not in y]
        if missing:
            raise DataError(f"{table.source}: give a target for output {', '.join(map(repr, missing))} too (--target out=column).")
        return y
    if table.target is None:
        return None
    if len(outputs) != 1:
        names = ", ".join(o.name for o in outputs)
        raise DataError(
            f"{table.source}: the model has outputs {names}; give one target per output, "
            f"e.g. --target {outputs[0].name}=column."
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
