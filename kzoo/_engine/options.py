"""How to train and how to read data, as two validated dataclasses: the one place every option
is defined, defaulted and checked. ``kzoo.train``, the builder methods and ``kzoo train`` all take
them, so a value is checked once, before any data is read or any framework starts.

Plain Python: no numpy, keras or tensorflow is imported here. Problems are reported with the
option's Python name (``epochs``); the CLI renders the same problems with its flag names
(``--epochs``), see :class:`kzoo.OptionError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .._meta.tables import TASKS
from .._system.limits import MAX_INT32, MAX_SEED
from ..errors import ConfigError, OptionError, close_matches
from .precision import PRECISIONS

DEFAULT_EPOCHS = 100
DEFAULT_BATCH_SIZE = 128
DEFAULT_LEARNING_RATE = 0.02
MAX_LEARNING_RATE = 10.0  # Adam's steps: larger ones only diverge (1e308 is not even a float32)
DEFAULT_STEPS_PER_EXECUTION = 64
DEFAULT_PATIENCE = 10  # epochs without improvement before early stopping (kzoo._engine.stopping)
DEFAULT_SYNTHETIC_SAMPLES = 256
MAX_EXPORT_SAMPLES = 100_000
"""Generated inputs an export's check may run: enough for any comparison, never gigabytes."""
EVAL_BATCH_SIZE = 1024
SCHEDULES = ("cosine", "constant")
STRATEGIES = ("default", "mirrored", "multi-worker", "data-parallel")
"""The strategy names ``kzoo.distribute.resolve_strategy`` accepts (``None`` means ``"default"``)."""
DEFAULT_WORKER_TIMEOUT = 300.0
"""Seconds multi-worker start-up waits for every worker of TF_CONFIG to appear."""
PLOT_FORMATS = ("png", "svg", "pdf")
"""File suffixes ``kzoo._workflow.curves.plot_history`` writes."""


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _path(value: Any) -> str | None:
    return None if value is None else os.fspath(value)


@dataclass(frozen=True)
class DataOptions:
    """How to read a data source for a model (``kzoo.datasets.load``).

    Attributes:
        target: CSV target column, or ``OUTPUT=COLUMN`` items for several outputs.
        inputs: CSV columns (or one text column) per input name, for multi-input models.
        standardize: z-score the features, inside the trained model (None: the data set's
            choice; on for files and in-memory tables).
        samples: rows of synthetic data.
        skip_bad_files: leave out unreadable files of an image folder (with a count).
        task: ``classification`` or ``regression``; None decides from the target (see
            :func:`kzoo.datasets.preprocess.decide_task`).
        na_values: the cells of a CSV file that mean "missing" (None: ``DEFAULT_NA_VALUES``).
        drop: columns to leave out.
    """

    target: tuple[str, ...] = ()
    inputs: Mapping[str, tuple[str, ...]] | None = None
    standardize: bool | None = None
    samples: int = DEFAULT_SYNTHETIC_SAMPLES
    skip_bad_files: bool = False
    task: str | None = None
    na_values: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        target = (self.target,) if isinstance(self.target, str) else tuple(self.target or ())
        object.__setattr__(self, "target", target)
        if self.inputs is not None:
            object.__setattr__(self, "inputs", {str(k): tuple(v) for k, v in dict(self.inputs).items()} or None)
        if self.samples is None:
            object.__setattr__(self, "samples", DEFAULT_SYNTHETIC_SAMPLES)
        problems = []
        if not all(isinstance(t, str) and t for t in target):
            problems.append(("target", self.target, "column names"))
        if not _whole(self.samples, 1, 2**63 - 1):
            problems.append(("samples", self.samples, "an integer >= 1"))
        if self.task not in (None, *TASKS):
            problems.append(("task", self.task, " or ".join(TASKS)))
        for name in ("na_values", "drop"):
            value = getattr(self, name)
            if value is not None:
                value = (value,) if isinstance(value, str) else tuple(value)
                object.__setattr__(self, name, value)
                if not all(isinstance(v, str) for v in value):
                    problems.append((name, value, "strings"))
        if problems:
            raise OptionError(problems, what="data option")


