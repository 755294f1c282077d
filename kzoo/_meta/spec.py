"""Import-free metadata of a model: what it takes, what it gives, its defaults and size.

Everything here is plain data so listing and searching never need keras. Facts that only a built
model can tell (inputs, outputs, api style, parameter count) may be left ``None``: a declared
model (:func:`kzoo.model`) reads them from its plugin's manifest, or from a build.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import PluginError

API_STYLES = ("sequential", "functional", "subclass")
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
        }


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
