"""Fine-tuning: where a run starts (registered weights, or a model kzoo saved), which layers keep
their weights, which make a new head, and which are frozen.

A model that declares its backbone (:meth:`kzoo.ModelBuilder.build_backbone`) keeps the backbone
and gets a new head sized for the data; any other keeps every layer whose shapes still match.
Freezing follows Keras's transfer-learning guide: BatchNormalization layers stay frozen, in
inference mode, whenever anything is frozen.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._meta.weights_card import Weights
from .._store.saving import read_metadata
from .._zoo.plugins import get_host
from ..errors import ConfigError, WeightsError, close_matches, option
from .cache import fetch
from .digest import digest_of
from .lookup import get_weights
from .pretrained import build_trained, load_into

if TYPE_CHECKING:  # pragma: no cover
    import keras

log = logging.getLogger("kzoo")


def starting_point(value: str | os.PathLike[str] | Weights, model: str) -> Weights:
    """What fine-tuning ``model`` starts from: registered weights (``"iris"``, ``"mlp.iris"``), or
    a model kzoo saved (a ``.keras`` path, the second stage of transfer learning). No keras here."""
    if isinstance(value, (str, os.PathLike)) and os.fspath(value).endswith(".keras"):
        return saved_start(os.fspath(value), model)
    return get_weights(value, model)  # type: ignore[arg-type]


def saved_start(path: str, model: str) -> Weights:
    """A ``.keras`` file from ``kzoo train --out`` as a card: its config, data and digest (checked
    again before it is read, as any weights file is)."""
    if not os.path.isfile(path):
        raise WeightsError(f"{option('weights')} {path!r}: no such file; give a .keras file saved by "
                           f"`kzoo train --out`, or registered weights (`kzoo weights`).")
    metadata = read_metadata(path)
    if not metadata or "model" not in metadata:
        raise WeightsError(f"{option('weights')} {path!r} is not a model kzoo saved (it has no kzoo.json); "
                           f"fine-tune from a file written by `kzoo train --out`, or from registered weights "
                           f"(`kzoo weights`).")
    if metadata["model"] != model:
        raise WeightsError(f"{option('weights')} {path!r} holds model {metadata['model']!r}, not {model!r}; train "
                           f"{metadata['model']!r} from it, or pick weights of {model!r} (`kzoo weights`).")
    return Weights(model=model, name="saved", source=os.path.abspath(path), sha256=digest_of(path),
                   config=metadata.get("config") or {}, data=metadata.get("data") or {},
                   description=f"the model saved at {path}")


def is_saved_model(weights: Weights) -> bool:
    return weights.source.endswith(".keras")


def start_label(weights: Weights) -> str:
    """How a run names its start: the weights' full name, or the saved model's path."""
    return weights.source if is_saved_model(weights) else weights.full_name


@dataclass
class Start:
    """How a fine-tuning run started: from which weights, which layers were kept, rebuilt (shapes
    changed), made new (the head of a model that declares a backbone) or frozen."""

    weights: str
    digest: str
    hash_algorithm: str = "sha256"
    rebuilt: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)
    kept: int = 0
    head: list[str] = field(default_factory=list)
    new_head: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.weights, self.hash_algorithm: self.digest, "rebuilt": self.rebuilt, "frozen": self.frozen,
                "kept": self.kept, "head": self.head, "new_head": self.new_head}

    def describe(self) -> str:
        parts = [f"kept {self.kept} layers"]
        if self.new_head:
            parts.append(f"new head: {_names(self.head)}")
        if self.rebuilt or not self.new_head:
            parts.append(f"rebuilt (shapes changed): {_names(self.rebuilt) if self.rebuilt else 'none'}")
        frozen = f"; frozen: {_names(self.frozen)}" if self.frozen else ""
        return f"fine-tuning from {self.weights}: {', '.join(parts)}{frozen}"


def _names(names: Sequence[str], most: int = 6) -> str:
    """A list of layer names for one log line: all of a few, else a count and the ends."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{len(names)} layers ({names[0]} ... {names[-1]})"


#: A layer with weights as fine-tuning pairs it: its name and the shapes of its weights.
Signature = tuple[str, tuple[tuple[int, ...], ...]]


def signature(layer: Any) -> Signature:
    return layer.name, tuple(tuple(w.shape) for w in layer.weights)


def match_layers(targets: Sequence[Signature], sources: Sequence[Signature]) -> dict[int, int]:
    """Which of ``sources`` each of ``targets`` takes its weights from (index to index): the layer
    of the same name, or the layer at the same position among the layers with weights, whichever
    pairs more layers of equal weight shapes (a tie goes to names). Two builds of one architecture
    name explicitly named layers alike, while Keras numbers unnamed ones per build (``conv2d`` in the
    first, ``conv2d_94`` in the next): by position such builds still pair layer for layer."""
    index = {name: i for i, (name, _) in enumerate(sources)}
    by_name = {t: index[name] for t, (name, shapes) in enumerate(targets)
               if name in index and sources[index[name]][1] == shapes}
    by_position = {t: t for t in range(min(len(targets), len(sources))) if targets[t][1] == sources[t][1]}
    return by_name if len(by_name) >= len(by_position) else by_position


