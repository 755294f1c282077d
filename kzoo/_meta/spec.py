"""Import-free metadata of a model: what it takes, what it gives, its defaults and size.

Everything here is plain data so listing and searching never need keras. Facts that only a built
model can tell (inputs, outputs, api style, parameter count) may be left ``None``: a declared
model (:func:`kzoo.model`) reads them from its plugin's manifest, or from a build.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..config import coerce, describe_type, format_value, parse_value
from ..errors import ConfigError, PluginError, close_matches

API_STYLES = ("sequential", "functional", "subclass")
MODEL_NAME = re.compile(r"(?:[A-Za-z][A-Za-z0-9_-]*/)?[A-Za-z][A-Za-z0-9_.-]*")
"""A model name: a letter, then letters, digits, '_', '-' or '.', optionally behind one namespace
prefix and a '/' (``kimm/resnet18``). The prefix holds no '.', so ``PREFIX/NAME.WEIGHTS`` still
reads one way, and one '/' at most, so the name is one word on a command line."""
NAME_RULE = ("letters, digits, '_', '-' or '.', starting with a letter, optionally behind a namespace "
             "prefix and '/' (letters, digits, '_' or '-'), such as 'kimm/resnet18'")
SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"})
"""Losses of an output that predicts an integer class label (its targets are class ids)."""
BINARY_LOSSES = frozenset({"binary_crossentropy", "BinaryCrossentropy", "binary_focal_crossentropy"})
"""Losses of an output that predicts 0/1 targets."""


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output of a model; ``shape`` excludes the batch axis.

    ``None`` in ``shape`` is a dimension of any size (a variable-length sequence). ``range`` is
    ``(low, high)`` for integer inputs: values lie in ``low <= v < high`` (token ids below an
    Embedding's ``input_dim``); synthetic data respects it.

    For outputs, ``loss`` and ``metrics`` are the defaults ``ModelBuilder.compile`` uses, and
    they also say what a target looks like (sparse categorical: integer labels; binary: 0/1;
    anything else: real values of ``shape``).
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    loss: str | None = None
    metrics: tuple[str, ...] = ()
    description: str = ""
    range: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _shape(self.name, self.shape))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        if self.range is not None:
            low, high = _int_pair(self.name, self.range)
            object.__setattr__(self, "range", (low, high))

    @property
    def values(self) -> int:
        """The values one sample of it holds (a dimension of any size counted as 1)."""
        return math.prod(int(d or 1) for d in self.shape)

    @property
    def is_integer(self) -> bool:
        return self.dtype.startswith(("int", "uint"))

    @property
    def is_sequence(self) -> bool:
        """An integer input of rank 1: token ids, which a text column can feed."""
        return self.is_integer and len(self.shape) == 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.loss is not None:
            out["loss"] = self.loss
            out["metrics"] = list(self.metrics)
        if self.range is not None:
            out["range"] = list(self.range)
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        """The inverse of :meth:`to_dict` (manifests store tensors this way). Specs are immutable,
        so equal entries share one checked instance: a zoo of thousands repeats a few shapes."""
        fields = (str(data["name"]), tuple(data["shape"]), str(data.get("dtype", "float32")), data.get("loss"),
                  tuple(data.get("metrics", ())), str(data.get("description", "")),
                  tuple(data["range"]) if data.get("range") is not None else None)
        try:
            return _tensor_spec(cls, fields)
        except TypeError:  # an unhashable part: check it uncached (and let __post_init__ say what is wrong)
            return _tensor_spec.__wrapped__(cls, fields)


def _shape(name: str, shape: Any) -> tuple[int | None, ...]:
    """``shape`` as a tuple of positive ints and ``None``s, or a PluginError saying what is wrong."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    ok = dims is not None and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) or _is_int_like(d) for d in dims
    )
    if not ok:
        raise PluginError(
            f"TensorSpec {name!r}: shape {shape!r} is not valid; expected a tuple of positive integers, with None "
            f"for a dimension of any size, such as (8, 8, 1) or (None,)."
        )
    return tuple(None if d is None else int(d) for d in dims)  # type: ignore[union-attr]


def _is_int_like(value: Any) -> bool:
    """numpy integers (from a manifest or a Keras shape) count as integers."""
    return hasattr(value, "__index__") and not isinstance(value, bool) and int(value) >= 1


def _int_pair(name: str, value: Any) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in value)
    except (TypeError, ValueError):
        low, high = 0, -1
    if not low < high:
        raise PluginError(f"TensorSpec {name!r}: range {value!r} is not valid; expected (low, high) integers with low < high.")
    return low, high


