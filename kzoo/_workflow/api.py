"""The functions a user calls: list, look up and build models from every loaded plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._meta.spec import ModelSpec
from .._weights import lookup, pretrained
from .._zoo.builder import ModelBuilder
from .._zoo.guard import build_checked
from .._zoo.plugins import get_host
from .._zoo.registry import Registry, on_registry
from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import keras


list_models = on_registry(Registry.names, lambda: get_host().registry, "list_models")


def get(name: str) -> ModelBuilder:
    """The builder registered as ``name``: the uniform build / compile / train / evaluate / predict
    interface of one model, looked up without importing keras.

    Args:
        name: a registered model name (``kzoo.list_models()``), or a deprecated alias of one.

    Returns:
        The model's :class:`kzoo.ModelBuilder`.

    Raises:
        kzoo.UnknownModelError: no model has that name (a ``KeyError``; it suggests close names).

    Example::

        builder = kzoo.get("two_input_mlp")
        model = builder.compile(builder.build())
    """
    return get_host().registry.get(name)


def get_spec(name: str) -> ModelSpec:
    """The metadata of model ``name`` (inputs, outputs, parameter count, api), without importing keras.

    Args:
        name: a registered model name.

    Returns:
        Its :class:`kzoo.ModelSpec`; facts only a build tells are read from the plugin's manifest.

    Raises:
        kzoo.UnknownModelError: no model has that name.

    Example::

        spec = kzoo.get_spec("mlp")
        print(spec.params, [tensor.name for tensor in spec.inputs or ()])
    """
    return get(name).spec


def build(name: str, weights: str | None = None, head: bool = True, **config: Any) -> keras.Model:
    """A plain, uncompiled ``keras.Model``: ``kzoo.get(name).build(**config)``, or with
    ``weights`` (``build("mlp", weights="iris")``, or the full name ``build("mlp.iris")``) the
    model built with the weights' config and the verified trained weights loaded.

    Args:
        name: a model name, or a weights name ``MODEL.WEIGHTS`` (parsed once, here).
        weights: registered weights of that model (``kzoo.list_weights(name)``); None builds fresh.
        head: False builds the model's backbone alone (its feature extractor), for models that
            declare one; not with weights.
        config: build values over the model's defaults (``hidden_units=(64, 32)``), checked
            against its declared config.

    Returns:
        An uncompiled ``keras.Model``; compile it with ``kzoo.get(name).compile(model)``.

    Raises:
        kzoo.UnknownModelError: no such model; kzoo.UnknownWeightsError: no such weights;
        kzoo.ConfigError: a bad config value, or ``head=False`` with weights.

    Example::

        model = kzoo.build("mlp", input_dim=4, num_classes=3)
        trained = kzoo.build("mlp.iris")   # the registered iris weights, verified and loaded
    """
    model, named = lookup.split_name(name)  # the one parse: a model name, or a weights name and its model
    if not head and (weights is not None or named is not None):
        raise ConfigError("head=False builds a fresh backbone; load weights into it through fine-tuning "
                          "(`kzoo train MODEL --weights NAME`), or build the whole model with its weights.")
    if named is not None:
        if weights not in (None, named):
            raise ConfigError(f"{name!r} already names weights {named!r}; drop weights={weights!r}.")
        weights = named
    if model not in get_host().registry:
        raise lookup.unknown(name)
    if weights is not None:
        return pretrained.build(weights, model, **config)
    builder = get(model)
    return build_checked(builder, builder.config(**config), backbone=not head)
