"""Train a small in-memory table one epoch per compiled call, validation included.

Why: on a table of a few hundred rows an epoch of ``model.fit`` is almost all fixed cost. On
TensorFlow it builds a ``tf.data`` iterator for the epoch and another one for validation, which
``evaluate`` runs as a second traced function, and every epoch pays for it again (about 50 ms
an epoch on two CPU cores, against well under 1 ms of arithmetic for iris); on JAX the train and
the test step are two programs to compile. scikit-learn has none of that, so on iris kzoo was 47
times slower (issue 9). Here, when a whole epoch is one execution anyway (``steps_per_execution``
at least the steps of an epoch, kzoo's default for tables of up to 64 batches), one compiled
function runs the epoch: the shuffled batches, then the validation batches. Python sees each epoch
once, to call the epoch-level callbacks (early stopping, checkpoints, progress lines). PyTorch
runs eagerly, so there is no epoch to compile: there the same epoch is a Python loop of Keras's
steps on tensors made once, without ``model.fit``'s per-batch adapters and iterators (1.1-1.25x
``fit`` on ``benchmarks/families.py``'s table and CNN rows), at any number of batches.

Same run as ``model.fit``: the batches are those of :func:`kzoo._engine.fitting.fit` (TensorFlow: the
argsort of ``stateless_uniform`` drawn from ``(seed, epoch)``; JAX: a numpy permutation drawn
from ``(seed, epoch)``), the steps are Keras's own ``train_step`` and ``test_step`` (loss,
metrics, optimizer and its schedule unchanged), validation uses batches of
:data:`kzoo._engine.options.EVAL_BATCH_SIZE`, and the logs have the same names. So early stopping,
resuming from a checkpoint and seeds behave as before. Anything else (a strategy or a
``keras.distribution``, a ``tf.data.Dataset``, a callback with per-batch hooks, the progress bar,
``steps_per_execution`` below an epoch on TensorFlow or JAX, a convolutional model on JAX's CPU
backend: see :func:`has_convolution`) goes through ``model.fit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._system.backend import name
from .arrays import count_rows, unwrap
from .fitting import is_dataset, strategy_of, with_weights
from .options import EVAL_BATCH_SIZE

BACKENDS = ("tensorflow", "jax", "torch")


class History:
    """What ``model.fit`` returns, as far as kzoo reads it: ``history``, per-epoch lists by log name."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}


def applies(net: Any, x: Any, y: Any, validation_data: Any, *, strategy: Any, batch_size: int,
            callbacks: Sequence[Any], verbose: Any) -> bool:
    """True when :func:`fit` can run this training (see the module docstring)."""
    if name() not in BACKENDS or strategy is not None or verbose not in (0, False) or y is None:
        return False
    if is_dataset(x) or not isinstance(validation_data, (tuple, type(None))):
        return False
    if validation_data is not None and (len(validation_data) not in (2, 3) or is_dataset(validation_data[0])):
        return False
    import numpy as np

    arrays = [unwrap(part) for part in (x, y, *(validation_data or ()))]
    leaves = [leaf for part in arrays for leaf in (part.values() if isinstance(part, dict) else [part])]
    if not all(isinstance(a, np.ndarray) and (np.issubdtype(a.dtype, np.number) or a.dtype == bool) for a in leaves):
        return False  # text (strings) and anything else that is not a plain numeric array: model.fit
    if not all(_epoch_level(c) for c in callbacks):
        return False  # a callback that wants per-batch or validation calls gets them from model.fit
    if not hasattr(net, "_symbolic_build") or getattr(net, "optimizer", None) is None:
        return False
    if getattr(net, "run_eagerly", False):
        return False  # compiled to run step by step: model.fit does, as asked
    if any(not getattr(type(net), method).__module__.startswith("keras.")
           for method in ("train_step", "test_step", "compute_metrics")):
        return False  # a model of its own steps: model.fit runs them as they are
    import keras

    if keras.distribution.distribution() is not None:
        return False
    if strategy_of(net) is not None:
        return False
    steps = -(-count_rows(unwrap(x)) // batch_size)
    if name() != "torch" and int(getattr(net, "steps_per_execution", 1) or 1) < steps:
        return False  # (torch runs one step per call whatever the size: its loop is below)
    return not (name() == "jax" and _on_cpu() and has_convolution(net))


def _layers(net: Any) -> list[Any]:
    """Every layer inside ``net`` (nested models opened), ``net`` itself left out."""
    return list(net._flatten_layers(include_self=False))


def has_convolution(net: Any) -> bool:
    """True when ``net`` holds a convolution (Conv1D/2D/3D, transposed, depthwise, separable).

    Why it matters: XLA's CPU backend compiles a convolution inside a loop (``fori_loop`` or
    ``scan``) to far slower code than the same convolution in a program of its own, so a whole
    epoch in one program loses to ``model.fit``'s one program per step: ``benchmarks/families.py``
    measured kzoo / fit 0.03-0.2x on JAX for Conv2D models on two cores (0.15x with ``scan``, 0.6x
    with the loop unrolled), where dense, recurrent and attention models gain. On a GPU the
    compiled epoch of a Conv2D/BatchNorm CNN measured 1.05x ``fit`` (issue 18, one H200), so
    the rule is for CPU devices only."""
    return any(type(layer).__module__.startswith("keras.src.layers.convolutional.") for layer in _layers(net))


DENSE_LAYERS = frozenset({
    "InputLayer", "Dense", "EinsumDense", "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Identity", "BatchNormalization",
    "LayerNormalization", "UnitNormalization", "Concatenate", "Add", "Subtract", "Multiply", "Average",
    "Maximum", "Minimum", "Dot", "Flatten", "Reshape", "RepeatVector", "Rescaling", "Normalization",
})
"""Keras layers whose work per row is about two floating-point operations per weight (or less):
a model made only of these does about ``6 * params`` of them per training row, forward and
backward, which is what :data:`SMALL_EPOCH_FLOPS` counts."""


def _dense_only(net: Any) -> bool:
    """True when every layer in ``net`` is a Keras layer of :data:`DENSE_LAYERS` (nested models
    opened; a layer of the user's own class, an embedding, a recurrent or attention layer is not)."""
    import keras

    return all(isinstance(layer, keras.Model) or (type(layer).__module__.startswith("keras.")
                                                 and type(layer).__name__ in DENSE_LAYERS)
               for layer in _layers(net))


def _on_cpu() -> bool:
    """True when JAX computes on CPU devices (XLA's CPU compile options mean nothing elsewhere)."""
    import jax

    return jax.default_backend() == "cpu"


BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end", "on_test_begin",
               "on_test_end", "on_test_batch_begin", "on_test_batch_end")
