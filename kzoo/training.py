"""Compile, fit, evaluate and predict with kzoo's fast defaults, and ``train``: data -> trained,
saved model in one call (what ``kzoo train`` runs).

The fast defaults (see docs/performance.md): a ``tf.data`` pipeline with prefetch, batch 128,
100 epochs, Adam at 0.02 with cosine decay to a tenth over the run, and
``steps_per_execution=64`` (one graph call runs up to 64 steps; 1 for strategies that cannot,
or to debug).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, DataError

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import numpy as np

    from .builder import ModelBuilder
    from .datasets.loading import Data
    from .weights import Weights

DEFAULT_EPOCHS = 100
DEFAULT_BATCH_SIZE = 128
DEFAULT_LEARNING_RATE = 0.02
DEFAULT_STEPS_PER_EXECUTION = 64
EVAL_BATCH_SIZE = 1024
SCHEDULES = ("cosine", "constant")
DEFAULT_PATIENCE = 10  # epochs without improvement before early stopping (kzoo.stopping)


# -- the pieces ---------------------------------------------------------------------------------
def make_optimizer(learning_rate: float = DEFAULT_LEARNING_RATE, decay_steps: int | None = None) -> Any:
    """Adam at ``learning_rate``; with ``decay_steps``, cosine decay to a tenth over that many steps."""
    import keras

    rate: Any = learning_rate
    if decay_steps:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=int(decay_steps), alpha=0.1)
    return keras.optimizers.Adam(rate)


def compile_model(
    builder: ModelBuilder,
    model: keras.Model,
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
    config: Mapping[str, Any] | None = None,
    **compile_kwargs: Any,
) -> keras.Model:
    """Compile with the spec's per-output losses and metrics unless the caller gives them."""
    outputs = builder.output_specs(config)
    if loss is None:
        loss = _per_output({o.name: o.loss for o in outputs})
    if metrics is None:
        metrics = _per_output({o.name: list(o.metrics) for o in outputs})
    if "steps_per_execution" not in compile_kwargs:
        from .distribute import steps_per_execution_for

        compile_kwargs["steps_per_execution"] = steps_per_execution_for(strategy_of(model), DEFAULT_STEPS_PER_EXECUTION)
    model.compile(optimizer=optimizer or make_optimizer(), loss=loss, metrics=metrics, **compile_kwargs)
    return model


def strategy_of(model: keras.Model) -> Any:
    """The ``tf.distribute`` strategy ``model`` was built under (or whose scope is open), else None
    (always None off the TensorFlow backend, without importing it)."""
    from .backend import is_tensorflow, keep_tensorflow_out

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


def unwrap(data: Any) -> Any:
    """A one-entry dict becomes its array: Sequential and single-output models want plain arrays,
    while kzoo's data is always keyed by input / output name."""
    if isinstance(data, dict) and len(data) == 1:
        return next(iter(data.values()))
    return data


