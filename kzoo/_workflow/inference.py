"""Using a saved model on new data: evaluate and predict, shaped as the model was trained.

The ``kzoo.json`` metadata inside the ``.keras`` file says which model and config made it and how
its data was shaped (target, input columns, class names, scaling); nothing is asked again.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._engine.options import DataOptions
from .._meta.spec import BINARY_LOSSES, SPARSE_LOSSES
from .._store import saving
from .._system.files import write_text
from .._weights import lookup, pretrained
from ..errors import DataError
from . import api
from .loading import load


@dataclass
class SavedModel:
    """A loaded ``.keras`` file with its kzoo metadata and the builder of its model."""

    model: Any
    metadata: dict[str, Any]
    builder: Any

    @property
    def config(self) -> dict[str, Any]:
        return self.builder.config(**self.metadata.get("config", {}))


def open_model(path: str | os.PathLike[str], safe_mode: bool = True) -> SavedModel:
    """Load ``path`` with its metadata; a file without kzoo metadata cannot be shaped for.
    ``path`` may also name registered weights (``mlp.iris``), which carry the same metadata."""
    name = os.fspath(path)
    if not os.path.exists(name) and lookup.is_weights_name(name):
        return open_weights(name)
    if not os.path.exists(name) and lookup.looks_like_weights(name):
        raise lookup.unknown(name)
    metadata = saving.read_metadata(path)
    if not metadata:
        raise DataError(
            f"{os.fspath(path)!r} has no kzoo metadata (kzoo.json), so kzoo cannot tell how to shape data "
            f"for it; use kzoo.load() and Keras directly, or save it with `kzoo train --out`."
        )
    model = saving.load(path, safe_mode=safe_mode)
    saved = SavedModel(model, metadata, api.get(metadata["model"]))
    check_network(os.fspath(path), saved)
    return saved


def check_network(path: str, saved: SavedModel) -> None:
    """Refuse a file whose network is not the model its metadata names (a swapped or tampered
    file would otherwise fail deep inside Keras): same number of inputs and outputs, same shapes."""
    try:
        inputs = [tuple(t.shape)[1:] for t in saved.model.inputs]
        outputs = [tuple(t.shape)[1:] for t in saved.model.outputs]
    except (AttributeError, ValueError, TypeError):  # a subclassed model without symbolic tensors
        return
    config = saved.config
    expected_in = [t.shape for t in saved.builder.input_specs(config)]
    expected_out = [t.shape for t in saved.builder.output_specs(config)]
    for kind, found, expected in (("inputs", inputs, expected_in), ("outputs", outputs, expected_out)):
        if len(found) != len(expected) or not all(_fits(f, e) for f, e in zip(found, expected)):
            raise DataError(
                f"{path!r}: its network does not match model {saved.builder.spec.name!r} that its kzoo.json "
                f"names ({kind} {[list(s) for s in found]}, expected {[list(s) for s in expected]}); the file "
                f"was tampered with or assembled from two models. Train it again."
            )


def _fits(found: tuple, expected: tuple) -> bool:
    return len(found) == len(expected) and all(e is None or f is None or f == e for f, e in zip(found, expected))


def open_weights(name: str) -> SavedModel:
    """A compiled model from registered weights, with the metadata evaluate and predict need."""
    weights = lookup.get_weights(name)
    builder = api.get(weights.model)
    net = pretrained.build(weights)
    builder.compile(net, config=builder.config(**weights.config))
    return SavedModel(net, pretrained.metadata(weights), builder)


def load_data(saved: SavedModel, data: str | os.PathLike[str], target: Sequence[str] = (),
              inputs: Mapping[str, Sequence[str]] | None = None, require_target: bool = True,
              samples: int | None = None, seed: int = 0, skip_bad_files: bool = False) -> Any:
    options = DataOptions(target=tuple(target), inputs=inputs, samples=samples, skip_bad_files=skip_bad_files)
    return load(data, saved.builder, options=options, metadata=saved.metadata, require_target=require_target, seed=seed)


def evaluate_file(path: str | os.PathLike[str], data: str | os.PathLike[str], target: Sequence[str] = (),
                  inputs: Mapping[str, Sequence[str]] | None = None, safe_mode: bool = True,
                  samples: int | None = None, skip_bad_files: bool = False) -> dict[str, float]:
    """Loss and metrics of the saved model at ``path`` on ``data``."""
    saved = open_model(path, safe_mode)
    shaped = load_data(saved, data, target, inputs, samples=samples, skip_bad_files=skip_bad_files)
    return saved.builder.evaluate(saved.model, shaped.x, shaped.y)


def predict_file(path: str | os.PathLike[str], data: str | os.PathLike[str],
                 inputs: Mapping[str, Sequence[str]] | None = None, safe_mode: bool = True,
                 samples: int | None = None, skip_bad_files: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Predictions of the saved model at ``path`` on ``data`` as CSV ``(header, rows)``; images
    read from a folder get a ``path`` column naming each file."""
    saved = open_model(path, safe_mode)
    shaped = load_data(saved, data, inputs=inputs, require_target=False, samples=samples, skip_bad_files=skip_bad_files)
    result = saved.builder.predict(saved.model, shaped.x)
    outputs = saved.builder.output_specs(saved.config)
    if not isinstance(result, dict):
        result = {outputs[0].name: result}
    header, rows = prediction_table(result, outputs, shaped.class_names, shaped.meta.get("target_classes"))
    if shaped.paths is not None:
        header.insert(1, "path")
        rows = [[row[0], path, *row[1:]] for row, path in zip(rows, shaped.paths)]
    return header, rows


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
    rows = [[i] + [_cell(col[i]) for col in columns] for i in range(n)]
    return header, rows


def _cell(value: Any) -> Any:
    """Plain Python numbers for CSV: floats rounded to 6 digits, numpy integers as int."""
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if isinstance(value, float) or kind == "f":
        return round(float(value), 6)
    return int(value) if kind in "iu" and kind else value


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Header and rows as CSV text, quoted where a cell needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A CSV file written atomically."""
    write_text(path, csv_text(header, rows))
