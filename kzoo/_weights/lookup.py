"""Looking up the trained weights plugins publish: by full name (``mlp.iris``), or per model.

No keras here: ``kzoo weights`` and ``kzoo.get("mlp").weights`` only read the cards.
"""

from __future__ import annotations

from .._meta.weights_card import Weights
from .._zoo.plugins import get_host
from .._zoo.registry import natural_key
from ..errors import UnknownModelError, UnknownWeightsError, WeightsError


def all_weights() -> dict[str, Weights]:
    """Every registered set of weights, by full name, without importing keras: also those whose
    model no loaded plugin registers, which :func:`get_weights` refuses.

    Returns:
        ``{"mlp.iris": Weights(...), ...}``: each card by its full name.

    Example:
        >>> kzoo.all_weights()["mlp.iris"].dataset
        'iris'
    """
    return get_host().weights()


def list_weights(model: str | None = None) -> list[str]:
    """Sorted full names of the registered weights (only ``model``'s, if given); no keras import.

    Args:
        model: a model name such as ``"mlp"``; None lists the weights of every model. A name
            without weights gives ``[]``, not an error.

    Returns:
        Full names (``MODEL.NAME``) in natural order, so ``resnet50`` comes before ``resnet101``.

    Example:
        >>> kzoo.list_weights("mlp")
        ['mlp.digits', 'mlp.iris']
    """
    return sorted((n for n, w in all_weights().items() if model is None or w.model == model), key=natural_key)


def weights_for(model: str) -> dict[str, Weights]:
    """``{"iris": Weights(...)}``: the weights registered for model ``model``, by short name."""
    return get_host().weights_for(model)


def get_weights(name: str | Weights, model: str | None = None) -> Weights:
    """The weights called ``name``: a full name (``mlp.iris``) or, with ``model``, a short one
    (``iris``). Only the card is read: nothing is downloaded and keras is not imported.

    Args:
        name: a full or short weights name, or a :class:`~kzoo.Weights` card (checked, then
            returned as it is).
        model: the model the weights must be for; lets ``name`` be short.

    Returns:
        The :class:`~kzoo.Weights` card.

    Raises:
        kzoo.UnknownWeightsError: no weights are called ``name``, with did-you-mean suggestions.
        kzoo.WeightsError: the weights are for another model than ``model``, or no loaded plugin
            registers their model.

    Example:
        >>> kzoo.get_weights("iris", model="mlp").full_name
        'mlp.iris'
    """
    found = all_weights()
    if isinstance(name, Weights):
        weights = name
    elif name in found:
        weights = found[name]
    elif model is not None and f"{model}.{name}" in found:
        weights = found[f"{model}.{name}"]
    else:
        known = list(found) + ([w.name for w in weights_for(model).values()] if model else [])
        raise UnknownWeightsError(name, known)
    if model is not None and weights.model != model:
        raise WeightsError(f"weights {weights.full_name!r} are for model {weights.model!r}, not {model!r}; "
                           f"pick one of {list_weights(model) or 'none (no weights for it)'} or train from scratch.")
    registry = get_host().registry
    if weights.model not in registry:
        raise WeightsError(f"weights {weights.full_name!r} (plugin {weights.plugin!r}) are for model "
                           f"{weights.model!r}, which no loaded plugin registers; install the plugin that provides it.")
    return weights


def split_name(name: str) -> tuple[str, str | None]:
    """``("two_input_mlp", "digits")`` for a weights name, ``(name, None)`` for a model name."""
    if name in get_host().registry or name not in all_weights():
        return name, None
    weights = all_weights()[name]
    return weights.model, weights.name


def is_weights_name(name: str) -> bool:
    return name in all_weights()


def looks_like_weights(name: str) -> bool:
    """``MODEL.NAME`` of a registered model (``PREFIX/MODEL.NAME`` for a prefixed one; not a path):
    a mistyped weights name, not a file."""
    model, dot, short = name.rpartition(".")
    return bool(dot) and short != "keras" and model in get_host().registry


def unknown(name: str) -> Exception:
    """The error for a name that is neither a model nor weights, with suggestions from both."""
    known = list(get_host().registry.names()) + list(all_weights())
    if looks_like_weights(name):
        return UnknownWeightsError(name, known)
    return UnknownModelError(name, known)
