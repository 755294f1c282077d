"""A generic feature table: the common form of every data source before it is shaped for a model.

Data sets and CSV files give a table (numeric features, targets, class names); a model builder's
``shape_data`` turns it into the model's named inputs and outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._meta.tables import DEFAULT_NA_VALUES  # noqa: F401  (re-exported: readers take it from here)
from ..errors import DataError


@dataclass
class Table:
    """Samples as rows. ``target`` holds the main target (integer class labels or real values);
    ``targets`` holds extra per-output targets keyed by output name (CSV ``--target out=col``);
    ``input_columns`` maps an input name to feature columns when the user chose them.
    ``text`` holds CSV columns of text by name (they feed integer sequence inputs, tokenized);
    ``paths`` names the file of each sample read from an image folder."""

    features: np.ndarray
    feature_names: list[str]
    target: np.ndarray | None = None
    target_name: str | None = None
    class_names: list[str] | None = None
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    input_columns: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""
    target_classes: dict[str, list[str]] = field(default_factory=dict)  # per-output text targets' classes
    text: dict[str, np.ndarray] = field(default_factory=dict)
    text_where: dict[str, str] = field(default_factory=dict)  # a text column's first non-number, for messages
    paths: list[str] | None = None

    def __post_init__(self) -> None:
        self.text = {name: _text_array(name, values, self.source) for name, values in self.text.items()}

    @property
    def num_samples(self) -> int:
        return int(self.features.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def num_classes(self) -> int | None:
        """Class count of a classification target (class names, else largest label + 1)."""
        if self.class_names:
            return len(self.class_names)
        if self.target is not None and np.issubdtype(self.target.dtype, np.integer) and self.target.size:
            return int(self.target.max()) + 1
        return None

    def take(self, rows: np.ndarray) -> Table:
        """This table with only ``rows`` (indices or a boolean mask) of every per-sample array."""
        self.features = self.features[rows]
        if self.target is not None:
            self.target = self.target[rows]
        self.targets = {k: v[rows] for k, v in self.targets.items()}
        self.text = {k: v[rows] for k, v in self.text.items()}
        if self.paths is not None:
            self.paths = [self.paths[i] for i in _as_index(rows)]
        return self

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """The feature columns ``names``, in that order."""
        index = {name: i for i, name in enumerate(self.feature_names)}
        missing = [n for n in names if n not in index]
        texts = [n for n in missing if n in self.text]
        if texts:  # there, but a cell is not a number (a numeric column when the model was trained)
            name = texts[0]
            sample = next((str(v) for v in self.text[name] if str(v).strip()), "")
            where = self.text_where.get(name) or f"it holds text such as {sample[:40]!r}"
            raise DataError(f"{self.source or 'data'}: column {name!r} is not numeric ({where}), but the model "
                            f"reads it as numbers; correct that cell, or leave it empty for a missing value.")
        if missing:
            raise DataError(
                f"{self.source or 'data'}: no feature column {', '.join(map(repr, missing))}; "
                f"columns are {', '.join(self.feature_names)}."
            )
        return self.features[:, [index[n] for n in names]]

    def select_inputs(self, mapping: Mapping[str, Sequence[str]]) -> Table:
        """This table with ``input_columns`` set, features restricted to the mapped columns."""
        self.columns([c for cols in mapping.values() for c in cols if c not in self.text])  # raises on unknown columns
        self.input_columns = {name: list(cols) for name, cols in mapping.items()}
        return self


def as_strings(values: Any) -> np.ndarray:
    """Cells as an object array of ``str``: one reference a row, where numpy's str dtype pads every
    cell to the longest (one 131,000-character cell made a 3,000-row column 1.5 GB)."""
    array = np.asarray(values, dtype=object)
    if not all(type(v) is str for v in array.flat):
        array = np.array([v if isinstance(v, str) else str(v) for v in array.flat], dtype=object).reshape(array.shape)
    return array


def _as_index(rows: np.ndarray) -> list[int]:
    rows = np.asarray(rows)
    return np.nonzero(rows)[0].tolist() if rows.dtype == bool else rows.tolist()


def encode_labels(values: np.ndarray, class_names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """String or integer class values -> integer labels and the class names, in sorted order
    unless ``class_names`` (from a saved model) fixes them."""
    strings = np.asarray(values).astype(str)
    names = list(class_names) if class_names else sorted(set(strings.tolist()), key=_natural_key)
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(strings.tolist()) - set(index))
    if unknown:
        raise DataError(
            f"labels {', '.join(map(repr, unknown[:5]))} are not among the model's classes "
            f"({', '.join(names)}); evaluate on data with the same classes the model was trained on."
        )
    return np.array([index[s] for s in strings], dtype="int32"), names


def _natural_key(text: str) -> tuple:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _text_array(name: str, values: Any, source: str) -> np.ndarray:
    """A text column as an object array of str (:func:`as_strings`): a list, a str array or an
    object array of str is taken (a data set's loader builds them naturally), anything else
    refused by name rather than ignored."""
    array = np.asarray(values)
    if array.dtype.kind == "U":
        return as_strings(array)
    if array.dtype.kind == "S":
        return array
    if array.dtype.kind == "O":
        bad = next((v for v in array.ravel() if not isinstance(v, str)), None)
        if bad is None:
            return array  # kept as objects: a str array pads every cell to the longest
        raise DataError(f"{source or 'the table'}: text column {name!r} holds {type(bad).__name__} value {bad!r}; "
                        f"text columns hold strings (use '' for a missing text).")
    raise DataError(f"{source or 'the table'}: text column {name!r} holds {array.dtype} values, not strings; "
                    f"put numbers in the features, and strings in text.")