def to_dataset(x: Any, y: Any = None, batch_size: int = DEFAULT_BATCH_SIZE, shuffle: bool = False, seed: int = 0) -> Any:
    """A batched, prefetching ``tf.data.Dataset`` of ``(x, y)`` (or ``x``), shuffled each epoch
    by a seeded buffer as large as the data (in the pipeline, not in numpy: cheaper)."""
    import tensorflow as tf

    x, y = unwrap(x), unwrap(y)
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if shuffle:
        ds = ds.shuffle(_count(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_shuffled(x: Any, y: Any, batch_size: int, seed: int) -> tuple[Any, Any]:
    """``(dataset, callback)``: batches of ``(x, y)`` in an order that is a function of ``seed`` and
    the epoch alone, so a run resumed at epoch k sees the same batches as the uninterrupted run
    (a ``shuffle`` buffer would replay epoch 0's order). The callback tells the pipeline which
    epoch starts; pass it to ``model.fit``."""
    import keras
    import tensorflow as tf

    data = unwrap(x) if y is None else (unwrap(x), unwrap(y))
    n = _count(unwrap(x))
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
                  multiple: int = 1) -> tuple[Any, Any]:
    """``(keras.utils.PyDataset, callback)``: :func:`epoch_shuffled` for backends without
    ``tf.data``. Each epoch's order is a numpy permutation drawn from ``(seed, epoch)`` alone, so a
    resumed run sees the batches the uninterrupted run saw; pass the callback to ``model.fit``.
    ``multiple``: the last batch is filled up to a multiple of it with samples from the start of
    the order (``keras.distribution.DataParallel`` splits every batch evenly across devices)."""
    import keras
    import numpy as np

    x, y = unwrap(x), unwrap(y)
    n = _count(x)

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
            return take(x, rows) if y is None else (take(x, rows), take(y, rows))

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


def _count(x: Any) -> int:
    return len(next(iter(x.values())) if isinstance(x, dict) else x)


def is_dataset(x: Any) -> bool:
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


# -- the builder methods --------------------------------------------------------------------------
def fit(
    builder: ModelBuilder | None,
    model: keras.Model,
    x: Any,
    y: Any = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation_data: Any = None,
    **fit_kwargs: Any,
) -> keras.callbacks.History:
    """``model.fit`` through a shuffled, prefetching ``tf.data`` pipeline (quiet unless ``verbose``);
    off TensorFlow, through :func:`epoch_batches` (the same per-epoch orders idea, in numpy).
    Arrays and dicts of arrays are accepted; a ``tf.data.Dataset`` is used as it is.
    ``validation_split`` holds out the last samples, as Keras does."""
    fit_kwargs.setdefault("verbose", 0)
    fraction = fit_kwargs.pop("validation_split", 0.0)
    if fraction and validation_data is None and not is_dataset(x):
        from .distribute import split_tail

        (x, x_val), (y, y_val) = split_tail(x, fraction), split_tail(y, fraction)
        validation_data = (x_val, y_val)
    from .backend import is_tensorflow

    if not is_tensorflow() and not is_dataset(x):
        devices = _devices_per_batch()
        if isinstance(validation_data, (tuple, list)) and devices > 1:
            validation_data, _ = epoch_batches(*validation_data, EVAL_BATCH_SIZE, seed, shuffle=False, multiple=devices)
        elif isinstance(validation_data, (tuple, list)):
            validation_data = tuple(unwrap(v) for v in validation_data)
            fit_kwargs.setdefault("validation_batch_size", EVAL_BATCH_SIZE)
        if devices > 1:
            shuffle = True  # batches must come through epoch_batches to be split evenly
        if not shuffle:
            return model.fit(unwrap(x), unwrap(y), batch_size=batch_size or DEFAULT_BATCH_SIZE, shuffle=False,
                             validation_data=validation_data, **fit_kwargs)
        batches, order = epoch_batches(x, y, batch_size or DEFAULT_BATCH_SIZE, seed, multiple=devices)
        fit_kwargs["callbacks"] = [order, *(fit_kwargs.get("callbacks") or [])]
        fit_kwargs["shuffle"] = False  # the batches are in the epoch's order; Keras would reshuffle them unseeded
        return model.fit(batches, validation_data=validation_data, **fit_kwargs)
    if strategy_of(model) is not None and not is_dataset(x):
        # Under a strategy Keras's own array adapter splits batches across replicas correctly.
        if isinstance(validation_data, (tuple, list)):
            validation_data = tuple(unwrap(v) for v in validation_data)
        return model.fit(unwrap(x), unwrap(y), batch_size=batch_size or DEFAULT_BATCH_SIZE, shuffle=shuffle,
                         validation_data=validation_data, **fit_kwargs)
    if not is_dataset(x):
        if shuffle:
            x, order = epoch_shuffled(x, y, batch_size or DEFAULT_BATCH_SIZE, seed)
            fit_kwargs["callbacks"] = [order, *(fit_kwargs.get("callbacks") or [])]
        else:
            x = to_dataset(x, y, batch_size or DEFAULT_BATCH_SIZE, False, seed)
        y = None
    if isinstance(validation_data, (tuple, list)):
        validation_data = to_dataset(*validation_data, batch_size=EVAL_BATCH_SIZE)
    fit_kwargs["shuffle"] = False  # a tf.data pipeline shuffles itself
    return model.fit(x, y, validation_data=validation_data, **fit_kwargs)


def evaluate(builder: ModelBuilder, model: keras.Model, x: Any, y: Any = None, **kwargs: Any) -> dict[str, float]:
    kwargs.setdefault("verbose", 0)
    from .backend import is_tensorflow

    if not is_tensorflow() and not is_dataset(x):
        x, y = unwrap(x), unwrap(y)
        kwargs.setdefault("batch_size", EVAL_BATCH_SIZE)
    elif strategy_of(model) is not None:
        x, y = unwrap(x), unwrap(y)
    elif not is_dataset(x):
        x, y = to_dataset(x, y, kwargs.pop("batch_size", EVAL_BATCH_SIZE)), None
    result = model.evaluate(x, y, return_dict=True, **kwargs)
    return {name: float(value) for name, value in result.items()}


def predict(builder: ModelBuilder, model: keras.Model, x: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("batch_size", EVAL_BATCH_SIZE)
    result = model.predict(unwrap(x), **kwargs)
    if isinstance(result, (list, tuple)):
        return dict(zip(model.output_names, result))
    return result


# -- data -> trained model -------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``keras.Model``, the per-epoch history of the whole
    run (resumed epochs included), the last epoch's metrics and the metadata saved with the model."""

    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, float]
    initial_epoch: int
    epochs: int
    metadata: dict[str, Any] = field(default_factory=dict)
    chief: bool = True  # False on the workers of a cluster that do not write files
    stop_reason: str = ""  # why training ended: early stopping, or the --epochs ceiling


def train(
    model: str | ModelBuilder,
    data: str | os.PathLike[str] | Data,
    config: Mapping[str, Any] | None = None,
    *,
    target: str | Sequence[str] = (),
    inputs: Mapping[str, Sequence[str]] | None = None,
    standardize: bool | None = None,
    samples: int | None = None,
    skip_bad_files: bool = False,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    schedule: str = "cosine",
    val_split: float = 0.0,
    steps_per_execution: int = DEFAULT_STEPS_PER_EXECUTION,
    seed: int = 0,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Any] = (),
    verbose: int | str = 0,
    out: str | os.PathLike[str] | None = None,
    metrics_out: str | os.PathLike[str] | None = None,
    strategy: Any = None,
    plot: str | os.PathLike[str] | None = None,
    worker_timeout: float | None = None,
    weights: str | Weights | None = None,
    freeze: bool = False,
    freeze_until: str | None = None,
    patience: int = DEFAULT_PATIENCE,
) -> TrainResult:
    """Train model ``model`` on ``data`` with kzoo's fast defaults; optionally save it.

    Args:
        model: a model name or builder.
        data: a data set name, ``"synthetic"``, a .csv/.npz path, or a ``kzoo.datasets.Data``.
        config: build config overrides (``--set``); sizes the data fixes are inferred.
        target, inputs, standardize, samples, skip_bad_files: how to read the data (see
            ``kzoo.datasets.load``).
        val_split: fraction held out for validation (stratified by class when possible).
        patience: with a validation split, stop once ``val_accuracy`` (else ``val_loss``) has not
            improved for this many epochs and restore the best epoch's weights (0: never stop
            early; ``epochs`` is the ceiling either way). ``metrics`` are then the best epoch's.
        verbose: 0 silent, 1 Keras's progress bar, 2 one plain line per epoch (for logs).
        checkpoint_dir: save model + optimizer after every epoch; a rerun resumes from there.
        callbacks: extra Keras callbacks.
        out, metrics_out: write the model (.keras with kzoo metadata) and final metrics (JSON),
            each atomically.
        strategy: a ``tf.distribute`` strategy, or its name in ``kzoo.distribute.STRATEGIES``.
        plot: draw the training curves to this .png/.svg/.pdf file (``kzoo.curves``).
        worker_timeout: seconds a multi-worker start waits for the other workers (default 300).
        weights: fine-tune from these registered weights (``"iris"`` or ``"mlp.iris"``): their
            config is the starting config, layers whose shapes the data changes are rebuilt.
        freeze: train only the rebuilt layers (or the output layers when none were rebuilt).
        freeze_until: freeze every layer up to and including this one.
    """
    from . import api, saving
    from .datasets.loading import DEFAULT_SYNTHETIC_SAMPLES, Data, load

    _check_options(epochs, batch_size, learning_rate, schedule, val_split, out, steps_per_execution, samples, plot,
                   seed, metrics_out, patience)
    builder = api.get(model) if isinstance(model, str) else model
    from . import distribute

    if isinstance(strategy, str):
        # Before any TensorFlow op: shaping data may build the model to read its inputs, and
        # collective ops (multi-worker) must be configured first.
        strategy = distribute.resolve_strategy(
            strategy, distribute.DEFAULT_WORKER_TIMEOUT if worker_timeout is None else worker_timeout)
    start = _start_weights(builder, weights, freeze, freeze_until)
    if isinstance(data, Data) and data.model != builder.spec.name:
        raise ConfigError(f"the data was shaped for model {data.model!r}, not {builder.spec.name!r}; "
                          f"load it again with kzoo.datasets.load(source, {builder.spec.name!r}).")
    if not isinstance(data, Data):
        data = load(data, builder, config, target=target, inputs=inputs, standardize=standardize,
                    samples=DEFAULT_SYNTHETIC_SAMPLES if samples is None else samples, seed=seed,
                    val_split=val_split, skip_bad_files=skip_bad_files,
                    base_config=start.config if start is not None else None)
    train_xy, val_xy = split(data, val_split, seed)
    steps = -(-_count(train_xy[0]) // batch_size)
    options = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "schedule": schedule,
               "val_split": val_split, "seed": seed}
    if val_xy is not None:  # patience means nothing without validation data
        options["patience"] = patience
    metadata = saving.model_metadata(data.model, data.config, plugin=builder.spec.plugin, data=data.meta,
                                     training=options, data_digest=data_digest(data))
    init = None
    if start is not None:
        from .pretrained import start_from

        metadata["weights"] = {"name": start.full_name, "sha256": start.sha256}

        def init(net: Any) -> None:
            metadata["weights"] = start_from(net, start, freeze, freeze_until).to_dict()

    net, initial_epoch, history = prepare_model(
        builder, data.config, metadata, checkpoint_dir, strategy, seed,
        optimizer=lambda: make_optimizer(learning_rate, epochs * steps if schedule == "cosine" else None),
        steps_per_execution=min(steps, distribute.steps_per_execution_for(strategy, steps_per_execution)),
        init=init,
    )
    if initial_epoch and verbose:  # say so now, not when training ends
        print(f"resumed from epoch {initial_epoch} in {os.fspath(checkpoint_dir)}", flush=True)
    stopper = None
    if val_xy is not None and patience:
        from . import resume, stopping

        state, best = resume.read_stopping(checkpoint_dir) if initial_epoch else (stopping.StopState(), None)
        stopper = stopping.make_callback(patience, state, best)
    if stopper is None or stopper.state.stopped_epoch is None:  # a rerun of a finished run trains no more
        fitted = run_fit(net, train_xy, val_xy, strategy=strategy, epochs=epochs, initial_epoch=initial_epoch,
                         batch_size=batch_size, seed=seed, verbose=verbose,
                         callbacks=make_callbacks(callbacks, checkpoint_dir, metadata, history, strategy, stopper))
        for key, values in fitted.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
    metrics = {key: values[-1] for key, values in history.items() if values}
    metadata.update(epoch=max(initial_epoch, len(next(iter(history.values()), []))), history=history)
    stop_reason = f"reached --epochs {epochs}"
    if stopper is not None:
        from .stopping import reason

        metadata["stopping"] = stopper.state.to_dict()
        stop_reason = reason(stopper.state, patience, epochs)
        if stopper.state.stopped_epoch is not None:  # the model holds the best epoch's weights
            metrics = {key: values[stopper.state.best_epoch - 1] for key, values in history.items()
                       if len(values) >= stopper.state.best_epoch}
    from .files import all_or_nothing

    chief = distribute.is_chief(strategy)  # only one process writes plain files
    with all_or_nothing() if chief else contextlib.nullcontext():  # the run's outputs land together
        if out is not None:
            saving.save_model(net, out, metadata, strategy)
        if chief and metrics_out is not None:
            write_metrics(metrics_out, {"model": data.model, "epochs": metadata["epoch"],
                                        "initial_epoch": initial_epoch, "metrics": metrics, "history": history})
        if chief and plot is not None and history:
            from .curves import plot_history

            plot_history(history, plot)
    return TrainResult(net, history, metrics, initial_epoch, metadata["epoch"], metadata, chief, stop_reason)


