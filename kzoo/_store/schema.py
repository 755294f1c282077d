"""The schema of ``kzoo.json``, the metadata kzoo stores inside a ``.keras`` file (and its
checkpoints), checked on every load: a tampered or damaged file is one ``DataError`` naming the
key, what was found and what was expected, never a ``KeyError`` deep inside evaluate.

Unknown keys are allowed (newer kzoo versions may add some); known ones must have their type.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DataError

Check = Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_count(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _is_positive(v: Any) -> bool:
    return _is_int(v) and v >= 1


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None  # NaN is stored as null


def _is_finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _list_of(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def _dict_of(check: Check) -> Check:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x) for k, x in v.items())


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


# key -> (check, what was expected, required)
Schema = Mapping[str, tuple[Check, str, bool]]

TOP: Schema = {
    "kzoo_version": (_is_str, "a version string", False),
    "model": (lambda v: _is_str(v) and bool(v), "a model name (a non-empty string)", True),
    "plugin": (_optional(_is_str), "a plugin name (a string) or null", False),
    "config": (lambda v: isinstance(v, dict), "an object of config values", False),
    "data": (lambda v: isinstance(v, dict), "an object describing the training data", False),
    "training": (lambda v: isinstance(v, dict), "an object of training options", False),
    "epoch": (_is_count, "a whole number of finished epochs (>= 0)", False),
    "history": (_dict_of(_list_of(_is_number)), "an object of metric name -> list of numbers", False),
    "stopping": (lambda v: isinstance(v, dict), "an object with early stopping's state", False),
}
DATA: Schema = {
    "source": (_optional(_is_str), "a data source (a string)", False),
    "target": (_optional(_list_of(_is_str)), "a list of column names", False),
    "inputs": (_optional(_dict_of(_list_of(_is_str))), "an object of input name -> list of column names", False),
    "preprocess": (_optional(lambda v: isinstance(v, dict)), "an object with mean and std, or null", False),
    "class_names": (_optional(_list_of(_is_str)), "a list of class names (strings), or null", False),
    "columns": (_optional(_list_of(_is_str)), "a list of column names, or null", False),
    "target_classes": (_optional(_dict_of(_optional(_list_of(_is_str)))),
                       "an object of output name -> list of class names", False),
}
PREPROCESS: Schema = {
    "mean": (_list_of(_is_finite), "a list of finite numbers", True),
    "std": (_list_of(lambda v: _is_finite(v) and v > 0), "a list of positive finite numbers", True),
}
TRAINING: Schema = {
    "epochs": (_is_positive, "a whole number >= 1", False),
    "batch_size": (_is_positive, "a whole number >= 1", False),
    "learning_rate": (lambda v: _is_finite(v) and v > 0, "a finite number > 0", False),
    "schedule": (_is_str, "a schedule name", False),
    "val_split": (lambda v: _is_finite(v) and 0 <= v < 1, "a fraction in [0, 1)", False),
    "seed": (_is_count, "a whole number >= 0", False),
    "patience": (_is_count, "a whole number of epochs >= 0", False),
    "precision": (_is_str, "a Keras dtype policy name", False),
}
STOPPING: Schema = {
    "monitor": (_optional(_is_str), "a metric name or null", False),
    "best": (_optional(_is_finite), "a finite number or null", False),
    "best_epoch": (_is_count, "a whole number >= 0", False),
    "wait": (_is_count, "a whole number of epochs >= 0", False),
    "stopped_epoch": (_optional(_is_positive), "a whole number >= 1 or null", False),
    "best_loss": (_optional(_is_finite), "a finite number or null", False),
}


def validate(doc: Any, where: str) -> dict[str, Any]:
    """``doc`` if it matches the schema, else a DataError saying which key is wrong in ``where``."""
    if not isinstance(doc, dict):
        raise DataError(f"{where}: kzoo.json must be a JSON object; found {_kind(doc)}. The file was damaged or "
                        f"tampered with; train it again.")
    _check_integers(doc, "", where)
    _check(doc, TOP, "", where)
    data = doc.get("data") or {}
    _check(data, DATA, "data.", where)
    if data.get("preprocess"):
        _check(data["preprocess"], PREPROCESS, "data.preprocess.", where)
        mean, std = data["preprocess"]["mean"], data["preprocess"]["std"]
        if len(mean) != len(std):
            _fail(where, "data.preprocess.std", std, f"{len(mean)} values, as many as data.preprocess.mean")
        columns = data.get("columns")
        if columns is not None and len(columns) != len(mean):
            _fail(where, "data.preprocess.mean", mean, f"{len(columns)} values, one per column in data.columns")
    _check(doc.get("training") or {}, TRAINING, "training.", where)
    stopping = doc.get("stopping") or {}
    _check(stopping, STOPPING, "stopping.", where)
    for key in ("best_epoch", "stopped_epoch"):  # a resumed run restores these: they must have happened
        if "epoch" in doc and stopping.get(key) is not None and stopping[key] > doc["epoch"]:
            _fail(where, f"stopping.{key}", stopping[key], f"at most epoch={doc['epoch']}")
    history = doc.get("history") or {}
    if "epoch" in doc and any(len(v) > doc["epoch"] for v in history.values()):
        _fail(where, "history", {k: len(v) for k, v in history.items()}, f"at most epoch={doc['epoch']} values per metric")
    return doc


def _check_integers(value: Any, key: str, where: str) -> None:
    """No integer anywhere beyond 64 bits: a 4,001-digit number is a tampered file, and would
    overflow every float and array it reached."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise DataError(f"{where}: kzoo.json {key or 'document'} holds an integer of {len(str(abs(value)))} digits; "
                        f"expected numbers of at most 64 bits. The file was damaged or tampered with; train it again.")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_integers(v, f"{key}.{k}" if key else str(k), where)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_integers(v, f"{key}[{i}]", where)


def _check(doc: Mapping[str, Any], schema: Schema, prefix: str, where: str) -> None:
    for key, (check, expected, required) in schema.items():
        if key not in doc:
            if required:
                raise DataError(f"{where}: kzoo.json has no {prefix}{key!s}; expected {expected}. The file was "
                                f"damaged or tampered with; train it again.")
            continue
        if not check(doc[key]):
            _fail(where, prefix + key, doc[key], expected)


def _fail(where: str, key: str, found: Any, expected: str) -> None:
    shown = repr(found)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise DataError(f"{where}: kzoo.json {key} is {shown} ({_kind(found)}); expected {expected}. The file was "
                    f"damaged or tampered with; train it again.")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
