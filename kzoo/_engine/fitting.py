"""Compile, fit, evaluate and predict one ``keras.Model`` with kzoo's fast defaults: what the
:class:`~kzoo.ModelBuilder` methods run (fitting through :mod:`kzoo._engine.loops`, which picks the loop). Arrays in, Keras out; nothing here knows of plugins,
data sources or saving (``kzoo._workflow.training`` puts those together).

The fast defaults (see docs/performance.md): on TensorFlow a ``tf.data`` pipeline with prefetch,
elsewhere numpy batches; batch 128, Adam at 0.02 with cosine decay to a tenth over the run, and
``steps_per_execution=64`` (one graph call runs up to 64 steps; 1 for strategies that cannot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._meta.derive import unknown_loss_message
from .._system.backend import is_tensorflow, keep_tensorflow_out
from ..errors import PluginError
from .activations import inference_batch
from .arrays import count_rows, unwrap
from .options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_STEPS_PER_EXECUTION,
    EVAL_BATCH_SIZE,
)
from .strategies import steps_per_execution_for

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from .._meta.spec import TensorSpec


def make_optimizer(learning_rate: float = DEFAULT_LEARNING_RATE, decay_steps: int | None = None) -> Any:
    """Adam at ``learning_rate``; with ``decay_steps``, cosine decay to a tenth over that many steps."""
    import keras

    rate: Any = learning_rate
    if decay_steps:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=int(decay_steps), alpha=0.1)
    return keras.optimizers.Adam(rate)


def compile_model(
    model: keras.Model,
    outputs: Sequence[TensorSpec],
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
    **compile_kwargs: Any,
) -> keras.Model:
    """Compile with the ``outputs``' losses and metrics (a builder's ``output_specs``) unless the
    caller gives them."""
    if loss is None:
        unknown = unknown_loss_message(model.name, outputs)
        if unknown is not None:
            raise PluginError(unknown)
        loss = _per_output({o.name: o.loss for o in outputs})
    if metrics is None:
        metrics = _per_output({o.name: list(o.metrics) for o in outputs})
    if "steps_per_execution" not in compile_kwargs:
        compile_kwargs["steps_per_execution"] = steps_per_execution_for(strategy_of(model), DEFAULT_STEPS_PER_EXECUTION)
    model.compile(optimizer=optimizer or make_optimizer(), loss=loss, metrics=metrics, **compile_kwargs)
    return model


def strategy_of(model: keras.Model) -> Any:
    """The ``tf.distribute`` strategy ``model`` was built under (or whose scope is open), else None
    (always None off the TensorFlow backend, without importing it)."""
    if not is_tensorflow():
        keep_tensorflow_out()
        return None
    import tensorflow as tf

    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None or (strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy()):
        return None
    return strategy


def _per_output(values: dict[str, Any]) -> Any:
    """One value for a single-output model, else a dict keyed by output name."""
    return next(iter(values.values())) if len(values) == 1 else values


def with_weights(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """What Keras's steps take as one element: ``x``, ``(x, y)``, or ``(x, y, sample_weight)``."""
    if y is None:
        return x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def to_dataset(x: Any, y: Any = None, batch_size: int = DEFAULT_BATCH_SIZE, shuffle: bool = False, seed: int = 0,
               sample_weight: Any = None) -> Any:
    """A batched, prefetching ``tf.data.Dataset`` of ``(x, y)`` (or ``x``; with ``sample_weight``,
    ``(x, y, sample_weight)``), shuffled each epoch by a seeded buffer as large as the data (in
    the pipeline, not in numpy: cheaper)."""
    import tensorflow as tf

    x, y = unwrap(x), unwrap(y)
    ds = tf.data.Dataset.from_tensor_slices(with_weights(x, y, sample_weight))
    if shuffle:
        ds = ds.shuffle(count_rows(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_shuffled(x: Any, y: Any, batch_size: int, seed: int, sample_weight: Any = None) -> tuple[Any, Any]:
    """``(dataset, callback)``: batches of ``(x, y)`` (with ``sample_weight``, ``(x, y, weights)``) in
    an order that is a function of ``seed`` and the epoch alone, so a run resumed at epoch k sees
    the same batches as the uninterrupted run (a ``shuffle`` buffer would replay epoch 0's order).
    The callback tells the pipeline which epoch starts; pass it to ``model.fit``."""
    import keras
    import tensorflow as tf

    data = with_weights(unwrap(x), unwrap(y), sample_weight)
    n = count_rows(unwrap(x))
    tensors = tf.nest.map_structure(tf.convert_to_tensor, data)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    key = tf.constant(int(seed), dtype=tf.int64)

    def order(_: Any) -> Any:
        noise = tf.random.stateless_uniform([n], seed=tf.stack([key, epoch.read_value()]))
        return tf.data.Dataset.from_tensor_slices(tf.argsort(noise))

    ds = (tf.data.Dataset.range(1).flat_map(order).batch(batch_size)
          .map(lambda idx: tf.nest.map_structure(lambda t: tf.gather(t, idx), tensors)))
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))

    class EpochOrder(keras.callbacks.Callback):
        def on_epoch_begin(self, index: int, logs: Any = None) -> None:
            epoch.assign(index)

    return ds.prefetch(tf.data.AUTOTUNE), EpochOrder()