def data_digest(data: Data) -> str:
    """A short fingerprint of the training arrays: a checkpoint made on other data is refused."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for part in (data.x, data.y or {}):
        for name in sorted(part):
            array = np.ascontiguousarray(part[name])
            digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:16]


def _start_weights(builder: ModelBuilder, weights: str | Weights | None, freeze: bool,
                   freeze_until: str | None) -> Weights | None:
    """The registered weights a run starts from, checked before any work."""
    if weights is None:
        if freeze or freeze_until:
            raise ConfigError("--freeze and --freeze-until need --weights: there is nothing trained to freeze.")
        return None
    if freeze and freeze_until:
        raise ConfigError("give --freeze or --freeze-until, not both.")
    from .zoo import get_weights

    return get_weights(weights, builder.spec.name)


def run_fit(
    net: Any, train_xy: tuple[Any, Any], val_xy: tuple[Any, Any] | None, *, strategy: Any, epochs: int,
    initial_epoch: int, batch_size: int, seed: int, verbose: int | str, callbacks: list[Any],
) -> Any:
    """``model.fit`` on a shuffled, prefetching ``tf.data`` pipeline; under a strategy that
    ``model.fit`` cannot run (multi-worker), ``kzoo.distribute``'s own loop."""
    from . import distribute

    if verbose == 2:  # one plain line per epoch instead of Keras's two
        from .progress import epoch_lines

        callbacks, verbose = [*callbacks, epoch_lines(epochs)], 0
    if distribute.is_keras_distribution(strategy):  # JAX's DataParallel: Keras shards each batch itself
        with distribute.scope(strategy):
            return fit(None, net, *train_xy, batch_size=batch_size, seed=seed, validation_data=val_xy, epochs=epochs,
                       initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose)
    if distribute.uses_custom_loop(strategy):
        if initial_epoch:
            raise ConfigError(f"resuming from --checkpoint-dir is not supported under {type(strategy).__name__}; "
                              f"use a new checkpoint directory.")
        return distribute.fit(net, *train_xy, strategy=strategy, epochs=epochs, batch_size=batch_size,
                              validation_data=val_xy, callbacks=callbacks, verbose=verbose, shuffle=True, seed=seed)
    from . import fastpath

    if fastpath.applies(net, *train_xy, val_xy, strategy=strategy, batch_size=batch_size, callbacks=callbacks,
                        verbose=verbose):  # an epoch is one execution: one compiled call, validation included
        return fastpath.fit(net, *train_xy, val_xy, batch_size=batch_size, epochs=epochs, initial_epoch=initial_epoch,
                            seed=seed, callbacks=callbacks)
    return fit(None, net, *train_xy, batch_size=batch_size, seed=seed, validation_data=val_xy, epochs=epochs,
               initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose)