@dataclass(frozen=True)
class TrainOptions:
    """How to train (``kzoo.train``, ``ModelBuilder.train``, ``kzoo train``).

    Attributes:
        epochs: the ceiling of passes over the training data (a resumed run counts those done).
        batch_size, learning_rate: samples per step and the optimizer's peak rate.
        schedule: ``cosine`` (decay to a tenth over ``epochs``) or ``constant``.
        val_split: fraction held out for validation (stratified by class when possible).
        patience: with a validation split, stop once ``val_accuracy`` (else ``val_loss``) has
            not improved for this many epochs and keep the best epoch's weights (0: never).

        The five above left None (the default) take the model's declared recipe
        (``ModelSpec.training``), else kzoo's defaults; an unset ``batch_size`` also follows the
        table's size (:func:`batch_size_for`). :meth:`resolved` fills them in before training.
        steps_per_execution: training steps per graph call.
        seed: seed of weights, shuffling, the validation split and synthetic data.
        data_seed: when set, the seed of the validation split and synthetic data instead of
            ``seed``: ``kzoo tune`` gives every trial its own ``seed`` and the same split.
        verbose: 0 silent, 1 Keras's progress bar, 2 one plain line per epoch (for logs).
        checkpoint_dir: save model + optimizer after every epoch; a rerun resumes from there.
        out, metrics_out, plot: the trained .keras model, final metrics (JSON) and training
            curves (.png/.svg/.pdf), written atomically and together.
        strategy: a name in :data:`STRATEGIES`, or a ``tf.distribute`` strategy object.
        worker_timeout: seconds a multi-worker start waits for the other workers.
        weights: fine-tune from these registered weights (``"iris"`` or ``"mlp.iris"``), or from
            a model kzoo saved (a ``.keras`` path: the second stage of transfer learning).
        freeze: train only the head (a model that declares a backbone), else the rebuilt layers
            (or the output layers when none were rebuilt); BatchNorm layers run in inference mode.
        freeze_until: freeze every layer up to and including this one.
        unfreeze_top: as ``freeze``, and also train the top N layers with weights of the rest
            (the second stage of transfer learning, with a lower ``learning_rate``); BatchNorm
            layers among them stay frozen, in inference mode, as Keras's transfer-learning guide does.
        precision: ``float32``, or a Keras mixed policy (``mixed_bfloat16``, ``mixed_float16``):
            layers compute in 16 bits and keep float32 weights; the outputs stay float32.
        callbacks: extra Keras callbacks.
    """

    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    schedule: str | None = None
    val_split: float = 0.0
    patience: int | None = None
    steps_per_execution: int = DEFAULT_STEPS_PER_EXECUTION
    seed: int = 0
    data_seed: int | None = None
    verbose: int | str = 0
    checkpoint_dir: str | None = None
    out: str | None = None
    metrics_out: str | None = None
    plot: str | None = None
    strategy: Any = None
    worker_timeout: float = DEFAULT_WORKER_TIMEOUT
    weights: Any = None
    freeze: bool = False
    freeze_until: str | None = None
    unfreeze_top: int | None = None
    precision: str = "float32"
    callbacks: tuple[Any, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("checkpoint_dir", "out", "metrics_out", "plot"):
            object.__setattr__(self, name, _path(getattr(self, name)))
        if self.worker_timeout is None:
            object.__setattr__(self, "worker_timeout", DEFAULT_WORKER_TIMEOUT)
        object.__setattr__(self, "callbacks", tuple(self.callbacks or ()))
        if self.strategy == "default":
            object.__setattr__(self, "strategy", None)
        problems = self._problems()
        if problems:
            raise OptionError(problems)
        if self.freeze_until and (self.freeze or self.unfreeze_top is not None):
            other = "freeze" if self.freeze else "unfreeze_top"
            raise OptionError([(other, getattr(self, other), f"{other} or freeze_until, not both")])
        chosen = [(n, getattr(self, n)) for n in ("freeze", "freeze_until", "unfreeze_top") if getattr(self, n)]
        if chosen and self.weights is None:
            raise OptionError([(*chosen[0], "weights to fine-tune from: only fine-tuning freezes layers")])

    def _problems(self) -> list[tuple[str, Any, str]]:
        problems: list[tuple[str, Any, str]] = recipe_problems(
            {name: getattr(self, name) for name in RECIPE_FIELDS if getattr(self, name) is not None})
        if not _whole(self.steps_per_execution, 1, MAX_INT32):
            problems.append(("steps_per_execution", self.steps_per_execution, f"an integer in 1..{MAX_INT32}"))
        if self.unfreeze_top is not None and not _whole(self.unfreeze_top, 1, MAX_INT32):
            problems.append(("unfreeze_top", self.unfreeze_top, "a number of layers >= 1, such as 20"))
        if not _whole(self.seed, 0, MAX_SEED):
            problems.append(("seed", self.seed, f"an integer in 0..{MAX_SEED}"))
        if self.data_seed is not None and not _whole(self.data_seed, 0, MAX_SEED):
            problems.append(("data_seed", self.data_seed, f"an integer in 0..{MAX_SEED}"))
        if self.precision not in PRECISIONS:
            problems.append(("precision", self.precision, " or ".join(PRECISIONS)))
        if not (isinstance(self.val_split, (int, float)) and not isinstance(self.val_split, bool)
                and 0 <= self.val_split < 1):
            problems.append(("val_split", self.val_split, "a fraction in [0, 1), such as 0.2"))
        if self.verbose not in (0, 1, 2, "auto"):
            problems.append(("verbose", self.verbose, "0, 1 or 2"))
        if isinstance(self.strategy, str) and self.strategy not in STRATEGIES:
            problems.append(("strategy", self.strategy, "one of " + ", ".join(STRATEGIES)))
        if not (isinstance(self.worker_timeout, (int, float)) and self.worker_timeout > 0):
            problems.append(("worker_timeout", self.worker_timeout, "seconds > 0, such as 300"))
        if self.out is not None and not self.out.endswith(".keras"):
            problems.append(("out", self.out, "a path ending in .keras"))
        if self.plot is not None and Path(self.plot).suffix.lower().lstrip(".") not in PLOT_FORMATS:
            problems.append(("plot", self.plot, "a file name ending in "
                             + " or ".join([", ".join(f".{f}" for f in PLOT_FORMATS[:-1]), f".{PLOT_FORMATS[-1]}"])))
        return problems

    @property
    def split_seed(self) -> int:
        """The seed of the validation split and synthetic data: ``data_seed``, else ``seed``."""
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def outputs(self) -> tuple[str, ...]:
        """The files this run writes (checked for writability before any work)."""
        return tuple(p for p in (self.out, self.metrics_out, self.plot) if p is not None)

    def replace(self, **changes: Any) -> TrainOptions:
        """A copy with ``changes``, validated again."""
        return replace(self, **changes)

    def resolved(self, recipe: Mapping[str, Any] | None = None, rows: int | None = None) -> TrainOptions:
        """A copy with every :data:`RECIPE_FIELDS` value set: the caller's where given, else the
        model's ``recipe`` (``ModelSpec.training``), else kzoo's default; an unset batch size
        follows the number of training ``rows`` (:func:`batch_size_for`) when it is known.

        Args:
            recipe: the model's declared training defaults.
            rows: training rows, when the data is known.

        Returns:
            TrainOptions whose ``epochs``, ``batch_size``, ``learning_rate``, ``schedule`` and
            ``patience`` are all set.
        """
        recipe = dict(recipe or {})
        chosen = {name: recipe.get(name, RECIPE_DEFAULTS[name]) for name in RECIPE_FIELDS if getattr(self, name) is None}
        if "batch_size" in chosen and rows is not None:
            chosen["batch_size"] = batch_size_for(rows, chosen["batch_size"])
        return replace(self, **chosen) if chosen else self


RECIPE_FIELDS = ("epochs", "batch_size", "learning_rate", "schedule", "patience")
"""The options a model's recipe (``ModelSpec.training``) may set and a user's value overrides."""
RECIPE_DEFAULTS: Mapping[str, Any] = {"epochs": DEFAULT_EPOCHS, "batch_size": DEFAULT_BATCH_SIZE,
                                      "learning_rate": DEFAULT_LEARNING_RATE, "schedule": "cosine",
                                      "patience": DEFAULT_PATIENCE}
"""kzoo's own values for what neither the user nor the model's recipe sets."""
MIN_STEPS_PER_EPOCH = 8
MIN_AUTO_BATCH_SIZE = 16


def batch_size_for(rows: int, largest: int = DEFAULT_BATCH_SIZE) -> int:
    """The batch size kzoo picks when nobody chose one: ``largest`` (the recipe's, else 128),
    halved until an epoch has at least :data:`MIN_STEPS_PER_EPOCH` steps, but not below
    :data:`MIN_AUTO_BATCH_SIZE` (nor below 1, for a batch larger than the table).

    Why: with 120 training rows (iris at ``val_split=0.2``) a batch of 128 is one step per epoch,
    so 30 epochs were 30 steps and a patience of 10 epochs was 10 steps: training stopped at epoch
    19 with 0.87 validation accuracy. Eight steps an epoch at least makes an epoch mean the same
    on a small table as on a large one, and the patience with it.

    Example:
        >>> batch_size_for(120), batch_size_for(455), batch_size_for(50_000)
        (16, 64, 128)
    """
    batch = largest
    while batch > MIN_AUTO_BATCH_SIZE and -(-rows // batch) < MIN_STEPS_PER_EPOCH:
        batch //= 2
    return max(1, min(batch, max(MIN_AUTO_BATCH_SIZE, largest)))


def recipe_problems(values: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``(option, value, expected)`` for each bad value of :data:`RECIPE_FIELDS` in ``values`` (a
    user's options or a model's declared recipe) and each name that is not one of them."""
    problems: list[tuple[str, Any, str]] = []
    for name, value in values.items():
        if name not in RECIPE_FIELDS:
            problems.append((name, value, "a recipe option: " + ", ".join(RECIPE_FIELDS)))
        elif name in ("epochs", "batch_size") and not _whole(value, 1, MAX_INT32):
            problems.append((name, value, f"an integer in 1..{MAX_INT32}"))
        elif name == "learning_rate" and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                              and math.isfinite(value) and 0 < value <= MAX_LEARNING_RATE):
            problems.append((name, value, f"a number above 0 and at most {MAX_LEARNING_RATE:g}, such as 0.01"))
        elif name == "patience" and not _whole(value, 0, MAX_INT32):
            problems.append((name, value, "a whole number of epochs >= 0; 0 never stops early"))
        elif name == "schedule" and value not in SCHEDULES:
            problems.append((name, value, " or ".join(SCHEDULES)))
    return problems


def split_options(fields_given: Mapping[str, Any], train: TrainOptions | None = None,
                  data: DataOptions | None = None) -> tuple[TrainOptions, DataOptions]:
    """``(TrainOptions, DataOptions)`` from keyword arguments named after their fields, applied on
    top of ``train`` and ``data`` (or the defaults). An unknown name is a ConfigError with a hint."""
    fields_given = quiet_as_verbose(fields_given)
    train_names = {f.name for f in fields(TrainOptions)}
    data_names = {f.name for f in fields(DataOptions)}
    unknown = sorted(set(fields_given) - train_names - data_names)
    if unknown:
        hints = [f"{name!r} (did you mean {', '.join(close_matches(name, train_names | data_names))}?)"
                 if close_matches(name, train_names | data_names) else repr(name) for name in unknown]
        raise ConfigError(f"unknown option {', '.join(hints)}; expected one of: "
                          f"{', '.join(sorted(train_names | data_names))}.")
    train_changes = {k: v for k, v in fields_given.items() if k in train_names}
    data_changes = {k: v for k, v in fields_given.items() if k in data_names}
    train = replace(train, **train_changes) if train is not None else TrainOptions(**train_changes)
    data = replace(data, **data_changes) if data is not None else DataOptions(**data_changes)
    return train, data


def quiet_as_verbose(given: Mapping[str, Any]) -> dict[str, Any]:
    """``quiet=True``, the Python spelling of the CLI's ``--quiet``, as ``verbose=0`` (Python's
    default is already silent, so ``quiet=False`` changes nothing)."""
    given = dict(given)
    if "quiet" not in given:
        return given
    quiet = given.pop("quiet")
    if not isinstance(quiet, bool):
        raise ConfigError(f"option quiet={quiet!r} is not allowed; expected True or False.")
    if quiet and given.get("verbose", 0) not in (0, False):
        raise ConfigError(f"options quiet=True and verbose={given['verbose']!r} contradict each other; give one of them.")
    if quiet:
        given["verbose"] = 0
    return given