@dataclass(frozen=True)
class ModelSpec:
    """A model's metadata card.

    ``api``, ``inputs``, ``outputs`` and ``params`` describe the model built with
    ``default_config``. A declared model leaves them ``None`` and kzoo derives them from the
    built model (kept in the plugin's ``kzoo-manifest.json``); a hand-written spec states them and
    the conformance kit checks them against a build.
    """

    name: str
    description: str
    api: str | tuple[str, ...] | None = None
    inputs: tuple[TensorSpec, ...] | None = None
    outputs: tuple[TensorSpec, ...] | None = None
    default_config: Mapping[str, Any] = field(default_factory=dict)
    params: int | None = None
    tags: tuple[str, ...] = ()
    plugin: str | None = None  # filled in by the registry: the plugin that registered it
    paper: str | None = None
    license: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    backends: tuple[str, ...] = ()  # the Keras backends the model runs on; empty: every one
    training: Mapping[str, Any] = field(default_factory=dict)
    """The recipe the model trains best with: defaults for ``epochs``, ``batch_size``,
    ``learning_rate``, ``schedule`` and ``patience`` that a user's own values override
    (``kzoo.TrainOptions.resolved``); checked when the model is registered."""
    search_space: Mapping[str, Choice | Range] = field(default_factory=dict)
    """Where ``kzoo tune`` looks: per config key or training option, a :class:`Choice` or a
    :class:`Range`, written in :func:`search_space`'s short form; checked when registered."""

    def __post_init__(self) -> None:
        if self.api is not None:
            apis = (self.api,) if isinstance(self.api, str) else tuple(self.api)
            object.__setattr__(self, "api", apis[0] if len(apis) == 1 else apis)
        for name in ("inputs", "outputs"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "backends", (self.backends,) if isinstance(self.backends, str) else tuple(self.backends))
        object.__setattr__(self, "default_config", MappingProxyType(dict(self.default_config)))
        object.__setattr__(self, "training", MappingProxyType(dict(self.training)))
        try:
            space = search_space(self.search_space, self.name) if self.search_space else {}
        except ConfigError as exc:  # a plugin's own declaration: its loading fails, naming the plugin
            raise PluginError(f"model {exc}") from None
        object.__setattr__(self, "search_space", MappingProxyType(space))

    @property
    def apis(self) -> tuple[str, ...]:
        """Every api style the model can be built in; the first is the default (empty: unknown)."""
        if self.api is None:
            return ()
        return (self.api,) if isinstance(self.api, str) else self.api

    @property
    def is_complete(self) -> bool:
        """True when every fact a build would tell is known without building."""
        return None not in (self.api, self.inputs, self.outputs, self.params)

    def with_plugin(self, plugin: str) -> ModelSpec:
        return self.with_facts(plugin=plugin)

    def with_facts(self, **changes: Any) -> ModelSpec:
        """A copy with ``changes`` already in normal form (a plugin name, facts read from a manifest):
        ``dataclasses.replace`` without re-running ``__post_init__``, which a registry of thousands
        of models pays twice per model."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "api": list(self.apis) or None,
            "tags": list(self.tags),
            "inputs": None if self.inputs is None else [t.to_dict() for t in self.inputs],
            "outputs": None if self.outputs is None else [t.to_dict() for t in self.outputs],
            "default_config": jsonable(dict(self.default_config)),
            "params": self.params,
            "plugin": self.plugin,
            "paper": self.paper,
            "license": self.license,
            "backends": list(self.backends) or None,
            "training": jsonable(dict(self.training)) or None,
            "search_space": space_to_dict(self.search_space) or None,
        }


@dataclass(frozen=True)
class Choice:
    """A search over ``values``, tried as they are (a string is read as ``--set`` reads it, so
    ``"128,64"`` is ``(128, 64)`` for a tuple key)."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError("has no choices; list at least one value")

    def to_dict(self) -> dict[str, Any]:
        return {"choices": jsonable(list(self.values))}

    def __str__(self) -> str:
        return " | ".join(format_value(v) for v in self.values)


@dataclass(frozen=True)
class Range:
    """A search over the numbers from ``low`` to ``high`` (both included): whole numbers when both
    ends are integers, on a log scale with ``log`` (for rates and sizes that span decades)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        ends = (self.low, self.high)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in ends):
            raise ValueError("needs two finite numbers, low and high")
        if not self.low < self.high:
            raise ValueError(f"is an empty range ({format_value(self.low)} is not below {format_value(self.high)}); "
                             f"expected low < high")
        if self.log and self.low <= 0:
            raise ValueError("is on a log scale, which needs low > 0")

    @property
    def is_int(self) -> bool:
        """Whether it searches whole numbers (both ends are integers)."""
        return isinstance(self.low, int) and isinstance(self.high, int)

    @property
    def values(self) -> tuple[float, float]:
        """The two ends: what is checked against the model's config rules."""
        return self.low, self.high

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log}

    def __str__(self) -> str:
        return f"{'log ' if self.log else ''}{format_value(self.low)}..{format_value(self.high)}"


SPACE_FORMS = ("a list of choices [a, b]", "(low, high)", "('log', low, high)", "'LOW:HIGH'", "'log:LOW:HIGH'",
               "'A|B|C'")
"""How one entry of a search space may be written (:func:`search_space`)."""


