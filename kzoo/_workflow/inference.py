"""Using a saved model on new data: evaluate and predict, shaped as the model was trained.

The ``kzoo.json`` metadata inside the ``.keras`` file says which model and config made it and how
its data was shaped (target, input columns, class names, scaling); nothing is asked again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._engine import wrapping
from .._engine.arrays import count_rows
from .._engine.options import DataOptions
from .._meta.spec import BINARY_LOSSES, SPARSE_LOSSES, TensorSpec
from .._store import saving
from .._system.limits import check_allocation
from .._weights import lookup, pretrained
from .._zoo.guard import estimate_params
from .._zoo.tasks import for_task
from ..datasets.files import read_csv
from ..datasets.memory import table_from_memory
from ..datasets.preprocess import Plan
from ..datasets.table import DEFAULT_NA_VALUES, Table, as_strings
from ..errors import DataError, option
from . import api
from .loading import load_data, load_table, source_kind


@dataclass
class SavedModel:
    """A loaded ``.keras`` file with its kzoo metadata and the builder of its model."""

    model: Any
    metadata: dict[str, Any]
    builder: Any

    @property
    def config(self) -> dict[str, Any]:
        return self.builder.config(**self.metadata.get("config", {}))

    @property
    def plan(self) -> Plan | None:
        return plan_of(self.metadata)


def plan_of(metadata: Mapping[str, Any]) -> Plan | None:
    """The preprocessing plan of a self-contained model (None for files of kzoo < 0.2, images,
    text and arrays, whose data kzoo shapes outside the model)."""
    plan = (metadata.get("data") or {}).get("plan")
    return Plan.from_dict(plan) if plan else None


def read_model_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The kzoo metadata of a ``.keras`` file or of registered weights, without keras."""
    name = os.fspath(path)
    if not os.path.exists(name) and lookup.is_weights_name(name):
        return pretrained.metadata(lookup.get_weights(name))
    if not os.path.exists(name) and lookup.looks_like_weights(name):
        raise lookup.unknown(name)
    metadata = saving.read_metadata(path)
    if not metadata:
        raise DataError(
            f"{name!r} has no kzoo metadata (kzoo.json), so kzoo cannot tell how to shape data "
            f"for it; use kzoo.load() and Keras directly, or save it with `kzoo train --out`."
        )
    return metadata


def load_model(path: str | os.PathLike[str], safe_mode: bool = True, precision: str | None = None) -> Any:
    """The ``keras.Model`` in a ``.keras`` file (its plugin loaded first), or built from registered
    weights such as ``"mlp.iris"``: what ``kzoo.load`` returns. A model kzoo trained on a table
    takes raw columns (see docs/data.md).

    Args:
        path: a ``.keras`` file, or registered weights (``MODEL.NAME``) when no such file exists.
        safe_mode: False lets Keras run Python code stored in the file (Lambda layers); only for
            files you trust.
        precision: ``"float32"`` loads a model trained in mixed precision computing in float32
            throughout; None keeps each layer's saved policy. Registered weights ignore both.

    Returns:
        The compiled ``keras.Model``.

    Raises:
        kzoo.DataError: no file at ``path``, or one Keras cannot load (the message says why).
        kzoo.UnknownWeightsError: ``path`` looks like a mistyped weights name (``mlp.irs``).
        kzoo.ConfigError: a ``precision`` other than None or ``"float32"``.

    Example:
        >>> kzoo.load("mlp.iris").count_params()  # doctest: +SKIP
        827
    """
    name = os.fspath(path)
    if not os.path.exists(name) and lookup.is_weights_name(name):
        return pretrained.build(name)
    return saving.load(path, safe_mode=safe_mode, precision=precision)