def start_from(net: keras.Model, weights: Weights, freeze: bool = False, freeze_until: str | None = None,
               unfreeze_top: int | None = None, backbone: Sequence[Signature] | None = None) -> Start:
    """Start ``net`` from ``weights``, then freeze what the options say. Call before compiling.

    ``backbone`` holds the layers (:func:`signature`) of the backbone of a model that declares one
    (:meth:`kzoo.ModelBuilder.build_backbone`): from registered weights the layers of ``net`` that
    pair with them (:func:`match_layers`) are copied and the rest of ``net`` is a new head sized for
    the data (weights trained for other classes, or another data set, say nothing of it). Otherwise,
    and from a model kzoo saved (a later stage), every layer that pairs with one of the same shapes
    is copied and the others keep their fresh initialisation, reported as rebuilt.

    ``freeze`` trains only the head (with a backbone), else the rebuilt layers (or the output
    layers when none were); ``unfreeze_top`` N also trains the top N layers of the rest;
    ``freeze_until`` freezes every layer up to and including that one. Whenever layers are frozen,
    BatchNormalization layers run in inference mode (frozen too), as Keras's transfer-learning
    guide does: their statistics come from the start, not from small fine-tuning batches.
    """
    source = _source_model(weights)
    trained = weighted_layers(source)
    new_head = backbone is not None and not is_saved_model(weights)
    start = Start(start_label(weights), weights.digest, weights.hash_algorithm, new_head=new_head)
    layers = weighted_layers(net)
    shapes = [signature(layer) for layer in layers]
    in_backbone = None if backbone is None else match_layers(shapes, backbone)
    pairs = match_layers(shapes, [signature(layer) for layer in trained])
    for i, layer in enumerate(layers):
        if in_backbone is not None and i not in in_backbone:
            start.head.append(layer.name)
            if start.new_head:
                continue
        if i in pairs:
            layer.set_weights(trained[pairs[i]].get_weights())
            start.kept += 1
        else:
            start.rebuilt.append(layer.name)
    names = [layer.name for layer in layers]
    if freeze_until is not None:
        if freeze_until not in names:
            hints = close_matches(freeze_until, names)
            hint = f" Did you mean {', '.join(hints)}?" if hints else ""
            raise ConfigError(f"{option('freeze_until')} {freeze_until!r}: the model has no layer with weights of that name."
                              f"{hint} Its layers are {_names(names)}.")
        start.frozen = names[: names.index(freeze_until) + 1]
    elif freeze or unfreeze_top:
        train_only = set(start.head) | set(start.rebuilt) or set(output_layers(net, layers))
        rest = [n for n in names if n not in train_only]
        start.frozen = rest[: len(rest) - unfreeze_top] if unfreeze_top else rest
    if start.frozen:
        batch_norm = {layer.name for layer in layers if _is_batch_norm(layer)}
        start.frozen = [n for n in names if n in set(start.frozen) or n in batch_norm]
    for layer in layers:
        layer.trainable = layer.name not in start.frozen
    log.info(start.describe())
    return start


def _source_model(weights: Weights) -> Any:
    """The model that holds ``weights``, their file verified first."""
    path = str(fetch(weights))
    if is_saved_model(weights):
        from .._store.saving import load

        return load(path, compile=False)
    config = get_host().registry.get(weights.model).config(**weights.config)
    source = build_trained(weights, config)
    load_into(source, weights, path, config)
    return source


def _is_batch_norm(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def backbone_layers(builder: Any, config: Mapping[str, Any]) -> list[Signature] | None:
    """The weighted layers of ``builder``'s backbone (:func:`signature`), or None for a model that declares none."""
    if not builder.has_backbone:
        return None
    from .._zoo.guard import build_checked

    return [signature(layer) for layer in weighted_layers(build_checked(builder, config, backbone=True))]


def weighted_layers(model: Any) -> list[Any]:
    """The model's innermost layers that hold weights, in order, each once (a shared tower's
    layers appear once however many inputs use them)."""
    seen: dict[int, Any] = {}
    for layer in _leaves(model):
        if layer.weights and id(layer) not in seen:
            seen[id(layer)] = layer
    return list(seen.values())


def _leaves(layer: Any) -> Iterator[Any]:
    children = getattr(layer, "layers", None)
    if children:
        for child in children:
            yield from _leaves(child)
    else:
        yield layer


def output_layers(model: Any, layers: Sequence[Any]) -> list[str]:
    """Names of the layers that produce the model's outputs (a Functional graph's output
    operations), else the last layer with weights."""
    names = {layer.name for layer in layers}
    try:
        found = [t._keras_history[0].name for t in model.outputs]
    except (AttributeError, TypeError, ValueError, IndexError):
        found = []
    found = [n for n in found if n in names]
    return found or [layers[-1].name]
