"""Keras models from registered weights: build-and-load (kzoo's own files, and the legacy ``.h5``
files Keras publishes) and the metadata evaluate / predict need. Fine-tuning from them is
:mod:`kzoo._weights.finetune`.

The file is always verified by :func:`kzoo._weights.cache.fetch` before Keras reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._meta.spec import jsonable
from .._meta.weights_card import Weights
from .._zoo.plugins import get_host
from ..config import format_value
from ..errors import WeightsError
from .cache import fetch
from .lookup import get_weights

if TYPE_CHECKING:  # pragma: no cover
    import keras



def build(weights: str | Weights, model: str | None = None, **overrides: Any) -> keras.Model:
    """Model ``weights.model`` built with the weights' config (updated with ``overrides``) and
    the verified weights loaded: what ``kzoo.build("mlp.iris")`` returns."""
    found = get_weights(weights, model)
    config = get_host().registry.get(found.model).config(**{**found.config, **overrides})
    path = str(fetch(found))  # a missing or bad file is refused before anything is built
    net = build_trained(found, config)
    load_into(net, found, path, config)
    return net


def build_trained(weights: Weights, config: Mapping[str, Any]) -> keras.Model:
    """The model the weights file holds, before loading: the builder's network, behind the
    preprocessing layers of the weights' plan when they were trained on a table (their card's
    ``data.plan``), as ``kzoo train`` saves a trained model."""
    from .._engine.wrapping import wrap
    from .._zoo.tasks import for_task
    from ..datasets.preprocess import Plan

    plan = weights.data.get("plan") if weights.data else None
    builder = for_task(get_host().registry.get(weights.model), plan["task"] if plan else None)
    net = builder.build_model(config)
    return wrap(net, Plan.from_dict(plan)) if plan else net


def load_into(net: keras.Model, weights: Weights, path: str, config: Mapping[str, Any]) -> None:
    """``net.load_weights(path)`` (a file Keras publishes: :func:`load_keras_file`), with a
    mismatch explained as one line."""
    try:
        if weights.keras_file is not None:
            load_keras_file(net, path)
        else:
            net.load_weights(path)
    except WeightsError as exc:
        raise WeightsError(f"weights {weights.full_name!r} do not fit model {weights.model!r}: {exc}") from None
    except Exception as exc:
        trained = get_host().registry.get(weights.model).config(**weights.config)
        changed = {k: format_value(v) for k, v in config.items() if trained.get(k, v) != v}
        raise WeightsError(
            f"weights {weights.full_name!r} do not fit model {weights.model!r}"
            + (f" with config {changed}" if changed else "")
            + f": {_mismatch(exc)}. Use the weights' own config, or fine-tune with `kzoo train {weights.model} "
            f"--weights {weights.name}` to rebuild the layers that changed."
        ) from None


def load_keras_file(net: keras.Model, path: str) -> None:
    """A legacy ``.h5`` file Keras publishes, loaded as Keras loads it into its own application:
    in order, layer by layer (Keras's topological ``load_weights``; names are not used, as they
    may differ from those the file was saved with). kzoo's model may start with preprocessing
    layers of its own that hold constants (a non-trainable caffe-mode ``preprocess`` convolution):
    those the file lacks are skipped; every other layer with weights must get its weights from
    the file, so asking for weights never leaves a layer silently at random."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format as h5_format

    layers = [layer for layer in net.layers if layer.weights]
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
        names = h5_format.load_attributes_from_hdf5_group(group, "layer_names")
        saved = [n for n in names if h5_format.load_attributes_from_hdf5_group(group[n], "weight_names")]
        extra = layers[: len(layers) - len(saved)] if len(layers) >= len(saved) else []
        fixed = [layer.name for layer in extra if layer.trainable_weights or layer.trainable]
        if len(layers) < len(saved) or fixed:
            raise WeightsError(f"the file holds weights for {len(saved)} layers, the model has {len(layers)} layers with "
                               f"weights" + (f" (none for {', '.join(fixed[:5])})" if fixed else ""))
        part = _Layers(layers[len(extra):])
        h5_format.load_weights_from_hdf5_group(group, part)


class _Layers:
    """The layers of a model that Keras's topological h5 loader should fill, and nothing else."""

    def __init__(self, layers: list[Any]) -> None:
        self.layers = layers
        self.weights: list[Any] = []
        self._trainable_variables: list[Any] = []
        self._non_trainable_variables: list[Any] = []


def _mismatch(exc: Exception) -> str:
    """Keras's several-line load error as its gist: the layer and the two shapes."""
    text = str(exc)
    layer = re.search(r"object <\w+ name=([^,>]+)", text)
    shapes = re.search(r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))", text)
    if layer and shapes:
        return f"layer {layer.group(1)!r} needs shape {shapes.group(1)}, the file has {shapes.group(2)}"
    legacy = re.search(r"\(named ([^)]+)\).*expects shape (\([^)]*\)).*with shape (\([^)]*\))", text, re.S)
    if legacy:  # Keras's legacy .h5 loader
        return f"layer {legacy.group(1)!r} needs shape {legacy.group(2)}, the file has {legacy.group(3)}"
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def metadata(weights: Weights) -> dict[str, Any]:
    """What ``kzoo.json`` would hold for a model saved from these weights."""
    return {"model": weights.model, "plugin": get_host().registry.spec(weights.model).plugin, "config": jsonable(dict(weights.config)),
            "data": jsonable(dict(weights.data)),
            "weights": {"name": weights.full_name, weights.hash_algorithm: weights.digest}}