def open_model(path: str | os.PathLike[str], safe_mode: bool = True, precision: str | None = None) -> SavedModel:
    """Load ``path`` with its metadata; a file without kzoo metadata cannot be shaped for.
    ``path`` may also name registered weights (``mlp.iris``), which carry the same metadata.
    ``precision``: as for :func:`load_model`."""
    name = os.fspath(path)
    metadata = read_model_metadata(path)
    if not os.path.exists(name):
        return open_weights(name)
    model = saving.load(path, safe_mode=safe_mode, precision=precision)
    plan = plan_of(metadata)
    saved = SavedModel(model, metadata, for_task(api.get(metadata["model"]), plan.task if plan else None))
    if plan is None:  # a self-contained model takes raw columns, not the network's inputs
        check_plan(name, saved.model, None)
        check_network(name, saved)
    else:
        check_plan(name, saved.model, plan)
    return saved


def check_plan(path: str, model: Any, plan: Plan | None) -> None:
    """Refuse a file whose ``kzoo.json`` does not describe the trained model in it: a plan the
    network does not fit (a Keras traceback at predict time), or no plan beside a network that
    preprocesses raw columns itself (shaped twice, it would answer other classes with no word)."""
    if plan is None and wrapping.carries_plan(model):
        problem = ("its kzoo.json has no data.plan, but the network was trained on a table and takes its raw "
                   "columns (shaping them again would change its answers)")
    else:
        problem = wrapping.plan_mismatch(model, plan) if plan is not None else None
    if problem:
        raise DataError(f"{path!r}: {problem}; the kzoo.json was damaged or edited. Train the model again.")


def check_network(path: str, saved: SavedModel) -> None:
    """Refuse a file whose network is not the model its metadata names (a swapped or tampered
    file would otherwise fail deep inside Keras): same number of inputs and outputs, same shapes."""
    config = saved.config
    check_config_size(path, saved, config)
    try:
        inputs = [tuple(t.shape)[1:] for t in saved.model.inputs]
        outputs = [tuple(t.shape)[1:] for t in saved.model.outputs]
    except (AttributeError, ValueError, TypeError):  # a subclassed model without symbolic tensors
        return
    expected_in = [t.shape for t in saved.builder.input_specs(config)]
    expected_out = [t.shape for t in saved.builder.output_specs(config)]
    for kind, found, expected in (("inputs", inputs, expected_in), ("outputs", outputs, expected_out)):
        if len(found) != len(expected) or not all(shape_fits(f, e) for f, e in zip(found, expected)):
            raise DataError(
                f"{path!r}: its network does not match model {saved.builder.spec.name!r} that its kzoo.json "
                f"names ({kind} {[list(s) for s in found]}, expected {[list(s) for s in expected]}); the file "
                f"was tampered with or assembled from two models. Train it again."
            )


def check_config_size(path: str, saved: SavedModel, config: Mapping[str, Any]) -> None:
    """Refuse a kzoo.json whose config describes a model far larger than the network in the file
    (``hidden_units=[20000, 20000]`` next to a network of a thousand weights), before checking it
    would build that model."""
    if saved.builder._is_default(config):
        return
    claimed, held = estimate_params(saved.builder, config), saved.model.count_params()
    if claimed > 4 * held + 10_000:
        raise DataError(f"{path!r}: its kzoo.json config describes model {saved.builder.spec.name!r} with about "
                        f"{claimed:,} parameters, but the network in the file has {held:,}; the file was tampered "
                        f"with or assembled from two models. Train it again.")


def shape_fits(found: tuple, expected: tuple) -> bool:
    """``found`` is ``expected``, a ``None`` on either side matching any size."""
    return len(found) == len(expected) and all(e is None or f is None or f == e for f, e in zip(found, expected))


def open_weights(name: str) -> SavedModel:
    """A compiled model from registered weights, with the metadata evaluate and predict need."""
    weights = lookup.get_weights(name)
    metadata = pretrained.metadata(weights)
    plan = plan_of(metadata)
    builder = for_task(api.get(weights.model), plan.task if plan else None)
    net = pretrained.build(weights)
    if plan is None:
        builder.compile(net, config=builder.config(**weights.config))
    return SavedModel(net, metadata, builder)


