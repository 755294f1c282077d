"""Compile, fit, evaluate and predict with the defaults a model's spec declares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from .builder import ModelBuilder

DEFAULT_OPTIMIZER = "adam"


def compile_model(
    builder: ModelBuilder,
    model: keras.Model,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
    **compile_kwargs: Any,
) -> keras.Model:
    """Compile with the spec's per-output losses and metrics unless the caller gives them."""
    outputs = builder.output_specs()
    if loss is None:
        loss = _per_output({o.name: o.loss for o in outputs})
    if metrics is None:
        metrics = _per_output({o.name: list(o.metrics) for o in outputs})
    model.compile(optimizer=optimizer or DEFAULT_OPTIMIZER, loss=loss, metrics=metrics, **compile_kwargs)
    return model


def _per_output(values: dict[str, Any]) -> Any:
    """One value for a single-output model, else a dict keyed by output name."""
    return next(iter(values.values())) if len(values) == 1 else values


def unwrap(data: Any) -> Any:
    """A one-entry dict becomes its array: Sequential and single-output models want plain arrays,
    while kzoo's data is always keyed by input / output name."""
    if isinstance(data, dict) and len(data) == 1:
        return next(iter(data.values()))
    return data


def fit(builder: ModelBuilder, model: keras.Model, x: Any, y: Any = None, **fit_kwargs: Any) -> keras.callbacks.History:
    """``model.fit`` with kzoo's defaults (quiet unless ``verbose`` is given)."""
    fit_kwargs.setdefault("verbose", 0)
    return model.fit(unwrap(x), unwrap(y), **fit_kwargs)


def evaluate(builder: ModelBuilder, model: keras.Model, x: Any, y: Any = None, **kwargs: Any) -> dict[str, float]:
    kwargs.setdefault("verbose", 0)
    result = model.evaluate(unwrap(x), unwrap(y), return_dict=True, **kwargs)
    return {name: float(value) for name, value in result.items()}


def predict(builder: ModelBuilder, model: keras.Model, x: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("verbose", 0)
    result = model.predict(unwrap(x), **kwargs)
    if isinstance(result, (list, tuple)):
        return dict(zip(model.output_names, result))
    return result
