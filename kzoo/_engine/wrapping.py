"""The trained model: a preprocessing plan as Keras layers in front of the network.

What ``kzoo train`` saves maps the user's raw values to predictions, so the ``.keras`` file, its
exports and ``keras.saving.load_model`` need no kzoo code to be right. Only built-in Keras layers
and ops are used, so the file loads in a plain Keras session.

Two nested models, because strings cannot go everywhere:

- ``core``: raw numbers (NaN = missing) and categorical columns as vocabulary indices ->
  predictions. Runs on every backend and exports to every format.
- the trained model: ``StringLookup`` per categorical column, then ``core``. Without
  categorical columns the trained model is ``core`` itself.

:mod:`kzoo.datasets.preprocess` computes the same features in numpy for training; a test checks
that both agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._system.backend import allow_tensorflow
from ..datasets.preprocess import NUMERIC_INPUT, Plan, lookup
from ..datasets.table import as_strings

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import numpy as np

CORE = "core"
# The layers this module names, and the Keras ops it calls (Keras names those by class, with a
# ``_N`` count): a categorical column's input cannot take one of these names (see free_names).
OWN_LAYERS = (NUMERIC_INPUT, "impute", "median", "standardize", "features", CORE)
_OPS = re.compile(r"(is_nan|cast|where|zeros_like|take|reshape)(_\d+)?")


def clashing_inputs(plan: Plan, net_name: str) -> dict[str, str]:
    """``{input: free name}`` for each categorical input whose name a layer of the trained model
    takes (kzoo's own, the network's, an output's, another column's lookup): a table's column may
    be called ``output`` or ``features``, and Keras refuses a model with one name used twice."""
    used = {*OWN_LAYERS, net_name, *(spec["name"] for spec in plan.outputs)}
    renamed = {}
    for cat in plan.categorical:
        key = base = cat["input"]
        n = 1
        while key in used or _OPS.fullmatch(key) or f"{key}_lookup" in used or f"{key}_onehot" in used:
            key, n = f"{base}_column" + (f"_{n}" if n > 1 else ""), n + 1
        if key != base:
            renamed[base] = key
        used |= {key, f"{key}_lookup", f"{key}_onehot"}
    return renamed


def free_names(plan: Plan, net_name: str) -> None:
    """Rename in place the categorical inputs of ``plan`` that :func:`clashing_inputs` finds."""
    renamed = clashing_inputs(plan, net_name)
    for cat in plan.categorical:
        cat["input"] = renamed.get(cat["input"], cat["input"])


def wrap(net: keras.Model, plan: Plan) -> keras.Model:
    """``net`` behind the plan's preprocessing (and, for regression, the target's units)."""
    import keras

    from ..errors import ConfigError

    clash = clashing_inputs(plan, net.name)
    if clash:  # a plan made by kzoo has none (free_names); one written by hand may
        raise ConfigError(f"the preprocessing plan's input {next(iter(clash))!r} has the name of a layer of the "
                          f"trained model {net.name!r}; rename it (say, to {next(iter(clash.values()))!r}).")
    name = f"{net.name}_trained"
    core = _core(net, plan, CORE if plan.categorical else name)
    if not plan.categorical:
        return core
    allow_tensorflow()  # StringLookup is built on tensorflow, whatever the backend
    inputs: dict[str, Any] = {}
    if plan.numeric:
        inputs[NUMERIC_INPUT] = keras.Input((len(plan.numeric),), name=NUMERIC_INPUT, dtype="float32")
    feed = dict(inputs)
    for cat in plan.categorical:
        key = cat["input"]
        inputs[key] = keras.Input((1,), name=key, dtype="string")
        index = keras.layers.StringLookup(vocabulary=cat["vocabulary"], num_oov_indices=1,
                                          name=f"{key}_lookup")(inputs[key])
        feed[key] = keras.ops.cast(index, "int32")  # int32: what every backend (JAX) takes by default
    return keras.Model(inputs, core(feed), name=name)


def _core(net: keras.Model, plan: Plan, name: str) -> keras.Model:
    import keras
    from keras import layers, ops

    inputs: dict[str, Any] = {}
    features = []
    if plan.numeric:
        x = inputs[NUMERIC_INPUT] = keras.Input((len(plan.numeric),), name=NUMERIC_INPUT, dtype="float32")
        missing = ops.isnan(x)
        flags = ops.cast(missing, "float32")
        filled = layers.Add(name="impute")([ops.where(missing, ops.zeros_like(x), x),
                                            layers.Rescaling(plan.median, name="median")(flags)])
        # Rescaling, not Normalization: Normalization keeps its statistics as captured tensors,
        # which tf2onnx turns into extra graph inputs.
        scale, offset = plan.scaling()
        features.append(layers.Rescaling(scale, offset=offset, name="standardize")(filled))
        if plan.indicators:
            features.append(ops.take(flags, plan.indicators, axis=1))
    for cat in plan.categorical:
        index = inputs[cat["input"]] = keras.Input((1,), name=cat["input"], dtype="int32")
        features.append(layers.CategoryEncoding(num_tokens=len(cat["vocabulary"]) + 1, output_mode="one_hot",
                                                name=f"{cat['input']}_onehot")(index))
    merged = layers.Concatenate(name="features")(features) if len(features) > 1 else features[0]
    fed = {name: ops.reshape(ops.take(merged, feed["features"], axis=1), (-1, *feed["shape"]))
           for name, feed in plan.feeds.items()}
    names = [spec["name"] for spec in plan.outputs]
    outputs = by_name(net(_arranged(net, fed)), names)
    final = []
    for output in names:
        if plan.task == "regression":
            final.append(layers.Rescaling(plan.target["std"], offset=plan.target["mean"], name=output)(outputs[output]))
        else:
            final.append(layers.Identity(name=output)(outputs[output]))
    single = len(inputs) == 1 and not plan.categorical
    return keras.Model(next(iter(inputs.values())) if single else inputs,
                       final[0] if len(final) == 1 else dict(zip(names, final)), name=name)


def _arranged(net: Any, x: Mapping[str, Any]) -> Any:
    """``x`` (keyed by input name) as ``net`` takes it: a dict, one tensor, or a list in order."""
    if isinstance(getattr(net, "_inputs_struct", None), Mapping):
        return dict(x)
    if len(x) == 1:
        return next(iter(x.values()))
    order = [t.name for t in getattr(net, "inputs", [])] or list(x)
    order = [n for n in order if n in x] if set(order) >= set(x) else list(x)
    return [x[n] for n in order]


def by_name(result: Any, names: Sequence[str]) -> dict[str, Any]:
    """A model's outputs (one tensor, a list or a dict) keyed by output name."""
    if isinstance(result, Mapping):
        return dict(result)
    if isinstance(result, (list, tuple)):
        return dict(zip(names, result))
    return {names[0]: result}