def search_space(declared: Mapping[str, Any], model: str) -> dict[str, Choice | Range]:
    """A search space in its short form, as :class:`Choice` and :class:`Range` entries.

    Per key: a list is a choice (``["64", "128,64"]``), a pair a range (``(0.0, 0.5)``; whole
    numbers for two ints), ``("log", 1e-4, 1e-2)`` a log-scale range; the text ``"LOW:HIGH"``,
    ``"log:LOW:HIGH"`` or ``"A|B|C"`` (``kzoo tune --space``) and the manifest's dicts too.

    Args:
        declared: key -> entry, in any of the forms above (or :class:`Choice` / :class:`Range`).
        model: the model's name, for messages.

    Returns:
        key -> :class:`Choice` or :class:`Range`.

    Raises:
        kzoo.ConfigError: an entry in no known form, an empty range or choice, a log range from 0.

    Example:
        >>> search_space({"dropout": (0.0, 0.5), "learning_rate": ("log", 1e-4, 1e-2)}, "mlp")["dropout"]
        Range(low=0.0, high=0.5, log=False)
    """
    if not isinstance(declared, Mapping):
        raise ConfigError(f"{model}: a search space is a mapping of key to entry, not {type(declared).__name__}.")
    space: dict[str, Choice | Range] = {}
    for key, entry in declared.items():
        try:
            space[str(key)] = _entry(entry)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{model}: search space {key}={_shown(entry)} {exc}.") from None
    return space


def _entry(entry: Any) -> Choice | Range:
    if isinstance(entry, (Choice, Range)):
        return entry
    if isinstance(entry, str):
        return _text_entry(entry)
    if isinstance(entry, list):
        return Choice(tuple(entry))
    if isinstance(entry, Mapping):
        if set(entry) == {"choices"}:
            return Choice(tuple(entry["choices"]))
        if set(entry) in ({"low", "high"}, {"low", "high", "log"}):
            return Range(entry["low"], entry["high"], bool(entry.get("log", False)))
    if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == "log":
        return Range(entry[1], entry[2], log=True)
    if isinstance(entry, tuple) and len(entry) == 2:
        return Range(*entry)
    raise ValueError(f"is in no known form; write it as one of {', '.join(SPACE_FORMS)}")


def _text_entry(text: str) -> Choice | Range:
    """``"LOW:HIGH"``, ``"log:LOW:HIGH"`` or ``"A|B|C"`` (a lone value is a choice of one)."""
    if "|" in text or ":" not in text:
        return Choice(tuple(part.strip() for part in text.split("|")))
    parts = [part.strip() for part in text.split(":")]
    log = parts[0].lower() == "log"
    ends = [parse_value(part) for part in parts[1:] if log] if log else [parse_value(part) for part in parts]
    if len(ends) != 2:
        raise ValueError(f"is in no known form; write it as one of {', '.join(SPACE_FORMS)}")
    return Range(ends[0], ends[1], log=log)


def _shown(entry: Any) -> str:
    return entry if isinstance(entry, str) else repr(entry)


def fit_space(model: str, space: Mapping[str, Choice | Range], keys: Mapping[str, Any]) -> dict[str, Choice | Range]:
    """``space`` checked against ``keys`` (every searchable key and its default value: the config
    keys and the training options), each choice read as its key's type (``"128,64"`` -> ``(128, 64)``)
    and each range made of its key's kind of number; a ConfigError names the key and what it takes."""
    fitted: dict[str, Choice | Range] = {}
    for key, entry in space.items():
        if key not in keys:
            hint = close_matches(key, keys)
            raise ConfigError(f"{model}: search space key {key!r} is neither a config key nor a training option."
                              f"{f' Did you mean {hint[0]!r}?' if hint else ''} Searchable: {', '.join(sorted(keys))}.")
        default = keys[key]
        if isinstance(entry, Choice):
            fitted[key] = Choice(tuple(coerce(model, key, value, default) for value in entry.values))
        elif default is not None and (isinstance(default, bool) or not isinstance(default, (int, float))):
            raise ConfigError(f"{model}: search space {key}={entry} is a range, but {key} takes {describe_type(default)}; "
                              f"list its choices instead, such as {key}={format_value(default)}|...")
        elif isinstance(default, int) and not entry.is_int:
            raise ConfigError(f"{model}: search space {key}={entry} has fractional ends, but {key} takes an integer; "
                              f"give whole numbers, such as {key}=1:8.")
        else:
            fitted[key] = Range(float(entry.low), float(entry.high), entry.log) if isinstance(default, float) else entry
    return fitted


def space_to_dict(space: Mapping[str, Choice | Range]) -> dict[str, Any]:
    """A search space as plain JSON (manifests, ``kzoo info --json``); :func:`search_space` reads it back."""
    return {key: entry.to_dict() for key, entry in space.items()}


def jsonable(value: Any) -> Any:
    """Tuples, numpy scalars and arrays as plain JSON values (configs, metadata, manifests)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


@functools.lru_cache(maxsize=4096)
def _tensor_spec(cls: type[TensorSpec], fields: tuple[Any, ...]) -> TensorSpec:
    name, shape, dtype, loss, metrics, description, value_range = fields
    return cls(name=name, shape=shape, dtype=dtype, loss=loss, metrics=metrics, description=description,
               range=value_range)
