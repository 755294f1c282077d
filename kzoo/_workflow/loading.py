"""Loading data shaped and checked for one model (imports numpy; kzoo.datasets imports this lazily)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._engine.options import DEFAULT_SYNTHETIC_SAMPLES, DataOptions
from .._engine.wrapping import free_names
from .._meta.spec import BINARY_LOSSES, SPARSE_LOSSES, TensorSpec
from .._meta.tables import table_suffix
from .._system.limits import check_allocation
from .._zoo.builder import ModelBuilder
from .._zoo.datasets import SYNTHETIC, get_dataset, load_dataset
from .._zoo.tasks import for_task
from ..datasets import text
from ..datasets.checks import check_class_count, check_data
from ..datasets.files import (
    leave_out_unusable,
    read_csv,
    read_npz,
    require_file,
    split_npz,
)
from ..datasets.images import image_input, is_image_source, read_images
from ..datasets.memory import table_from_memory
from ..datasets.preprocess import (
    MAX_INTEGER_CLASSES,
    Plan,
    decide_task,
    encode,
    examples,
    fit_plan,
)
from ..datasets.splits import class_labels, split_rows
from ..datasets.synthetic import synthetic_data
from ..datasets.table import DEFAULT_NA_VALUES, Table
from ..errors import ConfigError, CsvNote, DataError, option, outside_kzoo
from .api import get

__all__ = ["DEFAULT_SYNTHETIC_SAMPLES", "READERS", "Data", "load_data", "load_table", "source_kind"]


@dataclass
class Data:
    """Data shaped for one model: ``x``/``y`` keyed by input/output name, the model config the
    data fixes, and ``meta`` (how it was shaped: columns, classes, scaling, text vocabularies)
    that is saved with a trained model so evaluate and predict shape new data the same way."""

    model: str
    config: dict[str, Any]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray] | None
    meta: dict[str, Any] = field(default_factory=dict)
    paths: list[str] | None = None  # the file of each sample, for data read from image folders
    builder: Any = field(default=None, repr=False)  # the builder for the task (a regressor's, say)
    sample_weight: np.ndarray | None = field(default=None, repr=False)  # one per sample: scales its loss

    @property
    def num_samples(self) -> int:
        return len(next(iter(self.x.values())))

    @property
    def class_names(self) -> list[str] | None:
        return self.meta.get("class_names")


@dataclass
class Request:
    """What every reader is given: the source as passed (``given``) and as named in messages
    (``source``), its kind, the builder, the reading options, and what a saved model recorded."""

    given: Any
    source: str
    kind: str
    builder: ModelBuilder
    options: DataOptions
    target: list[str]
    inputs: Mapping[str, Sequence[str]] | None
    base: dict[str, Any]  # the config to start from (pretrained weights' config)
    overrides: dict[str, Any]  # the saved model's config updated with the user's
    metadata: Mapping[str, Any] | None
    seed: int
    val_split: float
    require_target: bool

    @property
    def saved(self) -> dict[str, Any]:
        """How a saved model's data was read (its metadata's ``data``); empty for a new model."""
        return dict((self.metadata or {}).get("data", {}))

    @property
    def config(self) -> dict[str, Any]:
        """The config before the data fixes any sizes."""
        return {**self.base, **self.overrides}


@dataclass
class Shaped:
    """Arrays already keyed by the model's inputs and outputs (synthetic data, an NPZ file), or a
    table shaped by :func:`shape_table`, with the builder and config they were shaped for."""

    builder: ModelBuilder
    config: dict[str, Any]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray] | None
    paths: list[str] | None = None


def load_data(
    source: str | os.PathLike[str],
    model: str | ModelBuilder,
    config: Mapping[str, Any] | None = None,
    options: DataOptions | None = None,
    *,
    seed: int = 0,
    val_split: float = 0.0,
    metadata: Mapping[str, Any] | None = None,
    require_target: bool = True,
    base_config: Mapping[str, Any] | None = None,
    **option_fields: Any,
) -> Data:
    """Data from ``source`` shaped and checked for ``model`` (public as ``kzoo.datasets.load``).

    Args:
        source: a data set name (``kzoo datasets``), ``"synthetic"``, a ``.csv``/``.npz`` path,
            or an image folder or file.
        model: a model name or builder.
        config: the user's config overrides; other keys the data fixes (input sizes, class count)
            are inferred by the builder's ``infer_config``.
        options: how to read it (:class:`kzoo.DataOptions`: target, inputs, standardize,
            samples, skip_bad_files); ``option_fields`` are its fields by name, applied on top.
        seed: seed of synthetic data and of the validation split.
        val_split: the fraction training will hold out (with ``seed``): what the data learns
            (a text vocabulary) is learnt from the other rows only.
        metadata: kzoo metadata of a saved model: reuse its config, columns, classes, scaling.
        require_target: False for prediction, where data may have no targets.
        base_config: config to start from instead of the defaults (the config of pretrained
            weights being fine-tuned); the sizes the data fixes and then ``config`` override it.
    """
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError(f"config must be a mapping of build values, not {type(config).__name__}; pass reading "
                          f"options as options=DataOptions(...).")
    if option_fields or options is None:
        options = replace(options, **option_fields) if options is not None else DataOptions(**option_fields)
    builder = get(model) if isinstance(model, str) else model
    kind = source_kind(source)
    name = f"in-memory data ({type(source).__name__})" if kind == "memory" else os.fspath(source)
    saved = dict((metadata or {}).get("data", {}))
    overrides = {**dict((metadata or {}).get("config") or {}), **(config or {})}
    request = Request(source, name, kind, builder, options, list(options.target) or list(saved.get("target", [])),
                      options.inputs or saved.get("inputs") or None, dict(base_config or {}), overrides, metadata,
                      seed, val_split, require_target)
    if options.target and kind not in ("csv", "memory"):
        raise DataError(
            f"a target column only applies to CSV files; {name!r} is a {'data set' if kind == 'dataset' else kind + ' source'} "
            f"whose targets are fixed (see `kzoo datasets` and docs/data.md); leave the target out."
        )
    info: dict[str, Any] = {"source": name, "target": request.target, "inputs": request.inputs}
    read = read_source(request)
    shaped = read if isinstance(read, Shaped) else shape_table(read, request, info)
    builder, cfg, x, y = shaped.builder, shaped.config, shaped.x, shaped.y
    if require_target and y is None:
        raise DataError(f"{name}: no targets to train or evaluate on; pass {option('target')} COLUMN.")
    check_data(name, x, y, builder.input_specs(cfg), builder.output_specs(cfg), saved=bool(metadata),
               config_keys=tuple(builder.spec.default_config))
    if require_target and not metadata and kind != "synthetic":
        require_two_classes(name, y, builder.output_specs(cfg), request.target)
    return Data(model=builder.spec.name, config=cfg, x=x, y=y, meta=info, paths=shaped.paths, builder=builder)


def read_source(request: Request) -> Table | Shaped:
    """The source read by the reader of its kind (:data:`READERS`, as :func:`source_kind` names it)."""
    return READERS[request.kind](request)


def read_synthetic(request: Request) -> Shaped:
    """Random arrays of the model's input and output shapes (``--data synthetic``)."""
    builder, samples = request.builder, request.options.samples
    cfg = builder.config(**request.config)
    inputs, outputs = builder.input_specs(cfg), builder.output_specs(cfg)
    check_synthetic_size(samples, [*inputs, *outputs])
    return Shaped(builder, cfg, *synthetic_data(inputs, outputs, n=samples, seed=request.seed))