def carries_plan(model: keras.Model) -> bool:
    """True when ``model`` is a trained model this module made (its input ``numeric`` runs into
    ``impute``, or it holds a ``core``): one whose raw columns a plan describes."""
    names = {layer.name for layer in getattr(model, "layers", [])}
    return CORE in names or {NUMERIC_INPUT, "impute", "standardize"} <= names


def plan_mismatch(model: keras.Model, plan: Plan) -> str | None:
    """What ``plan`` expects of the trained ``model`` that it lacks (None: they fit): the inputs
    it feeds, the width of ``numeric``, the ``core`` that runs without strings."""
    found = {getattr(t, "name", None): tuple(t.shape) for t in getattr(model, "inputs", None) or []}
    wanted = ([NUMERIC_INPUT] if plan.numeric else []) + [cat["input"] for cat in plan.categorical]
    missing = [name for name in wanted if name not in found]
    if missing:
        return (f"its plan feeds input {missing[0]!r}, which the network lacks (its inputs: "
                f"{', '.join(map(repr, found)) or 'none'})")
    extra = [name for name in found if name not in wanted]
    if extra:
        return f"the network's input {extra[0]!r} is not in its plan (the plan feeds {', '.join(map(repr, wanted))})"
    width = found.get(NUMERIC_INPUT, (None, len(plan.numeric)))[-1]
    if width is not None and width != len(plan.numeric):
        return f"its plan has {len(plan.numeric)} numeric columns, but the network's input 'numeric' takes {width}"
    if plan.categorical and not any(layer.name == CORE for layer in model.layers):
        return f"its plan has categorical columns, but the network has no {CORE!r} model inside"
    return None