def prepare_model(
    builder: ModelBuilder, config: Mapping[str, Any], metadata: Mapping[str, Any],
    checkpoint_dir: str | os.PathLike[str] | None, strategy: Any, seed: int, optimizer: Any,
    steps_per_execution: int, init: Any = None,
) -> tuple[Any, int, dict[str, list[float]]]:
    """``(model, finished_epochs, history)``: restored from ``checkpoint_dir`` if it holds a
    checkpoint, else built and compiled fresh (``optimizer`` is a factory), all in the strategy's scope.
    ``init(model)`` runs on a fresh model before compiling (loading pretrained weights, freezing)."""
    from . import distribute, resume
    from .backend import set_random_seed
    from .guard import build_checked

    set_random_seed(seed)
    with distribute.scope(strategy):
        restored = resume.restore(checkpoint_dir, metadata) if checkpoint_dir else None
        if restored is not None:
            return restored
        net = build_checked(builder, config)
        if init is not None:
            init(net)
        compile_model(builder, net, optimizer=optimizer(), config=config, steps_per_execution=steps_per_execution)
    return net, 0, {}


def make_callbacks(
    extra: Sequence[Any], checkpoint_dir: str | os.PathLike[str] | None, metadata: Mapping[str, Any],
    history: dict[str, list[float]], strategy: Any = None, stopper: Any = None,
) -> list[Any]:
    """Every callback of a training run, assembled in this one place; early stopping runs before
    the checkpoint, which then records its state."""
    from . import resume

    callbacks = list(extra)
    if stopper is not None:
        callbacks.append(stopper)
    if checkpoint_dir is not None:
        callbacks.append(resume.EpochCheckpoint(checkpoint_dir, metadata, history, strategy, stopper))
    return callbacks