"""The callback methods :func:`fit` never calls: a callback overriding one of them goes through model.fit."""


def _epoch_level(callback: Any) -> bool:
    """True for a Keras callback that only acts at the start or end of training or of an epoch."""
    import keras

    base = keras.callbacks.Callback
    return isinstance(callback, base) and all(getattr(type(callback), hook) is getattr(base, hook)
                                              for hook in BATCH_HOOKS)




def fit(net: Any, x: Any, y: Any, validation_data: Any, *, batch_size: int, epochs: int, initial_epoch: int,
        seed: int, callbacks: Sequence[Any], sample_weight: Any = None) -> History:
    """Train ``net`` from ``initial_epoch`` to ``epochs`` (or until a callback stops it), one
    compiled call per epoch; returns a :class:`History`. ``sample_weight`` (one per sample) and
    ``(x, y, weights)`` validation data weight each sample's loss, as in ``model.fit``."""
    import keras
    import numpy as np

    x, y = unwrap(x), unwrap(y)
    as_array = lambda t: keras.tree.map_structure(np.asarray, t)
    x, y = as_array(x), as_array(y)
    train = with_weights(x, y, None if sample_weight is None else np.asarray(sample_weight, "float32"))
    val = None if validation_data is None else tuple(as_array(unwrap(v)) for v in validation_data)
    n = count_rows(x)
    first = keras.tree.map_structure(lambda a: a[:batch_size], (x, y))
    net._symbolic_build(data_batch=first)  # builds the metrics and the optimizer, as model.fit does
    history = History()
    callback_list = keras.callbacks.CallbackList(list(callbacks), add_history=False, add_progbar=False, model=net,
                                                 epochs=epochs, steps=-(-n // batch_size), verbose=0)
    epochs_of = {"tensorflow": _tensorflow_epochs, "jax": _jax_epochs, "torch": _torch_epochs}[name()]
    run = epochs_of(net, train, val, n, batch_size, EVAL_BATCH_SIZE, seed)
    net.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    try:
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            logs = run(epoch)
            callback_list.on_epoch_end(epoch, logs)
            for key, value in logs.items():
                history.history.setdefault(key, []).append(value)
            if net.stop_training:
                break
    finally:
        net.optimizer.finalize_variable_values(net.trainable_weights)
    callback_list.on_train_end(logs)
    return history


def _permutation(seed: int, epoch: int, n: int) -> Any:
    """Epoch ``epoch``'s order of ``n`` rows, as :func:`kzoo._engine.fitting.epoch_batches` draws it."""
    import numpy as np

    return np.random.default_rng([int(seed), epoch]).permutation(n)


def _split(n: int, batch_size: int) -> tuple[int, int]:
    """``(loop, last)``: the batches a compiled loop runs before the last one, and the last one's size."""
    if n <= batch_size:
        return 0, n
    full, rest = divmod(n, batch_size)
    return (full, rest) if rest else (full - 1, batch_size)


def _floats(logs: Any) -> dict[str, float]:
    import numpy as np

    return {key: float(np.asarray(value)) for key, value in logs.items()}


def _tensorflow_epochs(net: Any, train: Any, val: Any, n: int, batch_size: int, eval_batch_size: int,
                       seed: int) -> Any:
    """``train`` and ``val`` are ``(x, y)`` or ``(x, y, sample_weight)``."""
    import tensorflow as tf

    tensors = tf.nest.map_structure(tf.convert_to_tensor, train)
    val_tensors = None if val is None else tf.nest.map_structure(tf.convert_to_tensor, val)
    key = tf.constant(int(seed), dtype=tf.int64)

    def steps(step: Any, data: Any, rows: int, size: int) -> Any:
        """Run ``step`` on each batch of ``data`` (the last one may be short: its shape is
        dynamic here, so the step is traced once); the metrics' results are the logs, as
        ``compute_metrics`` returns them."""
        def body(i: Any) -> Any:
            step(tf.nest.map_structure(lambda t: t[i * size:(i + 1) * size], data))
            return (i + 1,)

        if rows <= size:  # one batch: no loop to run
            step(data)
        else:
            tf.while_loop(lambda i: i < -(-rows // size), body, (tf.constant(0),), parallel_iterations=1)
        return dict(net.get_metrics_result())

    @tf.function(autograph=False)
    def epoch_step(epoch: Any) -> Any:
        order = tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([key, epoch])))
        net.reset_metrics()
        logs = steps(net.train_step, tf.nest.map_structure(lambda t: tf.gather(t, order), tensors), n, batch_size)
        if val_tensors is not None:
            with tf.control_dependencies(list(logs.values())):  # read before the metrics are reset
                net.reset_metrics()
            val_logs = steps(net.test_step, val_tensors, _count_tf(val_tensors[0]), eval_batch_size)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        return logs

    epoch_step._omit_frequent_tracing_warning = True  # a new function for each model is meant: no warning

    def run(epoch: int) -> dict[str, float]:
        return _floats(epoch_step(tf.constant(epoch, dtype=tf.int64)))

    return run


def _count_tf(x: Any) -> int:
    first = next(iter(x.values())) if isinstance(x, dict) else x
    return int(first.shape[0])


SMALL_EPOCH_FLOPS = 10**9
"""An epoch below this many floating-point operations (about 6 per parameter and row: forward and
backward) is compiled for a short compile, not for fast code: for such a program compiling is most
of the run (about 1 s of a 1.2 s iris run on two cores), while the plainer code costs a few
milliseconds an epoch more."""

QUICK_COMPILE = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False,
                 "xla_cpu_parallel_codegen_split_count": 1}
"""XLA options for a small epoch: no LLVM optimizations; fusions emitted by XLA's elemental emitter
instead of its newer MLIR fusion emitters, whose pipeline costs more per fusion than the few
hundred of them cost to run here (jaxlib 0.10 on two cores: iris 0.74 s -> 0.43 s a run, digits
1.52 s -> 0.88 s; ``benchmarks/vs_sklearn.py``); and the generated code kept in one LLVM module
instead of split for parallel code generation, which costs more than it saves on so little code
(compiling wine's epoch: 0.24-0.34 s -> 0.18-0.22 s in the same process)."""


def _jax_compiler_options(net: Any, rows: int) -> dict[str, Any] | None:
    """:data:`QUICK_COMPILE` for a small epoch of a dense model on CPU, else XLA's defaults.

    Only for dense models can the parameter count tell an epoch's work: a convolution, recurrent
    cell or attention layer does many operations per weight, and compiled without LLVM's
    optimizations they ran 2-4x slower than ``fit`` (``benchmarks/families.py``, issue 18)."""
    if not (_on_cpu() and _dense_only(net)):
        return None
    return QUICK_COMPILE if 6 * net.count_params() * rows < SMALL_EPOCH_FLOPS else None


def _jax_compile(fn: Any, args: Sequence[Any], options: dict[str, Any] | None) -> Any:
    """``fn`` compiled by XLA for ``args``, with ``options`` less any this jaxlib does not know
    (they are tuning, and older releases lack some of them)."""
    import jax

    lowered = jax.jit(fn).lower(*args)
    options = dict(options or {})
    while True:
        try:
            return lowered.compile(compiler_options=options or None)
        except jax.errors.JaxRuntimeError as error:
            unknown = [key for key in options if f"No such compile option: '{key}'" in str(error)]
            if not unknown:
                raise
            del options[unknown[0]]


def _jax_epochs(net: Any, train: Any, val: Any, n: int, batch_size: int, eval_batch_size: int,
                seed: int) -> Any:
    """``train`` and ``val`` are ``(x, y)`` or ``(x, y, sample_weight)``."""
    import jax
    import keras
    import numpy as np

    net.reset_metrics()
    fresh_metrics = [v.value for v in net.metrics_variables]
    train_loop, train_last = _split(n, batch_size)
    val_loop, val_last = (0, 0) if val is None else _split(count_rows(val[0]), eval_batch_size)
    tree = keras.tree

    def rows(data: Any, start: Any, size: int) -> Any:
        return tree.map_structure(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size), data)

    def steps(step: Any, state: Any, data: Any, loop: int, size: int, last: int) -> Any:
        if loop:
            state = jax.lax.fori_loop(0, loop, lambda i, s: step(s, rows(data, i * size, size))[1], state)
        return step(state, rows(data, loop * size, last))

    def epoch_step(state: Any, order: Any, data: Any, val_data: Any) -> Any:
        trainable, non_trainable, optimizer_vars, _ = state
        shuffled = tree.map_structure(lambda a: a[order], data)
        logs, state = steps(net.train_step, (trainable, non_trainable, optimizer_vars, fresh_metrics), shuffled,
                            train_loop, batch_size, train_last)
        if val_data is not None:
            val_logs, _ = steps(net.test_step, (state[0], state[1], fresh_metrics), val_data, val_loop,
                                eval_batch_size, val_last)
            logs = {**logs, **{f"val_{k}": v for k, v in val_logs.items()}}
        return logs, state

    def current_state() -> Any:
        return ([v.value for v in net.trainable_variables], [v.value for v in net.non_trainable_variables],
                [v.value for v in net.optimizer.variables], fresh_metrics)

    data = tree.map_structure(jax.numpy.asarray, train)
    val_data = None if val is None else tree.map_structure(jax.numpy.asarray, val)
    compiled = _jax_compile(epoch_step, (current_state(), np.arange(n), data, val_data), _jax_compiler_options(net, n))

    def run(epoch: int) -> dict[str, float]:
        order = _permutation(seed, epoch, n)
        logs, state = compiled(current_state(), order, data, val_data)
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        for variables, values in ((net.trainable_variables, trainable), (net.non_trainable_variables, non_trainable),
                                  (net.optimizer.variables, optimizer_vars), (net.metrics_variables, metrics_vars)):
            for variable, value in zip(variables, values):
                variable.assign(value)
        return _floats(logs)

    return run