def read_npz_file(request: Request) -> Shaped:
    """An ``.npz`` file's arrays, named after the model's inputs and outputs."""
    builder = request.builder
    cfg = builder.config(**request.config)
    inputs, outputs = [t.name for t in builder.input_specs(cfg)], [t.name for t in builder.output_specs(cfg)]
    x, y = split_npz(request.source, read_npz(request.source, [*inputs, *outputs]), inputs, outputs,
                     request.require_target)
    return Shaped(builder, cfg, x, y)


def read_image_source(request: Request) -> Table:
    """An image folder (a subfolder per class) or image file, sized for the model's image input."""
    builder = request.builder
    spec = image_input(builder.input_specs(builder.config(**request.config)), builder.spec.name)
    return read_images(request.source, spec, request.saved.get("class_names"), request.require_target,
                       request.options.skip_bad_files)


def read_csv_file(request: Request) -> Table:
    """A CSV file's columns: the target, inputs, dropped columns and missing values asked for."""
    options, saved = request.options, request.saved
    table = read_csv(request.given, target=request.target, inputs=request.inputs, class_names=saved.get("class_names"),
                     require_target=request.require_target, features=saved.get("columns"),
                     target_classes=saved.get("target_classes"), drop=options.drop,
                     na_values=DEFAULT_NA_VALUES if options.na_values is None else options.na_values)
    return checked_table(table, request)


