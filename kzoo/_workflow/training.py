"""``train``: data -> trained, saved model in one call (what ``kzoo train`` runs).

Every check comes first (:func:`check_run`: the options, the model name, the weights, the data
source, the output paths, the strategy and TF_CONFIG) and imports no framework, so a mistake is
reported in a fraction of a second; only then is data read, the model built and fitted
(:func:`kzoo._engine.loops.fit`, which picks the loop) and the outputs written together. The
defaults are :mod:`kzoo._engine.options`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._engine import fitting, loops, stopping, strategies, wrapping
from .._engine.arrays import count_rows
from .._engine.options import DataOptions, TrainOptions, split_options
from .._engine.precision import float32_outputs, policy as dtype_policy
from .._engine.progress import epoch_lines
from .._meta.spec import jsonable
from .._store import resume, saving
from .._system.backend import set_random_seed
from .._system.files import all_or_nothing, check_distinct, check_writable, write_text
from .._weights.finetune import (
    backbone_layers,
    start_from,
    start_label,
    starting_point,
)
from .._zoo.datasets import get_dataset
from .._zoo.guard import build_checked, check_backend
from .._zoo.plugins import get_host
from ..datasets.preprocess import Plan
from ..datasets.splits import class_labels, split_rows
from ..errors import (
    ChoiceNote,
    ConfigError,
    DataError,
    PluginError,
    option,
    outside_kzoo,
)
from . import api
from .curves import plot_history
from .inference import shape_fits
from .loading import Data, load_data, source_kind

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .._meta.weights_card import Weights
    from .._zoo.builder import ModelBuilder


HISTORY_ROOM = 256 * 1024  # of kzoo.json, kept for the per-epoch history training adds


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``keras.Model`` (for tables, self-contained: it takes
    raw columns, see :mod:`kzoo._engine.wrapping`), the per-epoch history of the whole run (resumed
    epochs included), the last epoch's metrics, the metadata saved with the model, and the zoo
    network inside it (``network``, which trained on the encoded features)."""

    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, float]
    initial_epoch: int
    epochs: int
    metadata: dict[str, Any] = field(default_factory=dict)
    chief: bool = True  # False on the workers of a cluster that do not write files
    stop_reason: str = ""  # why training ended: early stopping, or the epochs ceiling
    network: Any = None

    def __repr__(self) -> str:
        """A summary, not a dump: the history (kept twice, here and in ``metadata``) runs to
        kilobytes; read ``result.history`` and ``result.metadata`` for the whole of it."""
        name = getattr(self.model, "name", type(self.model).__name__)
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.metrics.items()))
        return (f"TrainResult(model={name!r}, epochs={self.epochs}, initial_epoch={self.initial_epoch}, "
                f"metrics={{{metrics}}}, history=<{len(self.history)} series>, stop_reason={self.stop_reason!r})")


def check_run(model: str | ModelBuilder, data: str | os.PathLike[str] | Data, options: TrainOptions,
              data_options: DataOptions) -> tuple[ModelBuilder, Weights | None]:
    """``(builder, start weights)`` once everything a run was given is known to be usable, without
    importing keras or tensorflow: the model name, the weights to start from, the data source
    (a named data set, an existing file or folder), the output paths and their folders, the
    strategy (and TF_CONFIG for multi-worker). ``options`` were checked when they were made."""
    builder = api.get(model) if isinstance(model, str) else model
    check_backend(builder.spec)
    start = starting_point(options.weights, builder.spec.name) if options.weights is not None else None
    if isinstance(data, Data):
        if data.model != builder.spec.name:
            raise DataError(f"the data was shaped for model {data.model!r}, not {builder.spec.name!r}; "
                              f"load it again with kzoo.datasets.load(source, {builder.spec.name!r}).")
    elif source_kind(data) == "dataset":
        get_dataset(os.fspath(data))
    for path in options.outputs:
        check_writable(path)
    checkpoint = resume.checkpoint_path(options.checkpoint_dir) if options.checkpoint_dir else None
    check_distinct({option("out"): options.out, option("metrics_out"): options.metrics_out,
                    option("plot"): options.plot, option("checkpoint_dir"): checkpoint},
                   {} if isinstance(data, Data) else {option("data"): data})
    if isinstance(options.strategy, str):
        strategies.check_strategy(options.strategy)
    return builder, start


TABLE_MODEL = "realmlp"
"""kzoo's model for a table when none is named: the one ``benchmarks/real_tables.py`` measured
best against HistGradientBoosting (docs/performance.md, "Real tables")."""
TABLE_ALIAS = "tabular"
"""The name that means :data:`TABLE_MODEL` (``kzoo train tabular --data t.csv``)."""
TABLE_SOURCES = ("csv", "dataset", "memory")