def _torch_epochs(net: Any, train: Any, val: Any, n: int, batch_size: int, eval_batch_size: int,
                  seed: int) -> Any:
    """Keras's own ``train_step`` and ``test_step`` on each batch, from a plain Python loop.

    PyTorch runs eagerly, so there is no epoch to compile; what ``model.fit`` adds around each
    step (its data adapter converting each numpy batch, its epoch iterator, per-batch callback
    dispatch) was about 30% of a step of the seed MLP on two cores. Here the arrays become
    tensors once (on the model's device) and each batch is an index into them, drawn from the
    numpy permutation of ``(seed, epoch)`` that :func:`kzoo._engine.fitting.epoch_batches` uses."""
    import keras
    import numpy as np
    import torch

    tree = keras.tree
    tensor = keras.ops.convert_to_tensor  # on Keras's device, in the arrays' dtypes
    tensors = tree.map_structure(tensor, train)
    val_tensors = None if val is None else tree.map_structure(tensor, val)

    def batches(data: Any, rows: int, size: int, order: Any = None) -> Any:
        for start in range(0, rows, size):
            index = slice(start, start + size) if order is None else order[start:start + size]
            yield tree.map_structure(lambda t: t[index], data)

    def run(epoch: int) -> dict[str, float]:
        order = tensor(_permutation(seed, epoch, n))
        net.train()
        net.reset_metrics()
        logs: Any = {}
        for batch in batches(tensors, n, batch_size, order):
            logs = net.train_step(batch)
        logs = _floats({k: keras.ops.convert_to_numpy(v) for k, v in logs.items()})
        if val_tensors is not None:
            net.eval()
            net.reset_metrics()
            with torch.no_grad():
                for batch in batches(val_tensors, count_rows(val_tensors[0]), eval_batch_size):
                    val_logs = net.test_step(batch)
            logs.update({f"val_{k}": float(np.asarray(keras.ops.convert_to_numpy(v))) for k, v in val_logs.items()})
        return logs

    return run

