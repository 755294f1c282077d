"""What a table's raw columns become before a network sees them: the preprocessing plan.

A plan is learnt from the training rows only (medians, means, vocabularies) and kept as plain
JSON in the model's ``kzoo.json``. The same plan is applied twice, and the two must agree:

- here, in numpy, to the arrays the network trains on (fast: training stays on dense floats);
- by :mod:`kzoo._engine.wrapping`, as Keras layers inside the saved model, so the file maps
  the user's raw values to predictions with no kzoo code around it.

The rules (documented in docs/data.md):

- a numeric column's missing cells (NaN) take the training median; a column that had missing
  cells in training also gets a 0/1 "missing" indicator feature;
- numbers are z-scored with the training mean and standard deviation (``standardize``);
- a text column is categorical: one-hot over its :data:`MAX_CATEGORIES` - 1 most frequent
  training values; slot 0 stands for "missing, rare or never seen";
- a target with fractional values, or with more than :data:`MAX_INTEGER_CLASSES` distinct whole
  numbers, is a regression target (z-scored for training; predictions come in its own units).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._meta.tables import MAX_CATEGORIES, MAX_INTEGER_CLASSES
from ..errors import DataError, option
from .table import Table, _natural_key, as_strings

NUMERIC_INPUT = "numeric"


@dataclass
class Plan:
    """How raw columns become the network's features (all lists, so the plan is its JSON)."""

    numeric: list[str]
    median: list[float]
    mean: list[float]
    std: list[float]
    indicators: list[int]  # positions in ``numeric`` that get a missing indicator
    categorical: list[dict[str, Any]] = field(default_factory=list)  # {"column", "input", "vocabulary"}
    task: str = "classification"
    target: dict[str, float] = field(default_factory=dict)  # regression: {"mean", "std"}
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)  # net input -> {"features", "shape"}
    outputs: list[dict[str, Any]] = field(default_factory=list)  # the network's output specs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded features, in the order :func:`encode` lays them out."""
        names = list(self.numeric) + [f"{self.numeric[i]} missing" for i in self.indicators]
        for cat in self.categorical:
            names += [f"{cat['column']}=(other)"] + [f"{cat['column']}={v}" for v in cat["vocabulary"]]
        return names

    def columns_of(self, column: str) -> list[str]:
        """The encoded features raw ``column`` becomes (itself; its indicator; its categories)."""
        return [n for n in self.feature_names if n == column or n == f"{column} missing" or n.startswith(f"{column}=")]

    def scaling(self) -> tuple[list[float], list[float]]:
        """``(scale, offset)`` such that ``x * scale + offset`` is the z-score of ``x``."""
        std = np.asarray(self.std, "float64")
        return _floats(1.0 / std), _floats(-np.asarray(self.mean, "float64") / std)

    @property
    def raw_columns(self) -> list[str]:
        return list(self.numeric) + [cat["column"] for cat in self.categorical]


def fit_plan(table: Table, rows: np.ndarray | None, standardize: bool, categorical: Sequence[str]) -> Plan:
    """A plan learnt from ``rows`` of ``table`` (None: every row): its numeric features and
    the text columns named in ``categorical``."""
    numeric = np.asarray(table.features, dtype="float32")
    fit = numeric if rows is None else numeric[rows]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": an all-missing column gets 0
        median = np.nan_to_num(np.nanmedian(fit, axis=0), nan=0.0) if fit.size else np.zeros(fit.shape[1])
    filled = np.where(np.isnan(fit), median, fit)
    if standardize and len(filled):
        mean, std = filled.mean(axis=0), filled.std(axis=0)
        std[~(std > 0)] = 1.0
    else:
        mean, std = np.zeros(fit.shape[1]), np.ones(fit.shape[1])
    indicators = [int(i) for i in np.nonzero(np.isnan(fit).any(axis=0))[0]]
    taken = set()
    cats = []
    for column in categorical:
        values = np.asarray(table.text[column])
        counts = Counter((values if rows is None else values[rows]).tolist())
        counts.pop("", None)
        kept = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], _natural_key(kv[0])))][: MAX_CATEGORIES - 1]
        cats.append({"column": column, "input": input_key(column, taken), "vocabulary": sorted(kept, key=_natural_key)})
    return Plan(numeric=list(table.feature_names), median=_floats(median), mean=_floats(mean), std=_floats(std),
                indicators=indicators, categorical=cats)