def read_dataset(request: Request) -> Table:
    """A registered data set's table (``kzoo datasets``)."""
    return checked_table(_dropped(_dataset_table(request.given, request.inputs), request.options), request)


def read_memory(request: Request) -> Table:
    """Arrays, a dict of columns or a DataFrame (:func:`~kzoo.datasets.memory.table_from_memory`)."""
    plain = [t for t in request.target if "=" not in t]
    table = table_from_memory(request.given, plain[0] if plain else None,
                              source=f"in-memory {type(request.given).__name__}")
    if request.inputs:
        table.select_inputs(request.inputs)
    return checked_table(_dropped(table, request.options), request)


#: The reader of each kind of source :func:`source_kind` names: one that returns a
#: :class:`Shaped` fills the model's arrays itself, one that returns a table is shaped by
#: :func:`shape_table`.
READERS: dict[str, Callable[[Request], Table | Shaped]] = {
    "synthetic": read_synthetic,
    "npz": read_npz_file,
    "images": read_image_source,
    "csv": read_csv_file,
    "dataset": read_dataset,
    "memory": read_memory,
}


def shape_table(table: Table, request: Request, info: dict[str, Any]) -> Shaped:
    """``table`` preprocessed (a plan the model will carry, or z-scores) and shaped for the
    model's inputs; how it was shaped is added to ``info``."""
    builder, kind, saved, options = request.builder, request.kind, request.saved, request.options
    standardize = options.standardize
    plan = None
    if kind == "dataset" and standardize is None:
        standardize = get_dataset(request.source).standardize
    if request.metadata is None and self_contained(builder, kind, request.config):
        leave_out_unusable(table)
        info["na_values"] = list(DEFAULT_NA_VALUES if options.na_values is None else options.na_values)
        plan, builder, info["examples"] = plan_for(table, builder, options, request.val_split, request.seed,
                                                   standardize=True if standardize is None else bool(standardize))
    else:
        info["preprocess"] = _preprocess(table, saved.get("preprocess"), bool(standardize))
    info["class_names"] = table.class_names or saved.get("class_names")
    info["target_classes"] = table.target_classes or saved.get("target_classes") or {}
    if kind != "images":
        info["columns"] = (plan.raw_columns if plan else table.feature_names) + list(table.text)
    inferred = {} if (request.metadata or {}).get("config") else builder.infer_config(table)
    cfg = builder.config(**{**request.base, **inferred, **request.overrides})
    x, y = builder.shape_data(table, cfg)
    if plan is not None:
        plan.feeds = feeds(builder, table, cfg)
        plan.outputs = [spec.to_dict() for spec in builder.output_specs(cfg)]
        free_names(plan, builder.spec.name)  # a column called "output" keeps its values, under another input name
        info["plan"] = plan.to_dict()
    if not request.require_target:
        y = None  # prediction never reads targets (placeholders kept the training layout)
    if table.text:
        val_split, seed = request.val_split, request.seed
        train_rows = split_rows(len(next(iter(x.values()))), class_labels(y), val_split, seed)[0] if val_split else None
        info["text"] = text.vectorize(x, builder.input_specs(cfg), train_rows, saved.get("text"))
    return Shaped(builder, cfg, x, y, table.paths)