def model_for(model: str | ModelBuilder | None, data: Any) -> str | ModelBuilder:
    """``model``, or :data:`TABLE_MODEL` where none is named (None, or :data:`TABLE_ALIAS` that no
    plugin registered) and ``data`` is a table, with a note saying which model trains; for other
    data a ConfigError asks for a name."""
    if model is not None and (model != TABLE_ALIAS or model in get_host().registry):
        return model
    kind = "memory" if isinstance(data, Data) else source_kind(data)
    if kind not in TABLE_SOURCES:
        raise ConfigError(f"name the model to train on {kind} data (`kzoo list` shows them); only a table "
                          f"(a CSV file, a named data set, arrays or a DataFrame) has a default model, {TABLE_MODEL}.")
    warnings.warn(f"no model named: training {TABLE_MODEL}, kzoo's default for tables (name another, such as mlp, "
                  f"to choose)", ChoiceNote, stacklevel=outside_kzoo())
    return TABLE_MODEL


def train(
    model: str | ModelBuilder | None,
    data: str | os.PathLike[str] | Data,
    config: Mapping[str, Any] | None = None,
    options: TrainOptions | None = None,
    data_options: DataOptions | None = None,
    **option_fields: Any,
) -> TrainResult:
    """Train model ``model`` on ``data`` with kzoo's fast defaults; optionally save it.

    Args:
        model: a model name or builder; None or ``"tabular"`` for a table trains kzoo's default
            table model (:data:`TABLE_MODEL`) and says so with a :class:`kzoo.errors.ChoiceNote`.
        data: a data set name, ``"synthetic"``, a .csv/.npz path, an image folder, or a
            ``kzoo.datasets.Data``.
        config: build config overrides (``--set``); sizes the data fixes are inferred.
        options: how to train (:class:`kzoo.TrainOptions`: epochs, val_split, patience, out, ...).
        data_options: how to read the data (:class:`kzoo.DataOptions`: target, inputs, ...).
        option_fields: any field of either, by name, applied on top:
            ``kzoo.train("mlp", "iris", epochs=20, val_split=0.2, target="species")``;
            ``quiet=True`` is the CLI's ``--quiet`` (``verbose=0``, Python's default).

    Returns:
        A :class:`TrainResult`: ``model`` (for a table, self-contained: it takes the raw
        columns), ``history`` (per epoch, resumed epochs included), ``metrics`` (of the weights
        kept), ``metadata`` (what the saved file records) and ``stop_reason``.

    Raises:
        kzoo.OptionError, kzoo.ConfigError, kzoo.DataError: a bad option, model, strategy or data
        source, reported before any data is read or any framework starts; kzoo.ConfigError also
        when training diverges (nothing is written).

    Example::

        result = kzoo.train("mlp", "iris", epochs=50, val_split=0.2, out="iris.keras")
        print(result.metrics["val_accuracy"], result.stop_reason)
    """
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError(f"config must be a mapping of build values, not {type(config).__name__}; pass "
                          f"options=TrainOptions(...) and data_options=DataOptions(...) by name.")
    options, data_options = split_options(option_fields, options, data_options)
    builder, start = check_run(model_for(model, data), data, options, data_options)
    strategy = options.strategy
    # Multi-worker collective ops must be configured before any TensorFlow op (shaping data may
    # build the model); otherwise the data is read first, so its mistakes come before any framework.
    early = strategy == "multi-worker"
    if early:
        strategy = strategies.resolve_strategy(strategy, options.worker_timeout)
    if not isinstance(data, Data):
        data = load_data(data, builder, config, data_options, seed=options.split_seed, val_split=options.val_split,
                         base_config=start.config if start is not None else None)
    if not early and (isinstance(strategy, str) or strategy is None):
        strategy = strategies.resolve_strategy(strategy, options.worker_timeout)
    return _fit_and_save(data.builder or builder, data, options, strategy, start)