def encode(plan: Plan, numeric: np.ndarray, categorical: Mapping[str, np.ndarray]) -> np.ndarray:
    """Raw rows -> the network's features, exactly as the saved model's layers compute them."""
    numeric = np.asarray(numeric, dtype="float32").reshape(len(numeric), len(plan.numeric))
    missing = np.isnan(numeric)
    filled = np.where(missing, np.asarray(plan.median, "float32"), numeric)
    scale, offset = plan.scaling()
    parts = [filled * np.asarray(scale, "float32") + np.asarray(offset, "float32"),
             missing[:, plan.indicators].astype("float32")]
    for cat, index in zip(plan.categorical, lookup(plan, categorical).values()):
        parts.append(np.eye(len(cat["vocabulary"]) + 1, dtype="float32")[index[:, 0]])
    return np.concatenate(parts, axis=1).astype("float32")


def lookup(plan: Plan, categorical: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each categorical column's values as vocabulary indices, shape (n, 1): what Keras's
    ``StringLookup`` gives (0 for a missing, rare or unseen value), keyed by the model input."""
    out = {}
    for cat in plan.categorical:
        index = {v: i for i, v in enumerate(cat["vocabulary"], start=1)}
        values = np.asarray(categorical[cat["column"]]).reshape(-1)
        out[cat["input"]] = np.array([index.get(str(v), 0) for v in values], dtype="int32").reshape(-1, 1)
    return out


def decide_task(table: Table, asked: str | None) -> tuple[str, str | None]:
    """``(task, note)`` for the table's main target: the user's ``--task``, else the rule in
    this module's docstring. The note says what was decided when it is regression."""
    target, name = table.target, table.target_name or "target"
    if target is None:
        return asked or "classification", None
    numeric = table.class_names is None and np.issubdtype(target.dtype, np.number)
    whole = numeric and bool(np.all(target == np.round(target)))
    distinct = len(np.unique(target))
    if asked == "regression":
        if not numeric:
            raise DataError(f"{table.source}: target {name!r} holds text ({', '.join(map(repr, table.class_names[:3]))} ...), "
                            f"which a regression cannot predict; use {option('task')} classification.")
        return "regression", None
    if asked == "classification":
        if numeric and not whole:
            raise DataError(f"{table.source}: target {name!r} holds fractional values (such as "
                            f"{float(target[target != np.round(target)][0])!r}), which are not class labels; "
                            f"leave out {option('task')} classification to train a regressor.")
        return "classification", None
    if numeric and (not whole or distinct > MAX_INTEGER_CLASSES):
        why = "fractional values" if not whole else f"{distinct} distinct values"
        return "regression", (f"target {name!r}: regression ({why}); use {option('task')} classification "
                              f"to override.")
    return "classification", None


def input_key(column: str, taken: set[str]) -> str:
    """A Keras input name for ``column``: letters, digits and underscores, unique in ``taken``."""
    key = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_") or "column"
    if not key[0].isalpha():
        key = f"c_{key}"
    base, n = key, 2
    while key in taken or key == NUMERIC_INPUT:
        key, n = f"{base}_{n}", n + 1
    taken.add(key)
    return key


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype="float64")]


def examples(plan: Plan, numeric: np.ndarray, categorical: Mapping[str, np.ndarray], rows: np.ndarray | None,
             count: int = 8) -> dict[str, Any]:
    """A few raw training rows as JSON (NaN as null): what exports are checked on, and what a
    reader of ``kzoo.json`` sees the model's inputs look like."""
    chosen = (np.arange(len(numeric)) if rows is None else np.asarray(rows))[:count]
    values = np.asarray(numeric, dtype="float64")[chosen]
    return {"numeric": [[None if np.isnan(v) else float(v) for v in row] for row in values],
            "categorical": {cat["column"]: [str(v) for v in np.asarray(categorical[cat["column"]])[chosen]]
                            for cat in plan.categorical}}


def from_examples(plan: Plan, recorded: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The ``(numeric, categorical)`` raw arrays of :func:`examples`' JSON."""
    rows = recorded.get("numeric") or []
    numeric = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype="float32")
    numeric = numeric.reshape(len(rows), len(plan.numeric))
    return numeric, {k: as_strings(v) for k, v in (recorded.get("categorical") or {}).items()}