def data_for_saved(saved: SavedModel, data: str | os.PathLike[str], target: Sequence[str] = (),
                   inputs: Mapping[str, Sequence[str]] | None = None, require_target: bool = True,
                   samples: int | None = None, seed: int = 0, skip_bad_files: bool = False) -> Any:
    """``data`` shaped as the saved model's own data was (its metadata's config, columns, scaling)."""
    options = DataOptions(target=tuple(target), inputs=inputs, samples=samples, skip_bad_files=skip_bad_files)
    return load_data(data, saved.builder, options=options, metadata=saved.metadata, require_target=require_target, seed=seed)


def evaluate_file(path: str | os.PathLike[str], data: Any, target: str | Sequence[str] = (),
                  inputs: Mapping[str, Sequence[str]] | None = None, safe_mode: bool = True,
                  samples: int | None = None, skip_bad_files: bool = False) -> dict[str, float]:
    """Loss and metrics of the saved model at ``path`` on ``data`` (a path, a data set name, or
    in-memory data for a model trained on a table). The data is read and checked before keras.

    The data is shaped as the model was trained (its ``kzoo.json``: target, columns, classes,
    scaling), so nothing about it is asked again.

    Args:
        path: a ``.keras`` file kzoo saved, or registered weights such as ``"mlp.iris"``.
        data: a ``.csv`` / ``.npz`` file or image folder, a data set name (``"iris"``), or, for a
            model trained on a table, arrays, a dict of columns or a DataFrame.
        target: the CSV target column (a string), or ``OUTPUT=COLUMN`` items for several
            outputs; empty: the column(s) the model was trained on.
        inputs: CSV columns (or one text column) per input name, for multi-input models.
        safe_mode: as for :func:`load_model`.
        samples: rows of synthetic data (``data="synthetic"``).
        skip_bad_files: leave out unreadable files of an image folder (with a count).

    Returns:
        ``{"loss": ..., "accuracy": ...}``: the loss and each metric the model was compiled
        with (several outputs: prefixed with the output's name).

    Raises:
        kzoo.DataError: a file without kzoo metadata, data that does not fit the model, or an
            unknown data set.
        kzoo.UnknownWeightsError: a mistyped weights name.

    Example:
        >>> kzoo.evaluate("mlp.iris", "iris")["accuracy"]  # doctest: +SKIP
        0.9866666666666667
    """
    target = (target,) if isinstance(target, str) else tuple(target)  # "species" is one column, not seven
    plan = plan_of(read_model_metadata(path))
    if plan is not None:
        metadata = read_model_metadata(path)
        raw = read_raw(metadata, plan, data, target, require_target=True)
        return evaluate_raw(open_model(path, safe_mode), plan, raw)
    saved = open_model(path, safe_mode)
    return evaluate_saved(saved, data, target, inputs, samples=samples, skip_bad_files=skip_bad_files)


def evaluate_saved(saved: SavedModel, data: Any, target: Sequence[str] = (),
                   inputs: Mapping[str, Sequence[str]] | None = None, samples: int | None = None,
                   skip_bad_files: bool = False) -> dict[str, float]:
    """:func:`evaluate_file` for a model already opened."""
    plan = saved.plan
    if plan is not None:
        return evaluate_raw(saved, plan, read_raw(saved.metadata, plan, data, target, require_target=True))
    shaped = data_for_saved(saved, data, target, inputs, samples=samples, skip_bad_files=skip_bad_files)
    return saved.builder.evaluate(saved.model, shaped.x, shaped.y)