def _fit_and_save(builder: ModelBuilder, data: Data, options: TrainOptions, strategy: Any,
                  start: Weights | None) -> TrainResult:
    """The run itself, once everything is checked and the data shaped."""
    train_xy, val_xy = split(data, options.val_split, options.split_seed)
    x_train, y_train, *weights = train_xy
    o = options.resolved(builder.recipe(), count_rows(train_xy[0]))  # the user's, the model's recipe, kzoo's
    steps = -(-count_rows(train_xy[0]) // o.batch_size)
    recorded = {"epochs": o.epochs, "batch_size": o.batch_size, "learning_rate": o.learning_rate,
                "schedule": o.schedule, "val_split": o.val_split, "seed": o.seed, "precision": o.precision}
    if val_xy is not None:  # patience means nothing without validation data
        recorded["patience"] = o.patience
    if o.data_seed is not None:
        recorded["data_seed"] = o.data_seed
    metadata = saving.model_metadata(data.model, data.config, plugin=builder.spec.plugin, data=data.meta,
                                     training=recorded, data_digest=data_digest(data))
    saving.metadata_text(metadata, room=HISTORY_ROOM)  # refused now, not after training
    init = None
    if start is not None:
        metadata["weights"] = {"name": start_label(start), start.hash_algorithm: start.digest}

        def init(net: Any) -> None:
            metadata["weights"] = start_from(net, start, o.freeze, o.freeze_until, o.unfreeze_top,
                                             backbone_layers(builder, data.config)).to_dict()

    net, initial_epoch, history = prepare_model(
        builder, data.config, metadata, o.checkpoint_dir, strategy, o.seed,
        optimizer=lambda: builder.make_optimizer(data.config, o.learning_rate,
                                                 o.epochs * steps if o.schedule == "cosine" else None),
        steps_per_execution=min(steps, strategies.steps_per_execution_for(strategy, o.steps_per_execution)),
        init=init, precision=o.precision,
    )
    if initial_epoch and o.verbose:  # say so now, not when training ends
        print(f"resumed from epoch {initial_epoch} in {o.checkpoint_dir}", flush=True)
    stopper = None
    if val_xy is not None and o.patience:
        state, best = resume.read_stopping(o.checkpoint_dir) if initial_epoch else (stopping.StopState(), None)
        if initial_epoch:
            resume.check_best_weights(o.checkpoint_dir, best, net)
        stopper = stopping.make_callback(o.patience, state, best)
    if stopper is None or stopper.state.stopped_epoch is None:  # a rerun of a finished run trains no more
        callbacks, verbose = make_callbacks(o.callbacks, o.checkpoint_dir, metadata, history, strategy, stopper), o.verbose
        if verbose == 2:  # one plain line per epoch instead of Keras's two
            callbacks, verbose = [*callbacks, epoch_lines(o.epochs)], 0
        fitted = loops.fit(net, x_train, y_train, sample_weight=weights[0] if weights else None, strategy=strategy, epochs=o.epochs, initial_epoch=initial_epoch,
                           batch_size=o.batch_size, seed=o.seed, validation_data=val_xy, callbacks=callbacks,
                           verbose=verbose, allow_fast_path=True)
        for key, values in fitted.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
    metadata.update(epoch=max(initial_epoch, len(next(iter(history.values()), []))), history=history)
    state = stopper.state if stopper else None
    _, metrics = stopping.kept_metrics(history, metadata["epoch"], state)
    stop_reason = stopping.reason(state, o.patience, o.epochs)
    if stopper is not None:
        metadata["stopping"] = stopper.state.to_dict()
    loss = metrics.get("loss")
    if loss is not None and not math.isfinite(loss):  # a model that answers NaN is no result
        raise ConfigError(f"training diverged: the loss is {loss} after epoch {metadata['epoch']}, so the model would "
                          f"predict NaN; nothing was written. Lower {option('learning_rate')} (it was "
                          f"{o.learning_rate:g}) or look for extreme values in the data.")
    chief = strategies.is_chief(strategy)  # only one process writes plain files
    trained = self_contained(net, data, builder.output_specs(data.config))
    with all_or_nothing() if chief else contextlib.nullcontext():  # the run's outputs land together
        if o.out is not None:
            saving.save_model(trained, o.out, metadata, strategy)
        if chief and o.metrics_out is not None:
            write_metrics(o.metrics_out, {"model": data.model, "epochs": metadata["epoch"],
                                          "initial_epoch": initial_epoch, "metrics": metrics, "history": history})
        if chief and o.plot is not None and history:
            plot_history(history, o.plot)
    return TrainResult(trained, history, metrics, initial_epoch, metadata["epoch"], metadata, chief, stop_reason, net)


def self_contained(net: Any, data: Data, outputs: Sequence[Any]) -> Any:
    """The model to save and return: ``net`` behind its data's preprocessing plan (a table), else
    ``net``. It is compiled like ``net``, with a copy of ``net``'s optimizer and its state (one
    optimizer object shared by both would be saved once, under ``net``, and come back empty)."""
    if not data.meta.get("plan"):
        return net
    trained = wrapping.wrap(net, Plan.from_dict(data.meta["plan"]))
    optimizer = type(net.optimizer).from_config(net.optimizer.get_config())
    optimizer.build(trained.trainable_variables)
    for copy, original in zip(optimizer.variables, net.optimizer.variables):
        copy.assign(original)
    fitting.compile_model(trained, outputs, optimizer=optimizer, steps_per_execution=net.steps_per_execution)
    return trained


def data_digest(data: Data) -> str:
    """A short fingerprint of the training arrays: a checkpoint made on other data is refused."""
    import numpy as np

    digest = hashlib.sha256()
    for part in (data.x, data.y or {}, {} if data.sample_weight is None else {"sample_weight": data.sample_weight}):
        for name in sorted(part):
            array = np.ascontiguousarray(part[name])
            digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:16]