def split(data: Data, val_split: float, seed: int) -> tuple[tuple[Any, Any], tuple[Any, Any] | None]:
    """``(train, validation)`` pairs of ``(x, y)``; stratified by the class target when possible."""
    if not val_split:
        return (data.x, data.y), None
    import numpy as np

    from .datasets.splits import class_labels, split_rows

    train_idx, val_idx = split_rows(data.num_samples, class_labels(data.y), val_split, seed)

    def take(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
        return {k: np.asarray(v)[rows] for k, v in arrays.items()}

    return (take(data.x, train_idx), take(data.y, train_idx)), (take(data.x, val_idx), take(data.y, val_idx))


def write_metrics(path: str | os.PathLike[str], metrics: Mapping[str, Any]) -> None:
    """``metrics`` as strict JSON (NaN and infinities as null), written atomically."""
    from .files import write_text
    from .saving import jsonable

    write_text(path, json.dumps(finite_or_null(jsonable(dict(metrics))), indent=2, allow_nan=False) + "\n")


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None: JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_null(v) for v in value]
    return value


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_options(epochs: int, batch_size: int, learning_rate: float, schedule: str, val_split: float, out: Any,
                   steps_per_execution: int = 1, samples: int | None = None, plot: Any = None, seed: int = 0,
                   metrics_out: Any = None, patience: int = 0) -> None:
    """Every option checked before any work, so a bad one fails fast and writes nothing."""
    from .limits import MAX_INT32, MAX_SEED

    problems = []
    if not _whole(steps_per_execution, 1, MAX_INT32):
        problems.append(f"steps_per_execution={steps_per_execution} (expected an integer in 1..{MAX_INT32})")
    if samples is not None and not _whole(samples, 1, 2**63 - 1):
        problems.append(f"samples={samples} (expected an integer >= 1)")
    if not _whole(epochs, 1, MAX_INT32):
        problems.append(f"epochs={epochs} (expected an integer in 1..{MAX_INT32})")
    if not _whole(batch_size, 1, MAX_INT32):
        problems.append(f"batch_size={batch_size} (expected an integer in 1..{MAX_INT32})")
    if not (isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool)
            and math.isfinite(learning_rate) and learning_rate > 0):
        problems.append(f"learning_rate={learning_rate} (expected a finite number > 0, such as 0.01)")
    if not _whole(patience, 0, MAX_INT32):
        problems.append(f"patience={patience} (expected a whole number of epochs >= 0; 0 never stops early)")
    if not _whole(seed, 0, MAX_SEED):
        problems.append(f"seed={seed} (expected an integer in 0..{MAX_SEED})")
    if schedule not in SCHEDULES:
        problems.append(f"schedule={schedule!r} (expected {' or '.join(SCHEDULES)})")
    if not (isinstance(val_split, (int, float)) and 0 <= val_split < 1):
        problems.append(f"val_split={val_split} (expected a fraction in [0, 1), such as 0.2)")
    if out is not None and not os.fspath(out).endswith(".keras"):
        problems.append(f"out={os.fspath(out)!r} (expected a path ending in .keras)")
    if plot is not None:
        from pathlib import Path

        from .curves import IMAGE_FORMATS
        from .files import image_format

        image_format(Path(plot), IMAGE_FORMATS, what="training curves")
    if problems:
        raise ConfigError("bad training option: " + "; ".join(problems) + ".")
    from .files import check_writable

    for path in (out, metrics_out, plot):
        if path is not None:
            check_writable(path)
