"""Facts a built ``keras.Model`` can tell about itself: inputs, outputs, api style, size.

kzoo reads them here, once per config, instead of asking a plugin author to type them: names,
shapes (``None`` kept), dtypes, integer ranges (an Embedding's ``input_dim``), the api style, the
parameter count, and default losses from each output's activation. keras is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PluginError
from .spec import TensorSpec

if TYPE_CHECKING:  # pragma: no cover
    import keras

#: Default (loss, metrics) by the activation of the layer that produces an output.
LOSS_BY_ACTIVATION: dict[str, tuple[str, tuple[str, ...]]] = {
    "softmax": ("sparse_categorical_crossentropy", ("accuracy",)),
    "sigmoid": ("binary_crossentropy", ("accuracy",)),
}
#: Any other activation (linear included) is taken for regression.
REGRESSION = ("mse", ("mae",))


@dataclass(frozen=True)
class ModelFacts:
    """What one build of a model tells: the parts of a :class:`~kzoo.ModelSpec` never typed by hand."""

    api: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    params: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelFacts:
        return cls(
            api=str(data["api"]),
            inputs=tuple(TensorSpec.from_dict(t) for t in data["inputs"]),
            outputs=tuple(TensorSpec.from_dict(t) for t in data["outputs"]),
            params=int(data["params"]),
        )


def describe(
    model: keras.Model,
    losses: Mapping[str, str] | None = None,
    metrics: Mapping[str, Sequence[str]] | None = None,
    inputs: Sequence[TensorSpec] | None = None,
    outputs: Sequence[TensorSpec] | None = None,
) -> ModelFacts:
    """The facts of a built ``model``. ``losses`` / ``metrics`` (by output name) replace the
    defaults read from the output activations (softmax, sigmoid, anything else).

    ``inputs`` / ``outputs`` are what the plugin's code declares (a hand-written spec, or
    ``@kzoo.model(inputs=...)``): their descriptions and id ranges win over what a build tells,
    and a subclassed model, which has no named inputs, takes their names and dtypes."""
    losses, metrics = dict(losses or {}), dict(metrics or {})
    declared_inputs, declared_outputs = tuple(inputs or ()), tuple(outputs or ())
    style = api_style(model)
    if style == "subclass":
        found, outputs = _subclass_tensors(model, declared_inputs, declared_outputs)
    else:
        found = tuple(_input_spec(model, t) for t in model.inputs)
        outputs = tuple(_output_spec(name, t, model) for name, t in zip(output_names(model), model.outputs))
    by_name = {t.name: t for t in declared_inputs}
    inputs = tuple(_with_declared(t, by_name.get(t.name)) for t in found)
    outputs = tuple(_with_loss(t, losses, metrics) for t in outputs)
    unknown = sorted(set(losses) - {t.name for t in outputs})
    if unknown:
        raise PluginError(
            f"model {model.name!r}: loss or metrics given for output(s) {unknown}, but its outputs are "
            f"{[t.name for t in outputs]}."
        )
    return ModelFacts(api=style, inputs=inputs, outputs=outputs, params=int(model.count_params()))


def api_style(model: keras.Model) -> str:
    """``sequential``, ``functional`` (a graph of layers) or ``subclass`` (a ``call`` of its own)."""
    import keras
    from keras.src.models.functional import Functional

    if isinstance(model, keras.Sequential):
        return "sequential"
    return "functional" if isinstance(model, Functional) else "subclass"


def output_names(model: keras.Model) -> list[str]:
    """Output names as Keras keys them (dict keys, else the producing layers' names)."""
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    return [t._keras_history[0].name for t in model.outputs]


def _input_spec(model: keras.Model, tensor: Any) -> TensorSpec:
    name = tensor._keras_history[0].name if hasattr(tensor, "_keras_history") else tensor.name
    dtype = str(tensor.dtype)
    return TensorSpec(name, tuple(tensor.shape[1:]), dtype=dtype, range=_embedding_range(model, tensor, dtype))


def _with_declared(found: TensorSpec, declared: TensorSpec | None) -> TensorSpec:
    """An input as built, with the description and id range its plugin declares."""
    if declared is None:
        return found
    return TensorSpec(found.name, found.shape, dtype=found.dtype, description=declared.description or found.description,
                      range=declared.range or found.range)


def _embedding_range(model: keras.Model, tensor: Any, dtype: str) -> tuple[int, int] | None:
    """``(0, input_dim)`` of the Embedding an integer input feeds: directly, or inside a custom
    layer it feeds (a token-and-position embedding)."""
    import keras

    if not dtype.startswith(("int", "uint")):
        return None
    consumers = [layer for layer in model.layers if _consumes(layer, tensor)]
    dims = [layer.input_dim for layer in consumers if isinstance(layer, keras.layers.Embedding)]
    for layer in consumers:
        if not dims and not _is_keras_layer(layer):
            dims += _nested_embedding_dims(layer, tuple(tensor.shape[1:]), dtype)
    return (0, min(dims)) if dims else None


_PROBE_BATCH, _PROBE_LENGTH = 7, 13  # sizes no position index or constant of a layer is likely to have


def _nested_embedding_dims(layer: Any, shape: tuple[Any, ...], dtype: str) -> list[int]:
    """The ``input_dim`` of each Embedding inside ``layer`` that receives the layer's own input
    (told apart from one fed positions by the shape of what it receives, in a symbolic call)."""
    import keras

    embeddings = [e for e in layer._flatten_layers(include_self=False, recursive=True)
                  if isinstance(e, keras.layers.Embedding)]
    if not embeddings:
        return []
    probe_shape = (_PROBE_BATCH, *(_PROBE_LENGTH if d is None else d for d in shape))
    fed: list[int] = []

    def watch(embedding: Any) -> Any:
        call = embedding.call

        def watched(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            if tuple(getattr(inputs, "shape", ())) == probe_shape:
                fed.append(int(embedding.input_dim))
            return call(inputs, *args, **kwargs)
        return watched

    try:
        for embedding in embeddings:
            embedding.call = watch(embedding)
        layer.compute_output_spec(keras.KerasTensor(probe_shape, dtype=dtype))
    except Exception:  # a layer that cannot be called on a probe tells nothing
        return []
    finally:
        for embedding in embeddings:
            embedding.__dict__.pop("call", None)
    return fed


def _consumes(layer: Any, tensor: Any) -> bool:
    for node in getattr(layer, "_inbound_nodes", []):
        if any(t is tensor for t in node.input_tensors):
            return True
    return False


def _output_spec(name: str, tensor: Any, model: keras.Model) -> TensorSpec:
    return TensorSpec(name, tuple(tensor.shape[1:]), dtype=str(tensor.dtype), loss=_output_activation(tensor))


#: Keras layers that pass their input through unchanged in kind (a renamed output, dropout):
#: the activation that decides the loss is read from the layer before them.
TRANSPARENT = frozenset({"Identity", "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                         "ActivityRegularization", "Reshape", "Flatten"})


def _output_activation(tensor: Any) -> str | None:
    """The activation that produces ``tensor``, looked for through transparent Keras layers and
    into a nested functional model; None when a layer kzoo cannot read stands in the way (a custom
    layer or a subclassed model), so the loss is unknown rather than guessed."""
    for _ in range(100):
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            return None
        layer, node_index = history[0], history[1]
        if not _is_keras_layer(layer):
            return None
        kind = type(layer).__name__
        if kind in TRANSPARENT or _is_nested_model(layer):
            inner = _single_input(layer, node_index) if kind in TRANSPARENT else _single_output(layer)
            if inner is None:
                return None
            tensor = inner
            continue
        if kind == "Softmax":
            return "softmax"
        return _activation_name(layer)
    return None


def _is_keras_layer(layer: Any) -> bool:
    """A layer of Keras itself, whose ``activation`` attribute means what Keras documents."""
    return type(layer).__module__.partition(".")[0] == "keras"


def _is_nested_model(layer: Any) -> bool:
    """A functional or Sequential Keras model used as a layer: its own graph can be read."""
    return api_style(layer) != "subclass" if _is_model(layer) else False


def _is_model(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def _single_input(layer: Any, node_index: int) -> Any:
    nodes = getattr(layer, "_inbound_nodes", [])
    if node_index >= len(nodes) or len(nodes[node_index].input_tensors) != 1:
        return None
    return nodes[node_index].input_tensors[0]


def _single_output(model: Any) -> Any:
    outputs = getattr(model, "outputs", None) or []
    return outputs[0] if len(outputs) == 1 else None


def _activation_name(layer: Any) -> str | None:
    """The name of ``layer``'s activation: "linear" for a Keras layer without one, None for a
    layer that is not Keras's own (its ``activation``, if any, may not produce the output)."""
    if layer is None or not _is_keras_layer(layer):
        return None
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) or "linear"


def _with_loss(spec: TensorSpec, losses: Mapping[str, str], metrics: Mapping[str, Sequence[str]]) -> TensorSpec:
    """``spec`` (whose ``loss`` holds the activation name, None when unreadable) with its loss and
    metrics; an unreadable activation leaves the loss unknown (None) unless declared."""
    loss: str | None
    if spec.loss is None:
        loss, default_metrics = None, ()
    else:
        loss, default_metrics = LOSS_BY_ACTIVATION.get(spec.loss, REGRESSION)
    if spec.name in losses:
        loss = losses[spec.name]
        default_metrics = () if spec.name not in metrics else default_metrics
    chosen = tuple(metrics.get(spec.name, default_metrics))
    return TensorSpec(spec.name, spec.shape, dtype=spec.dtype, loss=loss, metrics=chosen)


def unknown_loss_message(model: str, outputs: Sequence[TensorSpec]) -> str | None:
    """Why a model cannot be compiled with derived losses, or None when every output has one."""
    unknown = [t.name for t in outputs if t.loss is None]
    if not unknown:
        return None
    example = f"loss={{{unknown[0]!r}: 'sparse_categorical_crossentropy'}}"
    return (f"model {model!r}: kzoo cannot derive the loss of output(s) {unknown}: the layer that produces it is not "
            f"a Keras layer whose activation kzoo can read (a custom layer or a subclassed model); declare loss=... "
            f"in the plugin (@kzoo.model({example}), or TensorSpec(loss=...) in a ModelSpec).")


def _subclass_tensors(model: keras.Model, declared_inputs: Sequence[TensorSpec] = (),
                      declared_outputs: Sequence[TensorSpec] = ()) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """A subclassed model has no graph: its input shapes come from ``build()`` (a dict of shapes
    names several inputs), its names and dtypes from what the plugin declares (else ``input``,
    float32), its output from a symbolic call, and the output's activation from the last layer
    it tracks."""
    import keras

    shapes = getattr(model, "_build_shapes_dict", None) or {}
    if len(shapes) != 1:
        raise PluginError(
            f"model {model.name!r} is a subclassed keras.Model that was not built with one input shape; "
            f"call model.build((None, ...)) (or model.build({{'name': (None, ...), ...}}) for several inputs) "
            f"before returning it, so kzoo can read its input."
        )
    shape = next(iter(shapes.values()))
    by_name = {t.name: t for t in declared_inputs}
    if isinstance(shape, Mapping):
        inputs = tuple(TensorSpec(str(k), tuple(v)[1:], dtype=by_name[k].dtype if k in by_name else "float32")
                       for k, v in shape.items())
        symbolic: Any = {t.name: keras.KerasTensor((None, *t.shape), dtype=t.dtype) for t in inputs}
    else:
        one = declared_inputs[0] if len(declared_inputs) == 1 else None
        inputs = (TensorSpec(one.name if one else "input", tuple(shape)[1:], dtype=one.dtype if one else "float32"),)
        symbolic = keras.KerasTensor(tuple(shape), dtype=inputs[0].dtype)
    out = model.compute_output_spec(symbolic)
    last = model.layers[-1] if model.layers else None
    name = last.name if last is not None else "output"
    if len(declared_outputs) == 1:
        name = declared_outputs[0].name  # the spec's name for the model's one output
    output = TensorSpec(name, tuple(out.shape[1:]), dtype=str(out.dtype), loss=_activation_name(last))
    return inputs, (output,)