def prepare_model(
    builder: ModelBuilder, config: Mapping[str, Any], metadata: Mapping[str, Any],
    checkpoint_dir: str | os.PathLike[str] | None, strategy: Any, seed: int, optimizer: Any,
    steps_per_execution: int, init: Any = None, precision: str = "float32",
) -> tuple[Any, int, dict[str, list[float]]]:
    """``(model, finished_epochs, history)``: restored from ``checkpoint_dir`` if it holds a
    checkpoint, else built and compiled fresh (``optimizer`` is a factory), all in the strategy's scope.
    ``init(model)`` runs on a fresh model before compiling (loading pretrained weights, freezing).
    A fresh model's layers compute in ``precision`` (a Keras dtype policy), its outputs in float32."""
    set_random_seed(seed)
    with strategies.scope(strategy):
        restored = resume.restore(checkpoint_dir, metadata) if checkpoint_dir else None
        if restored is not None:
            return restored
        with dtype_policy(precision):  # the model's own policy too: compile reads it (loss scaling)
            net = float32_outputs(build_checked(builder, config), builder.custom_objects())
        check_built(builder, config, net)
        if init is not None:
            init(net)
        builder.compile(net, optimizer=optimizer(), config=config, steps_per_execution=steps_per_execution)
    return net, 0, {}


def check_built(builder: ModelBuilder, config: Mapping[str, Any], net: Any) -> None:
    """Refuse a built network whose inputs are not those its spec or manifest promised (the data
    was shaped by the promise): one line naming the plugin, not a failure deep inside Keras."""
    said = builder.spec.inputs
    if said is None or not builder._is_default(config):
        return
    try:
        built = [tuple(t.shape)[1:] for t in net.inputs]
    except (AttributeError, ValueError, TypeError):  # a subclassed model without symbolic inputs
        return
    if len(built) != len(said) or not all(shape_fits(b, s.shape) for b, s in zip(built, said)):
        raise PluginError(f"model {builder.spec.name!r} of plugin {builder.spec.plugin!r}: its spec or manifest says "
                          f"it takes inputs {[list(s.shape) for s in said]}, but the built model takes "
                          f"{[list(b) for b in built]}; regenerate the manifest (`kzoo manifest`) or fix the spec.")


def make_callbacks(
    extra: Sequence[Any], checkpoint_dir: str | os.PathLike[str] | None, metadata: Mapping[str, Any],
    history: dict[str, list[float]], strategy: Any = None, stopper: Any = None,
) -> list[Any]:
    """Every callback of a training run, assembled in this one place; early stopping runs before
    the checkpoint, which then records its state."""
    callbacks = list(extra)
    if stopper is not None:
        callbacks.append(stopper)
    if checkpoint_dir is not None:
        callbacks.append(resume.epoch_checkpoint(checkpoint_dir, metadata, history, strategy, stopper))
    return callbacks


def split(data: Data, val_split: float, seed: int) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    """``(train, validation)``, each ``(x, y)``, or ``(x, y, sample_weight)`` for data that carries
    weights (``Data.sample_weight``); stratified by the class target when possible."""
    weighted = data.sample_weight is not None
    if not val_split:
        return ((data.x, data.y, data.sample_weight) if weighted else (data.x, data.y)), None
    import numpy as np

    train_idx, val_idx = split_rows(data.num_samples, class_labels(data.y), val_split, seed)

    def take(rows: np.ndarray) -> tuple[Any, ...]:
        x, y = ({k: np.asarray(v)[rows] for k, v in part.items()} for part in (data.x, data.y))
        return (x, y, np.asarray(data.sample_weight)[rows]) if weighted else (x, y)

    return take(train_idx), take(val_idx)


def write_metrics(path: str | os.PathLike[str], metrics: Mapping[str, Any]) -> None:
    """``metrics`` as strict JSON (NaN and infinities as null), written atomically."""
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
