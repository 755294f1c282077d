"""The training loop that works under ``MultiWorkerMirroredStrategy``, where ``model.fit`` fails
(keras-team/keras#20585): one ``strategy.run(model.train_step)`` per batch, inside a ``tf.function``.

:func:`kzoo._engine.loops.choose_loop` decides when it runs. Importing this module does not import
tensorflow; :func:`fit_custom_loop` does, when called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .arrays import unwrap

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf


def fit_custom_loop(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    strategy: tf.distribute.Strategy | None,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: int = 0,
    shuffle: bool = True,
    seed: int = 0,
) -> keras.callbacks.History:
    """Train ``model`` one ``strategy.run(model.train_step)`` per batch, inside a ``tf.function``.

    The loop for ``MultiWorkerMirroredStrategy``, where ``model.fit`` fails; it also runs under
    ``MirroredStrategy`` or no strategy (``None``), so results can be compared. It reuses the
    compiled model's own ``train_step`` / ``test_step`` (Keras loss, optimizer, metrics, loss
    scaling across replicas), so ``model.compile`` must have run inside ``strategy.scope()``.

    Args:
        x, y: arrays, or dicts keyed by input / output name.
        batch_size: the global batch, split across all replicas of all workers.
        validation_data: ``(x_val, y_val)``; adds ``val_*`` entries per epoch.
        callbacks: Keras callbacks; ``on_epoch_end`` gets the epoch's logs, ``model.stop_training``
            ends training early (every worker must see the same logs, which they do).
        shuffle, seed: shuffle each epoch, in the same order on every worker.

    Returns:
        ``keras.callbacks.History`` whose ``.history`` maps ``loss``, each metric and their
        ``val_`` twins to one value per epoch, as ``model.fit`` returns.
    Raises:
        kzoo.ConfigError: the model was not compiled, or not under ``strategy``'s scope.

    Example::

        strategy = distribute.resolve_strategy("multi-worker")  # TF_CONFIG set on every host
        with distribute.scope(strategy):
            builder = kzoo.get("mlp")
            model = builder.compile(builder.build(input_dim=4, num_classes=3))
        history = distribute.fit_custom_loop(model, x, y, strategy=strategy, epochs=2, batch_size=64)
    """
    import keras
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    _check_model(model, strategy)
    train, first, steps = _pipeline(strategy, x, y, batch_size, shuffle=shuffle, seed=seed)
    val = None
    if validation_data is not None:
        val_x, val_y = (validation_data, None) if isinstance(validation_data, tf.data.Dataset) else validation_data
        val, _, _ = _pipeline(strategy, val_x, val_y, batch_size, shuffle=False, seed=seed)

    with strategy.scope():
        # Create optimizer and metric variables now, in cross-replica context: creating them on
        # the first traced step, inside strategy.run, is not allowed under a strategy. Keras's
        # fit does the same with this (private) method.
        if hasattr(model, "_symbolic_build"):
            model._symbolic_build(data_batch=first)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(batch):
        strategy.run(model.train_step, args=(batch,))

    @tf.function(reduce_retracing=True)
    def test_step(batch):
        strategy.run(model.test_step, args=(batch,))

    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
        model=model,
    )
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in range(epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for step, batch in enumerate(train):
            callback_list.on_train_batch_begin(step)
            train_step(batch)
            callback_list.on_train_batch_end(step, {})
        logs = _metric_values(model)
        if val is not None:
            model.reset_metrics()
            for batch in val:
                test_step(batch)
            logs.update({f"val_{name}": value for name, value in _metric_values(model).items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)  # as fit does (EMA)
    callback_list.on_train_end(logs)
    return model.history


CUSTOM_LOOP_FIT_ARGS = frozenset(
    {"epochs", "batch_size", "validation_data", "validation_split", "callbacks", "verbose", "shuffle", "seed"}
)
"""The ``model.fit`` arguments the custom loop takes (``validation_split`` is turned into
``validation_data`` before it runs, by :func:`kzoo._engine.loops.fit`)."""


def _check_model(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    if getattr(model, "optimizer", None) is None:
        raise ConfigError(
            "fit_custom_loop needs a compiled model; build and compile it inside "
            "`with strategy.scope():` (kzoo.get(name).compile(model))."
        )
    if model.distribute_strategy is not strategy:
        raise ConfigError(
            f"the model was built outside the {type(strategy).__name__}'s scope; build and compile "
            "it inside `with strategy.scope():` so its variables are mirrored."
        )


def _pipeline(strategy: tf.distribute.Strategy, x: Any, y: Any, batch_size: int, *, shuffle: bool, seed: int):
    """``(distributed dataset, first local batch, steps per epoch or None)`` for ``x``/``y``.

    Arrays (or dicts of arrays) become global batches of ``batch_size``; a ``tf.data.Dataset``
    of ``(x, y)`` batches is taken as it is (already batched and shuffled by its maker).
    """
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ConfigError("with a tf.data.Dataset as x, pass y=None: the dataset yields (x, y) batches.")
        dataset, first = x, next(iter(x))
        cardinality = int(x.cardinality())
        steps = cardinality if cardinality >= 0 else None
    else:
        x, y = unwrap(x), unwrap(y)
        count = len(next(iter(x.values())) if isinstance(x, Mapping) else x)
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            # The same seed on every worker: each takes its shard of the same global order.
            dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
        first = next(iter(dataset))
        steps = -(-count // batch_size)
    options = tf.data.Options()
    # In-memory data has no files to shard by; say so instead of letting tf.data warn about it.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.prefetch(tf.data.AUTOTUNE).with_options(options)
    return strategy.experimental_distribute_dataset(dataset), first, steps


def _metric_values(model: keras.Model) -> dict[str, float]:
    """The epoch's loss and metrics, read in cross-replica context (aggregated over replicas)."""
    values: dict[str, float] = {}
    for name, value in model.get_metrics_result().items():
        values[name] = float(value)
    return values