def core_of(model: keras.Model, plan: Plan) -> keras.Model:
    """The part of a trained model that takes categorical columns as vocabulary indices."""
    return model.get_layer(CORE) if plan.categorical else model


def predict(model: keras.Model, plan: Plan, numeric: np.ndarray, categorical: Mapping[str, np.ndarray],
            batch_size: int = 1024, eager: bool = False) -> dict[str, np.ndarray]:
    """The trained model's outputs on raw rows, keyed by output name. Under TensorFlow the
    strings go through the model's own ``StringLookup`` layers; other backends cannot run them
    compiled, so the same lookup is done in numpy and the ``core`` runs.

    ``eager`` calls the model on batches of exactly ``batch_size`` rows (the last one padded)
    instead of ``model.predict``. Why: ``model.predict`` traces a function for each new model
    (about 0.3 s on two cores), more than a small table's answer costs, which a model refitted
    many times (a scikit-learn estimator in a grid search) pays on every fit; and with every
    call of one shape a row's answer does not depend on how many rows came with it (a matrix
    product of another shape may round differently)."""
    import numpy as np

    from .._system.backend import is_tensorflow

    names = [spec["name"] for spec in plan.outputs]
    x: dict[str, Any] = {NUMERIC_INPUT: np.asarray(numeric, "float32")} if plan.numeric else {}
    strings = bool(plan.categorical) and is_tensorflow()
    if strings:
        for cat in plan.categorical:
            x[cat["input"]] = as_strings(categorical[cat["column"]]).reshape(-1, 1)
        runner = model
    else:
        x.update(lookup(plan, categorical))
        runner = core_of(model, plan)
    if eager:
        return by_name(_call_in_batches(runner, x, batch_size, strings), names)
    if strings:
        import tensorflow as tf

        x = {k: tf.constant(v) if v.dtype.kind in "UO" else v for k, v in x.items()}
    feed = x[NUMERIC_INPUT] if len(x) == 1 and plan.numeric else x
    return by_name(runner.predict(feed, batch_size=batch_size, verbose=0), names)


def _call_in_batches(runner: keras.Model, x: Mapping[str, np.ndarray], batch_size: int, strings: bool) -> Any:
    """``runner`` called on ``x`` (keyed by input name) in batches of ``batch_size`` rows, the last
    one padded with copies of its last row; the outputs (one array, or a list or dict of them)."""
    import keras
    import numpy as np

    rows = len(next(iter(x.values())))
    pieces = []
    for start in range(0, rows, batch_size):
        chunk = {k: v[start:start + batch_size] for k, v in x.items()}
        size = len(next(iter(chunk.values())))
        if size < batch_size:
            chunk = {k: np.concatenate([v, np.repeat(v[-1:], batch_size - size, axis=0)]) for k, v in chunk.items()}
        if strings:
            import tensorflow as tf

            chunk = {k: tf.constant(v) for k, v in chunk.items()}  # a call takes tensors or arrays, not both
        feed = chunk[NUMERIC_INPUT] if len(chunk) == 1 and NUMERIC_INPUT in chunk else chunk
        out = runner(feed, training=False)
        pieces.append(keras.tree.map_structure(lambda t: keras.ops.convert_to_numpy(t)[:size], out))
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *pieces)


def as_regressor(net: keras.Model) -> keras.Model:
    """``net`` with its classifier head replaced by one linear unit of the same name: the
    layers below the output stay as the builder made them."""
    import keras

    from ..errors import ConfigError

    head = getattr(net.outputs[0], "_keras_history", [None])[0] if getattr(net, "outputs", None) else None
    if head is None or len(net.outputs) != 1 or not isinstance(head, keras.layers.Dense):
        raise ConfigError(f"model {net.name!r} cannot be turned into a regressor: kzoo replaces the Dense layer "
                          f"that makes its one output, and this model has none (a subclassed model or several "
                          f"outputs) and declares no backbone to put a new head on. Use a Functional or Sequential build, or "
                          f"(plugin authors) override ModelBuilder.build_backbone.")
    below = head.input
    output = keras.layers.Dense(1, name=head.name)(below)
    return keras.Model(net.inputs if len(net.inputs) > 1 else net.inputs[0], output, name=net.name)
