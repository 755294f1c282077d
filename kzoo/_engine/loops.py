"""Which loop fits a model: the one place that decides, and the one ``fit`` every caller uses.

Three loops train a compiled ``keras.Model`` in kzoo:

- ``"fast"``: a small in-memory table, one compiled call per epoch; on PyTorch any in-memory
  arrays, Keras's steps in a plain loop (:mod:`kzoo._engine.fastpath`);
- ``"model.fit"``: Keras's own loop, fed by kzoo's seeded per-epoch batches
  (:func:`kzoo._engine.fitting.fit`); under a ``keras.distribution`` (JAX's data-parallel
  strategy) inside its scope, since Keras reads it when it batches the data;
- ``"custom"``: ``strategy.run(model.train_step)`` per batch, for ``MultiWorkerMirroredStrategy``
  where ``model.fit`` fails (:mod:`kzoo._engine.custom_loop`).

:func:`choose_loop` picks one from the model, the data, the strategy and the arguments; :func:`fit`
prepares what every loop shares (the validation split, ``verbose``, the memory check of one
batch's activations: :mod:`kzoo._engine.activations`) and runs the chosen one.
``kzoo.train``, :meth:`kzoo.ModelBuilder.train` and ``kzoo.distribute.fit`` all call :func:`fit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, option
from . import fastpath, fitting
from .activations import check_training_batch
from .arrays import split_tail, unwrap
from .custom_loop import CUSTOM_LOOP_FIT_ARGS, fit_custom_loop
from .options import DEFAULT_BATCH_SIZE
from .strategies import is_keras_distribution, scope, uses_custom_loop

if TYPE_CHECKING:  # pragma: no cover
    import keras

Loop = Literal["fast", "model.fit", "custom"]
LOOPS: tuple[Loop, ...] = ("fast", "model.fit", "custom")

_MODEL_STRATEGY = object()
"""``fit``'s default strategy: the one the model was built under (:func:`fitting.strategy_of`)."""


def choose_loop(model: keras.Model, x: Any, y: Any, validation_data: Any, *, strategy: Any, batch_size: int,
                callbacks: Sequence[Any], verbose: Any, fit_kwargs: dict[str, Any],
                allow_fast_path: bool) -> Loop:
    """The loop that trains ``model`` on this data under ``strategy`` (see the module docstring).

    ``fit_kwargs`` are the ``model.fit`` arguments beyond those :func:`fit` names: any of them
    rules out the fast path, which has none. ``allow_fast_path`` is False where the caller needs
    Keras's full ``History`` (``.model``, ``.params``): the fast path returns ``.history`` only.
    """
    if uses_custom_loop(strategy):
        return "custom"
    if (allow_fast_path and not fit_kwargs and not is_keras_distribution(strategy)
            and fastpath.applies(model, x, y, validation_data, strategy=strategy, batch_size=batch_size,
                                 callbacks=callbacks, verbose=verbose)):
        return "fast"
    return "model.fit"


def fit(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    strategy: Any = _MODEL_STRATEGY,
    epochs: int = 1,
    initial_epoch: int = 0,
    batch_size: int | None = None,
    seed: int = 0,
    shuffle: bool = True,
    validation_data: Any = None,
    validation_split: float = 0.0,
    callbacks: Sequence[Any] | None = None,
    verbose: Any = 0,
    allow_fast_path: bool = False,
    sample_weight: Any = None,
    **fit_kwargs: Any,
) -> Any:
    """Fit ``model`` on ``x``/``y`` with the loop :func:`choose_loop` picks; the training history.

    Args:
        x, y: arrays or dicts of arrays keyed by input / output name; or a ``tf.data.Dataset`` of
            ``(x, y)`` batches as ``x`` with ``y=None``.
        strategy: the ``tf.distribute`` strategy or ``keras.distribution`` to train under; by
            default the one the model was built under, if any.
        batch_size: the global batch (kzoo's default, 128, when None).
        seed: the per-epoch batch orders are drawn from ``(seed, epoch)``: a resumed run sees the
            batches the uninterrupted run saw.
        validation_split: the last samples held out, as Keras takes them (ignored when
            ``validation_data`` is given).
        allow_fast_path: let a small table train one compiled call per epoch; its history has
            ``.history`` only (``kzoo.train`` reads nothing else).
        sample_weight: one weight per sample of ``x``, scaling its loss (``validation_data`` may
            be ``(x, y, weights)`` likewise); not under the multi-worker loop.
        fit_kwargs: further ``model.fit`` arguments; under the custom loop, one it does not take
            is a :class:`kzoo.ConfigError` naming it.

    Returns:
        The history: ``.history`` maps each log name to one value per epoch.

    Example::

        strategy = distribute.resolve_strategy("mirrored")
        with distribute.scope(strategy):
            builder = kzoo.get("mlp")
            model = builder.compile(builder.build(input_dim=4, num_classes=3))
        history = distribute.fit(model, x, y, strategy=strategy, epochs=2, validation_split=0.2)
        sorted(history.history)  # ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    if strategy is _MODEL_STRATEGY:
        strategy = fitting.strategy_of(model)
    if validation_split and validation_data is None and not fitting.is_dataset(x):
        (x, x_val), (y, y_val) = split_tail(unwrap(x), validation_split), split_tail(unwrap(y), validation_split)
        validation_data = (x_val, y_val)
        if sample_weight is not None:
            sample_weight, w_val = split_tail(sample_weight, validation_split)
            validation_data = (x_val, y_val, w_val)
    callbacks = list(callbacks or [])
    size = batch_size or DEFAULT_BATCH_SIZE
    check_training_batch(model, size)
    loop = choose_loop(model, x, y, validation_data, strategy=strategy, batch_size=size, callbacks=callbacks,
                       verbose=verbose, fit_kwargs=fit_kwargs, allow_fast_path=allow_fast_path)
    if loop == "custom":
        unsupported = sorted(set(fit_kwargs) - CUSTOM_LOOP_FIT_ARGS) + (["sample_weight"] if sample_weight is not None else [])
        if unsupported:
            raise ConfigError(
                f"{', '.join(unsupported)} not supported with {type(strategy).__name__} (kzoo trains it with "
                f"its own loop); supported: {', '.join(sorted(CUSTOM_LOOP_FIT_ARGS))}."
            )
        if initial_epoch:
            raise ConfigError(f"resuming from {option('checkpoint_dir')} is not supported under "
                              f"{type(strategy).__name__}; use a new checkpoint directory.")
        return fit_custom_loop(model, x, y, strategy=strategy, epochs=epochs, batch_size=size,
                               validation_data=validation_data, callbacks=callbacks, verbose=verbose,
                               shuffle=shuffle, seed=seed)
    if loop == "fast":
        return fastpath.fit(model, x, y, validation_data, batch_size=size, epochs=epochs, initial_epoch=initial_epoch,
                            seed=seed, callbacks=callbacks, sample_weight=sample_weight)
    with scope(strategy if is_keras_distribution(strategy) else None):
        return fitting.fit(model, x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                           validation_data=validation_data, epochs=epochs, initial_epoch=initial_epoch,
                           callbacks=callbacks, verbose=verbose, sample_weight=sample_weight, **fit_kwargs)