def predict_file(path: str | os.PathLike[str], data: Any,
                 inputs: Mapping[str, Sequence[str]] | None = None, safe_mode: bool = True,
                 samples: int | None = None, skip_bad_files: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Predictions of the saved model at ``path`` on ``data`` as CSV ``(header, rows)``: what
    ``kzoo predict`` writes. Images read from a folder get a ``path`` column naming each file.

    Args:
        path: a ``.keras`` file kzoo saved, or registered weights such as ``"mlp.iris"``.
        data: as for :func:`evaluate_file`; a target column in it is ignored.
        inputs, safe_mode, samples, skip_bad_files: as for :func:`evaluate_file`.

    Returns:
        ``(header, rows)``: a ``row`` column, then per output the predicted class and one
        probability per class (classifiers), 0/1 and its probability (binary), or the values
        (regression); floats rounded to 6 digits.

    Raises:
        kzoo.DataError: a file without kzoo metadata, or data that does not fit the model.

    Example:
        >>> header, rows = kzoo.predict("mlp.iris", "iris")  # doctest: +SKIP
        >>> header[:3], rows[0][:2]  # doctest: +SKIP
        (['row', 'output', 'output_p_setosa'], [0, 'setosa'])
    """
    metadata = read_model_metadata(path)
    plan = plan_of(metadata)
    if plan is not None:
        raw = read_raw(metadata, plan, data, (), require_target=False)  # every data mistake before keras
        outputs = [TensorSpec.from_dict(o) for o in plan.outputs]
        check_table_fits(len(raw.numeric), table_columns(outputs))
        saved = open_model(path, safe_mode)
        result = wrapping.predict(saved.model, plan, raw.numeric, raw.categorical)
        data_meta = metadata.get("data") or {}
        return prediction_table(result, outputs, data_meta.get("class_names"), data_meta.get("target_classes"))
    saved = open_model(path, safe_mode)
    shaped = data_for_saved(saved, data, inputs=inputs, require_target=False, samples=samples, skip_bad_files=skip_bad_files)
    outputs = saved.builder.output_specs(saved.config)
    check_table_fits(count_rows(shaped.x), table_columns(outputs))
    result = saved.builder.predict(saved.model, shaped.x)
    if not isinstance(result, dict):
        result = {outputs[0].name: result}
    header, rows = prediction_table(result, outputs, shaped.class_names, shaped.meta.get("target_classes"))
    if shaped.paths is not None:
        header.insert(1, "path")
        rows = [[row[0], path, *row[1:]] for row, path in zip(rows, shaped.paths)]
    return header, rows


@dataclass
class RawData:
    """Raw rows for a self-contained model: numeric columns (NaN = missing) in the plan's order,
    categorical columns as strings, and the targets keyed by output name when read."""

    numeric: Any
    categorical: dict[str, Any]
    y: dict[str, Any] | None


def read_raw(metadata: Mapping[str, Any], plan: Plan, data: Any, target: Sequence[str],
             require_target: bool) -> RawData:
    """The columns ``plan`` needs from ``data``, checked; numpy only."""
    import numpy as np

    saved = dict(metadata.get("data") or {})
    target = list(target) or list(saved.get("target") or [])
    kind = source_kind(data)
    classes = saved.get("class_names") if plan.task == "classification" else None
    if kind == "csv":
        table = read_csv(os.fspath(data), target=target, class_names=classes, require_target=require_target,
                         features=plan.raw_columns, target_classes=saved.get("target_classes"),
                         na_values=saved.get("na_values") or DEFAULT_NA_VALUES,
                         text_columns=[cat["column"] for cat in plan.categorical])
    elif kind == "memory":
        plain = [t for t in target if "=" not in t]
        table = table_from_memory(data, plain[0] if plain and require_target else None,
                                  source=f"in-memory {type(data).__name__}", require_target=require_target)
    elif kind == "dataset":
        table = load_table(os.fspath(data))
    else:
        raise DataError(f"{data!r}: a model trained on a table predicts from a table (a .csv file, a data set, "
                        f"arrays, a dict of columns or a DataFrame), not a {kind} source.")
    if require_target and classes and table.target is not None:
        if table.class_names is None:
            table.class_names = list(classes)  # a data set's labels are already indices
        elif table.class_names != list(classes):  # in-memory labels: numbered by the classes they hold
            unknown = sorted(set(table.class_names) - set(classes))
            if unknown:
                raise DataError(f"{table.source}: labels {', '.join(map(repr, unknown[:5]))} are not among the "
                                f"model's classes ({', '.join(classes)}); use data with the classes it was trained on.")
            index = {name: i for i, name in enumerate(classes)}
            remap = np.array([index[name] for name in table.class_names], dtype="int32")
            table.target, table.class_names = remap[table.target], list(classes)
    numeric = table.columns(plan.numeric) if plan.numeric else np.empty((table.num_samples, 0), "float32")
    categorical = {}
    for cat in plan.categorical:
        column = cat["column"]
        if column in table.text:
            categorical[column] = as_strings(table.text[column])
        else:  # read as numbers this time: compare as the text the model learnt
            values = table.columns([column])[:, 0]
            categorical[column] = as_strings([_as_text(v) for v in values])
    y = None
    if require_target:
        y = shaped_targets(table, plan)
    return RawData(numeric, categorical, y)


def _as_text(value: float) -> str:
    return "" if value != value else (str(int(value)) if float(value).is_integer() else str(value))


def shaped_targets(table: Table, plan: Plan) -> dict[str, Any]:
    """The table's targets keyed by output name, in the units the trained model predicts."""
    names = [o["name"] for o in plan.outputs]
    y = dict(table.targets)
    if table.target is not None:
        y.setdefault(names[0], table.target)
    missing = [n for n in names if n not in y]
    if missing:
        raise DataError(f"{table.source}: no target for output {', '.join(map(repr, missing))}; pass the target "
                        f"column with {option('target')}.")
    return {n: y[n] for n in names}


EVALUATE_CHUNK_BYTES = 128 * 2**20
"""Predictions held at once while evaluating: a 60,000-class model's probabilities for 60,000 rows
are 14 GB, and all its metrics need of each row is one loss term and one hit."""


def evaluate_raw(saved: SavedModel, plan: Plan, raw: RawData) -> dict[str, float]:
    """Loss and metrics of a self-contained model on raw rows, computed from its predictions
    (the same numbers on every backend): loss and accuracy for classifiers; loss (mse), mae,
    rmse and r2 for regressors. Several outputs: each metric prefixed with its output's name.
    Rows are predicted in chunks of :data:`EVALUATE_CHUNK_BYTES` of probabilities, each chunk
    reduced to what the metrics need before the next."""
    import numpy as np

    specs = [TensorSpec.from_dict(o) for o in plan.outputs]
    truth = {spec.name: np.asarray((raw.y or {})[spec.name]) for spec in specs}
    n = len(raw.numeric)
    width = sum(spec.values for spec in specs) or 1
    rows = max(1, EVALUATE_CHUNK_BYTES // (width * 4))
    pieces: dict[str, list[Any]] = {spec.name: [] for spec in specs}
    for begin in range(0, n, rows):
        chunk = slice(begin, begin + rows)
        result = wrapping.predict(saved.model, plan, raw.numeric[chunk],
                                  {column: values[chunk] for column, values in raw.categorical.items()})
        for spec in specs:
            pieces[spec.name].append(per_row(spec, np.asarray(result[spec.name]), truth[spec.name][chunk]))
    metrics: dict[str, float] = {}
    total = 0.0
    for spec in specs:
        found = output_metrics(spec, np.concatenate(pieces[spec.name]), truth[spec.name])
        total += found["loss"]
        prefix = f"{spec.name}_" if len(plan.outputs) > 1 else ""
        metrics.update({prefix + k: v for k, v in found.items()})
    metrics["loss"] = total
    return metrics


def per_row(spec: TensorSpec, predicted: Any, truth: Any) -> Any:
    """What the metrics need of each row: a classifier's ``(loss term, hit)``, a regressor's values."""
    import numpy as np

    predicted = predicted.reshape(len(predicted), -1)
    if spec.loss in SPARSE_LOSSES:
        labels = truth.reshape(-1).astype(int)
        chosen = np.clip(predicted[np.arange(len(labels)), labels].astype("float64"), 1e-7, 1.0)
        return np.stack([-np.log(chosen), predicted.argmax(axis=1) == labels], axis=1)
    if spec.loss in BINARY_LOSSES:
        labels = truth.reshape(-1).astype("float64")
        p = np.clip(predicted[:, 0].astype("float64"), 1e-7, 1 - 1e-7)
        return np.stack([-(labels * np.log(p) + (1 - labels) * np.log(1 - p)), (p >= 0.5) == (labels >= 0.5)], axis=1)
    return predicted.astype("float64")


def output_metrics(spec: TensorSpec, rows: Any, truth: Any) -> dict[str, float]:
    """The metrics of one output from its :func:`per_row` values."""
    import numpy as np

    if spec.loss in SPARSE_LOSSES or spec.loss in BINARY_LOSSES:
        return {"loss": float(rows[:, 0].mean()), "accuracy": float(rows[:, 1].mean())}
    predicted = rows
    values = truth.reshape(len(truth), -1).astype("float64")
    error = predicted - values
    mse = float((error**2).mean())
    spread = float(((values - values.mean(axis=0)) ** 2).mean())
    return {"loss": mse, "mae": float(np.abs(error).mean()), "rmse": mse**0.5,
            "r2": 1.0 - mse / spread if spread > 0 else float("nan")}


def check_table_fits(rows: int, columns: int) -> None:
    """Refuse a predictions table that memory cannot hold, before the model predicts it.

    A Python table costs about 40 bytes a cell: 60,000 classes made gigabytes of a few rows."""
    check_allocation(rows * columns * BYTES_PER_CELL, f"a predictions table of {rows:,} rows and {columns:,} columns",
                     "predict fewer rows per call, or take the probabilities as an array (4 bytes a value) with "
                     "kzoo.load(MODEL).predict(x).", share=0.5)


def table_columns(outputs: Sequence[Any]) -> int:
    """The columns :func:`prediction_table` writes for these outputs, from their specs."""
    return 1 + sum(spec.values + (spec.loss in SPARSE_LOSSES or spec.loss in BINARY_LOSSES) for spec in outputs)


def prediction_table(
    result: Mapping[str, Any], outputs: Sequence[Any], class_names: Sequence[str] | None,
    target_classes: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[str], list[list[Any]]]:
    """One row per sample: the predicted class (name) and its probabilities for classifiers,
    0/1 and the probability for binary outputs, the values for regression outputs. Each
    classifier output is named by its own target's classes (``target_classes``), else by
    ``class_names`` when their count fits."""
    import numpy as np

    header, columns = ["row"], []
    n = 0
    for spec in outputs:
        values = np.asarray(result[spec.name]).reshape(len(result[spec.name]), -1)
        n = len(values)
        if spec.loss in SPARSE_LOSSES:
            width = values.shape[1]
            own = (target_classes or {}).get(spec.name) or class_names
            names = list(own) if own and len(own) == width else [str(i) for i in range(width)]
            header += [spec.name] + [f"{spec.name}_p_{c}" for c in names]
            columns += [[names[i] for i in values.argmax(axis=1)]] + [values[:, j] for j in range(values.shape[1])]
        elif spec.loss in BINARY_LOSSES:
            own = (target_classes or {}).get(spec.name)
            chosen = (values[:, 0] >= 0.5).astype(int)
            header += [spec.name, f"{spec.name}_p"]
            columns += [[own[i] for i in chosen] if own and len(own) == 2 else chosen, values[:, 0]]
        else:
            header += [spec.name] if values.shape[1] == 1 else [f"{spec.name}_{j}" for j in range(values.shape[1])]
            columns += [values[:, j] for j in range(values.shape[1])]
    check_table_fits(n, len(header))
    rows = [[i] + [_cell(col[i]) for col in columns] for i in range(n)]
    return header, rows


BYTES_PER_CELL = 40  # a Python float in a list: the object and its pointer, rounded up


def _cell(value: Any) -> Any:
    """Plain Python numbers for CSV: floats rounded to 6 digits, numpy integers as int."""
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if isinstance(value, float) or kind == "f":
        return round(float(value), 6)
    return int(value) if kind in "iu" and kind else value