def source_kind(source: Any) -> str:
    """``synthetic``, ``npz``, ``csv``, ``images``, ``dataset``, or ``memory`` for data that is not
    a name or path (arrays, a dict of columns, a DataFrame); a path-like name that does not exist errors."""
    if not isinstance(source, (str, os.PathLike)):
        return "memory"
    source = os.fspath(source)
    if source == SYNTHETIC:
        return "synthetic"
    if is_image_source(source):
        return "images"
    lowered = source.lower()
    if lowered.endswith(".npz"):
        return "npz"
    if table_suffix(source) or os.path.isfile(source):
        if not table_suffix(source):
            raise DataError(f"{source!r}: unknown file type; expected a .csv or .tsv file (or one compressed as "
                            f".gz, .bz2, .xz or .zip) or a .npz file.")
        return "csv"
    if os.sep in source or "/" in source:
        require_file(source)
    return "dataset"


def load_table(source: str, inputs: Mapping[str, Sequence[str]] | None = None, **csv_options: Any) -> Table:
    """A raw feature table from a data set name or a CSV file (not yet shaped for a model).
    ``csv_options`` go to :func:`~kzoo.datasets.files.read_csv` (target, class_names, ...)."""
    if source_kind(source) == "csv":
        return read_csv(source, inputs=inputs, **csv_options)
    return _dataset_table(source, inputs)


def _dataset_table(source: str, inputs: Mapping[str, Sequence[str]] | None) -> Table:
    table = load_dataset(source)
    table.source = source
    if inputs:
        table.select_inputs(inputs)
    return table


def _dropped(table: Table, options: DataOptions) -> Table:
    return drop_columns(table, options.drop) if options.drop else table


def checked_table(table: Table, request: Request) -> Table:
    """``table`` after the checks a CSV file, a data set or in-memory data all pass; numpy only,
    so every mistake in the data is reported before any framework starts."""
    if request.require_target and table.target is not None and not request.saved and request.options.task != "regression":
        require_two_classes(table.source or str(request.given),
                            {"target": table.target} if _is_labels(table) else None,
                            [TensorSpec("target", (2,), loss="sparse_categorical_crossentropy")], request.target)
        check_class_count(table, request.options.task)
    return table


def _is_labels(table: Table) -> bool:
    return table.class_names is not None or (np.issubdtype(table.target.dtype, np.integer)
                                             and len(np.unique(table.target)) <= MAX_INTEGER_CLASSES)


def drop_columns(table: Table, names: Sequence[str]) -> Table:
    """``table`` without the feature or text columns ``names``."""
    unknown = [n for n in names if n not in table.feature_names and n not in table.text]
    if unknown:
        raise DataError(f"{table.source}: no column {', '.join(map(repr, unknown))} to drop; columns are "
                        f"{', '.join(table.feature_names + list(table.text))}.")
    keep = [i for i, n in enumerate(table.feature_names) if n not in names]
    table.features, table.feature_names = table.features[:, keep], [table.feature_names[i] for i in keep]
    table.text = {k: v for k, v in table.text.items() if k not in names}
    return table


def self_contained(builder: ModelBuilder, kind: str, config: Mapping[str, Any]) -> bool:
    """True when the trained model will carry its preprocessing (see :mod:`kzoo._engine.wrapping`):
    a table (not images) for a model that lays columns out with the default rule (a builder with
    its own ``shape_data``, such as pairs of rows, shapes data kzoo cannot redo inside a model)
    and takes no token sequences (text columns are then tokenized, not one-hot)."""
    if kind == "images" or builder.shapes_its_own_data:
        return False
    return not any(t.is_sequence for t in builder.input_specs(builder.config(**config)))


