"""Checks that data can feed a model, before any training: one clear message per problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._meta.spec import BINARY_LOSSES, SPARSE_LOSSES, TensorSpec
from .._meta.tables import MAX_INTEGER_CLASSES
from ..errors import DataError, option


def check_data(
    source: str,
    x: Mapping[str, Any],
    y: Mapping[str, Any] | None,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    saved: bool = False,
    config_keys: Sequence[str] = (),
) -> None:
    """Raise :class:`kzoo.DataError` unless ``x``/``y`` match the model's inputs and outputs.
    ``saved``: the model is a saved one (its sizes are fixed; hints must not suggest --set);
    ``config_keys``: the model's config keys, the only ones a hint may suggest setting."""
    counts = {name: len(array) for name, array in {**x, **(y or {})}.items()}
    if not counts or min(counts.values()) == 0:
        raise DataError(f"{source}: no samples; expected at least one row of data.")
    if len(set(counts.values())) > 1:
        sizes = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise DataError(f"{source}: arrays hold different numbers of samples ({sizes}); expected the same count.")
    for spec in inputs:
        array = np.asarray(x[spec.name])
        _check_shape(source, "input", spec, array.shape[1:], spec.shape, saved, config_keys)
        _check_finite(source, f"input {spec.name!r}", array)
    for spec in outputs if y is not None else ():
        array = np.asarray(y[spec.name])
        _check_target(source, spec, array)


def _check_shape(source: str, kind: str, spec: TensorSpec, given: tuple[int, ...], expected: tuple[int | None, ...],
                 saved: bool = False, config_keys: Sequence[str] = ()) -> None:
    """``None`` in ``expected`` (a dimension of any size) matches any length."""
    if len(given) != len(expected) or any(e is not None and g != e for g, e in zip(given, expected)):
        hint = (" The saved model's sizes are fixed: use data shaped like its training data, or choose columns "
                f"with {option('inputs')}." if saved else _size_hint(config_keys))
        raise DataError(
            f"{source}: {kind} {spec.name!r} expects samples of shape {list(expected)}, "
            f"the data gives {list(given)}.{hint if kind == 'input' else _loss_hint(spec)}"
        )


def _size_hint(config_keys: Sequence[str]) -> str:
    """How to change an input's size: only with a config key the model has."""
    if "input_dim" in config_keys:
        return f" Set the model's input size with {option('config')} input_dim=N, or pick other columns."
    if config_keys:
        return (f" Pick other columns with {option('inputs')}, or change the model's config with {option('config')} "
                f"KEY=VALUE (its keys: {', '.join(config_keys)}).")
    return f" Pick other columns with {option('inputs')}; the model's input size is fixed."


def _loss_hint(spec: TensorSpec) -> str:
    """What a target's shape follows from: the output's loss, and what to do if it is the wrong one."""
    if spec.loss in SPARSE_LOSSES:
        return f" Its loss, {spec.loss}, takes one integer class label per sample."
    return (f" Its loss, {spec.loss}, takes values of shape {list(spec.shape)}; if the target holds class labels, "
            f"the output's loss should be sparse_categorical_crossentropy: declare it in the plugin "
            f"(@kzoo.model(loss=...)).")


def _check_finite(source: str, what: str, array: np.ndarray) -> None:
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{source}: {what} is not numeric (dtype {array.dtype}); expected numbers.")
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if count:
        rows = np.unique(np.nonzero(bad.reshape(len(array), -1))[0])
        where = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise DataError(
            f"{source}: {what} holds {count} NaN or infinite value(s), in row(s) {where} "
            f"(0-based); fill or drop them first."
        )


def _check_target(source: str, spec: TensorSpec, array: np.ndarray) -> None:
    what = f"target {spec.name!r}"
    _check_finite(source, what, array)
    if spec.loss in SPARSE_LOSSES:
        expected = spec.shape[:-1]
        labels = array.reshape(len(array), *expected) if array.ndim == 2 and array.shape[1] == 1 and not expected else array
        _check_shape(source, "target", spec, labels.shape[1:], expected)
        if not np.all(labels == np.round(labels)):
            raise DataError(f"{source}: {what} must hold integer class labels; found fractional values.")
        num_classes = spec.shape[-1]
        outside = (labels < 0) | (labels >= num_classes)
        if outside.any():
            found = sorted(set(labels[outside].astype(int).tolist()))[:5]
            raise DataError(
                f"{source}: {what} holds labels {found} outside 0..{num_classes - 1} "
                f"(num_classes={num_classes}); set {option('config')} num_classes=N to cover every label."
            )
        return
    if spec.loss in BINARY_LOSSES:
        outside = int(((array != 0) & (array != 1)).sum())
        if outside:
            raise DataError(f"{source}: {what} holds {outside} value(s) that are not 0 or 1; expected binary labels.")
    shape = array.shape[1:] if array.ndim > 1 else ()
    if shape != spec.shape and not (shape == () and spec.shape == (1,)):
        _check_shape(source, "target", spec, shape, spec.shape)


def check_class_count(table: Any, task: str | None) -> None:
    """Refuse integer labels that make far more classes than the data has rows: a stray label
    such as 1000000 among 0s and 1s would build a 1,000,001-way classifier (gigabytes) for a
    mistake. Labels are class indices 0..k-1, so the count is the largest label + 1."""
    target = table.target
    if task == "regression" or target is None or table.class_names or not target.size:
        return
    if not np.issubdtype(target.dtype, np.integer):
        return
    classes, rows = int(target.max()) + 1, table.num_samples
    distinct = len(np.unique(target))
    if task is None and distinct > MAX_INTEGER_CLASSES:
        return  # a quantity: it is learnt by regression (kzoo.datasets.preprocess.decide_task)
    if classes > rows and classes > 2 * distinct + 10:
        name = table.target_name or "target"
        raise DataError(f"{table.source}: target {name!r} holds label {classes - 1:,}, which makes {classes:,} classes "
                        f"(labels are class numbers 0..k-1) for {rows:,} rows with {distinct} distinct labels; "
                        f"number the classes 0..{distinct - 1}, or pass {option('task')} regression if it is a quantity.")
