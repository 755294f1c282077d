"""Import-free metadata of a model: what it takes, what it gives, its defaults and size.

Everything here is plain data so listing and searching never need keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

API_STYLES = ("sequential", "functional", "subclass")


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output of a model; ``shape`` excludes the batch axis.

    For outputs, ``loss`` and ``metrics`` are the defaults ``ModelBuilder.compile`` uses, and
    they also say what a target looks like (sparse categorical: integer labels; binary: 0/1;
    anything else: real values of ``shape``).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    loss: str | None = None
    metrics: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        object.__setattr__(self, "metrics", tuple(self.metrics))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.loss is not None:
            out["loss"] = self.loss
            out["metrics"] = list(self.metrics)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class ModelSpec:
    """A model's metadata card. ``params`` is its parameter count with ``default_config``;
    a test builds every registered model and checks it."""

    name: str
    description: str
    api: str | tuple[str, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    default_config: Mapping[str, Any]
    params: int
    tags: tuple[str, ...] = ()
    plugin: str | None = None  # filled in by the registry: the plugin that registered it
    paper: str | None = None
    license: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        apis = (self.api,) if isinstance(self.api, str) else tuple(self.api)
        object.__setattr__(self, "api", apis[0] if len(apis) == 1 else apis)
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "default_config", MappingProxyType(dict(self.default_config)))

    @property
    def apis(self) -> tuple[str, ...]:
        """Every api style the model can be built in; the first is the default."""
        return (self.api,) if isinstance(self.api, str) else self.api

    def with_plugin(self, plugin: str) -> ModelSpec:
        return replace(self, plugin=plugin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "api": list(self.apis),
            "tags": list(self.tags),
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "default_config": {k: _jsonable(v) for k, v in self.default_config.items()},
            "params": self.params,
            "plugin": self.plugin,
            "paper": self.paper,
            "license": self.license,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