def plan_for(table: Table, builder: ModelBuilder, options: DataOptions, val_split: float, seed: int,
             standardize: bool) -> tuple[Plan, ModelBuilder, dict[str, Any]]:
    """Learn the preprocessing plan from the training rows and encode ``table`` with it in place;
    returns the plan, the builder for the target's task (a regressor's for regression) and a few
    raw training rows (:func:`~kzoo.datasets.preprocess.examples`)."""
    task, note = decide_task(table, options.task)
    if note:
        warnings.warn(f"{table.source}: {note}", CsvNote, stacklevel=outside_kzoo())
    builder = for_task(builder, task)
    scale: dict[str, float] = {}
    labels = class_labels({"target": table.target}) if table.target is not None and task == "classification" else None
    rows = split_rows(table.num_samples, labels, val_split, seed)[0] if val_split else None
    if task == "regression":  # the target's scale, like every statistic, from the training rows only
        values = table.target.astype("float64")
        fit = values if rows is None else values[rows]
        scale = {"mean": float(fit.mean()), "std": float(fit.std() or 1.0)}
        table.target, table.class_names = ((values - scale["mean"]) / scale["std"]).astype("float32"), None
    plan = fit_plan(table, rows, standardize, categorical=list(table.text))
    plan.task, plan.target = task, scale
    recorded = examples(plan, table.features, table.text, rows)
    table.features = encode(plan, table.features, table.text)
    if table.input_columns:
        table.input_columns = {name: [f for c in cols for f in plan.columns_of(c)] for name, cols in table.input_columns.items()}
    table.feature_names, table.text, table.text_where = plan.feature_names, {}, {}
    return plan, builder, recorded


def feeds(builder: ModelBuilder, table: Table, config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Which encoded features feed which network input, in which shape: the builder's own
    ``shape_data`` run on one row of feature indices, so any layout it makes is followed."""
    index = Table(features=np.arange(table.num_features, dtype="float32")[None, :], feature_names=table.feature_names,
                  input_columns=table.input_columns, source=table.source)
    x, _ = builder.shape_data(index, config)
    return {name: {"features": np.asarray(a).reshape(-1).astype(int).tolist(), "shape": list(np.asarray(a).shape[1:])}
            for name, a in x.items()}


def _preprocess(table: Table, saved: Mapping[str, Any] | None, standardize: bool) -> dict[str, Any] | None:
    """Z-score ``table.features`` in place with saved statistics, or new ones if ``standardize``."""
    if saved:
        mean, std = np.asarray(saved["mean"], "float32"), np.asarray(saved["std"], "float32")
        if mean.shape[0] != table.num_features:
            raise DataError(
                f"{table.source}: the model was trained on {mean.shape[0]} feature columns, "
                f"the data has {table.num_features}."
            )
    elif standardize:
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(table.features, axis=0).astype("float32")
            std = np.nanstd(table.features, axis=0).astype("float32")
        std[~(std > 0)] = 1.0
    else:
        return None
    table.features = ((table.features - mean) / std).astype("float32")
    return {"mean": mean.tolist(), "std": std.tolist()}


def check_synthetic_size(samples: int, specs: Sequence[Any]) -> None:
    """Refuse ``samples`` synthetic rows that cannot fit in memory, before generating any."""
    per_sample = sum(spec.values for spec in specs)
    check_allocation(samples * per_sample * 4 * 2, f"{option('samples')} {samples} of synthetic data",
                     "ask for fewer samples.")


def require_two_classes(source: str, y: Mapping[str, np.ndarray] | None, outputs: Sequence[Any],
                        target: Sequence[str]) -> None:
    """A classifier cannot learn from a target with a single class: say so instead of training."""
    columns = dict(item.partition("=")[::2] for item in target if "=" in item)
    plain = [item for item in target if "=" not in item]
    for spec in outputs:
        labels = None if y is None else y.get(spec.name)
        if labels is None or spec.loss not in (*SPARSE_LOSSES, *BINARY_LOSSES) or not len(labels):
            continue
        values = np.unique(np.asarray(labels))
        if len(values) < 2:
            column = columns.get(spec.name) or (plain[0] if plain and len(outputs) == 1 else None)
            what = f"target column {column.strip()!r}" if column else f"the target of output {spec.name!r}"
            raise DataError(f"{source}: {what} holds a single class ({values[0].item()!r}); a classifier needs "
                            f"at least two classes to learn from. Check the {option('target')} column or the data.")