def epoch_batches(x: Any, y: Any, batch_size: int, seed: int, shuffle: bool = True,
                  multiple: int = 1, sample_weight: Any = None) -> tuple[Any, Any]:
    """``(keras.utils.PyDataset, callback)``: :func:`epoch_shuffled` for backends without
    ``tf.data``. Each epoch's order is a numpy permutation drawn from ``(seed, epoch)`` alone, so a
    resumed run sees the batches the uninterrupted run saw; pass the callback to ``model.fit``.
    ``multiple``: the last batch is filled up to a multiple of it with samples from the start of
    the order (``keras.distribution.DataParallel`` splits every batch evenly across devices).
    With ``sample_weight`` each batch is ``(x, y, weights)``."""
    import keras
    import numpy as np

    x, y = unwrap(x), unwrap(y)
    n = count_rows(x)

    def take(part: Any, rows: Any) -> Any:
        return {k: v[rows] for k, v in part.items()} if isinstance(part, dict) else part[rows]

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch, self._order = 0, (-1, None)

        def __len__(self) -> int:
            return -(-n // batch_size)

        def order(self) -> Any:
            if self._order[0] != self.epoch:
                rows = np.random.default_rng([int(seed), self.epoch]).permutation(n) if shuffle else np.arange(n)
                self._order = (self.epoch, rows)
            return self._order[1]

        def __getitem__(self, index: int) -> Any:
            rows = self.order()[index * batch_size:(index + 1) * batch_size]
            short = -len(rows) % multiple
            if short:
                rows = np.concatenate([rows, np.resize(self.order(), short)])
            if y is None:
                return take(x, rows)
            return with_weights(take(x, rows), take(y, rows), None if sample_weight is None else sample_weight[rows])

    batches = Batches()

    class EpochOrder(keras.callbacks.Callback):
        def on_epoch_begin(self, index: int, logs: Any = None) -> None:
            batches.epoch = index

    return batches, EpochOrder()


def _devices_per_batch() -> int:
    """How many devices a ``keras.distribution`` in effect splits each batch across (1 without one)."""
    import keras

    distribution = keras.distribution.distribution()
    mesh = getattr(distribution, "device_mesh", None)
    return int(mesh.shape[0]) if mesh is not None and getattr(mesh, "shape", None) else 1


def is_dataset(x: Any) -> bool:
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


def fit(
    model: keras.Model,
    x: Any,
    y: Any = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation_data: Any = None,
    sample_weight: Any = None,
    **fit_kwargs: Any,
) -> keras.callbacks.History:
    """``model.fit`` through a shuffled, prefetching ``tf.data`` pipeline (quiet unless ``verbose``);
    off TensorFlow, through :func:`epoch_batches` (the same per-epoch orders idea, in numpy); under
    a ``tf.distribute`` strategy, Keras's own array adapter. This chooses how batches reach
    ``model.fit``, not which loop runs: :func:`kzoo._engine.loops.fit` decides that, and calls this.
    Arrays and dicts of arrays are accepted; a ``tf.data.Dataset`` is used as it is.
    ``sample_weight`` (one weight per sample) scales each sample's loss; validation data may be
    ``(x, y, weights)`` likewise."""
    fit_kwargs.setdefault("verbose", 0)
    if not is_tensorflow() and not is_dataset(x):
        devices = _devices_per_batch()
        if isinstance(validation_data, (tuple, list)) and devices > 1:
            validation_data, _ = epoch_batches(*validation_data[:2], EVAL_BATCH_SIZE, seed, shuffle=False,
                                               multiple=devices, sample_weight=_weights_of(validation_data))
        elif isinstance(validation_data, (tuple, list)):
            validation_data = tuple(unwrap(v) for v in validation_data)
            fit_kwargs.setdefault("validation_batch_size", EVAL_BATCH_SIZE)
        if devices > 1:
            shuffle = True  # batches must come through epoch_batches to be split evenly
        if not shuffle:
            return model.fit(unwrap(x), unwrap(y), batch_size=batch_size or DEFAULT_BATCH_SIZE, shuffle=False,
                             validation_data=validation_data, sample_weight=sample_weight, **fit_kwargs)
        batches, order = epoch_batches(x, y, batch_size or DEFAULT_BATCH_SIZE, seed, multiple=devices,
                                       sample_weight=sample_weight)
        fit_kwargs["callbacks"] = [order, *(fit_kwargs.get("callbacks") or [])]
        fit_kwargs["shuffle"] = False  # the batches are in the epoch's order; Keras would reshuffle them unseeded
        return model.fit(batches, validation_data=validation_data, **fit_kwargs)
    if strategy_of(model) is not None and not is_dataset(x):
        # Under a strategy Keras's own array adapter splits batches across replicas correctly.
        if isinstance(validation_data, (tuple, list)):
            validation_data = tuple(unwrap(v) for v in validation_data)
        return model.fit(unwrap(x), unwrap(y), batch_size=batch_size or DEFAULT_BATCH_SIZE, shuffle=shuffle,
                         validation_data=validation_data, sample_weight=sample_weight, **fit_kwargs)
    if not is_dataset(x):
        if shuffle:
            x, order = epoch_shuffled(x, y, batch_size or DEFAULT_BATCH_SIZE, seed, sample_weight)
            fit_kwargs["callbacks"] = [order, *(fit_kwargs.get("callbacks") or [])]
        else:
            x = to_dataset(x, y, batch_size or DEFAULT_BATCH_SIZE, False, seed, sample_weight)
        y = None
    if isinstance(validation_data, (tuple, list)):
        validation_data = to_dataset(*validation_data[:2], batch_size=EVAL_BATCH_SIZE,
                                     sample_weight=_weights_of(validation_data))
    fit_kwargs["shuffle"] = False  # a tf.data pipeline shuffles itself
    return model.fit(x, y, validation_data=validation_data, **fit_kwargs)


def _weights_of(validation_data: Sequence[Any]) -> Any:
    """The weights of ``(x, y, weights)`` validation data; None for ``(x, y)``."""
    return validation_data[2] if len(validation_data) > 2 else None


def evaluate(model: keras.Model, x: Any, y: Any = None, **kwargs: Any) -> dict[str, float]:
    kwargs.setdefault("verbose", 0)
    if not is_tensorflow() and not is_dataset(x):
        x, y = unwrap(x), unwrap(y)
        kwargs["batch_size"] = inference_batch(model, kwargs.get("batch_size") or EVAL_BATCH_SIZE)
    elif strategy_of(model) is not None:
        x, y = unwrap(x), unwrap(y)  # Keras's own adapter splits the batches across replicas
    elif not is_dataset(x):  # batches that fit in memory (a dataset comes batched)
        x, y = to_dataset(x, y, inference_batch(model, kwargs.pop("batch_size", EVAL_BATCH_SIZE))), None
    result = model.evaluate(x, y, return_dict=True, **kwargs)
    return {name: float(value) for name, value in result.items()}


def predict(model: keras.Model, x: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("verbose", 0)
    if not is_dataset(x):
        kwargs["batch_size"] = inference_batch(model, kwargs.get("batch_size") or EVAL_BATCH_SIZE)
    result = model.predict(unwrap(x), **kwargs)
    if isinstance(result, (list, tuple)):
        return {name: _float32(value) for name, value in zip(model.output_names, result)}
    return _float32(result)


def _float32(values: Any) -> Any:
    """16-bit floats (a subclassed model trained in mixed precision) as float32, for numpy and files."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype.kind in "fV" and values.dtype.itemsize < 4:
        return values.astype("float32")
    return values
