"""``kzoo info FILE.keras``: what a saved model is (:func:`kzoo.saved_info`, read without keras),
for people or as JSON; everything shown is what training recorded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..config import format_value
from .output import echo_json, echo_line, listed


def names_a_file(name: str) -> bool:
    """A saved model's path rather than a zoo name: a name never ends in '.keras', and one with a
    '/' is a prefixed zoo name (``kimm/resnet18``) only when no such file exists and a plugin registers it."""
    if name.endswith(".keras"):
        return True
    if not any(sep in name for sep in (os.sep, os.altsep) if sep):
        return False
    if os.path.exists(name):
        return True
    from .. import list_models

    return name not in list_models(include_aliases=True)


def show_saved(path: str, as_json: bool) -> None:
    from .. import saved_info

    metadata = saved_info(path)  # DataError (one line) for a missing or damaged file
    if metadata is None:
        echo_line(f"{path}: a Keras file without kzoo's metadata (saved by Keras alone): kzoo.load({path!r}) and "
                   f"`kzoo evaluate`/`kzoo predict` read it as a plain Keras model.")
        return
    epoch, metrics = metadata["metrics_epoch"], metadata["metrics"]
    if as_json:
        echo_json({"file": path, **{key: value for key, value in metadata.items() if key != "history"}})
        return
    data, training, config = metadata.get("data") or {}, metadata.get("training") or {}, metadata.get("config") or {}
    plugin = f" (plugin {metadata['plugin']})" if metadata.get("plugin") else ""
    echo_line(f"{path}: a trained {metadata['model']}{plugin}, saved by kzoo {metadata.get('kzoo_version', '?')}")
    for label, value in (("target", _target(data)), ("inputs", _inputs(data)), ("trained", _trained(metadata)),
                         ("stopped", _stopped(metadata.get("stopping"))), ("from", _start(metadata.get("weights"))),
                         ("metrics", _metrics(epoch, metrics)), ("tuned", _tuned(metadata.get("tuning")))):
        if value:
            echo_line(f"  {label + ':':<10}{value}")
    if config:
        echo_line("  config:")
        regression = (data.get("plan") or {}).get("task") == "regression"
        for key, value in config.items():
            if regression and key == "num_classes":  # the build's default, unused: the head was replaced
                echo_line("    num_classes: none, a regressor (one output unit)")
                continue
            echo_line(f"    {key} = {format_value(value)}")
    echo_line(f"  use:      kzoo evaluate {path} --data DATA; kzoo predict {path} --data DATA --out p.csv")


def _metrics(epoch: int | None, metrics: Mapping[str, Any]) -> str:
    return f"{', '.join(f'{k} {_number(v)}' for k, v in metrics.items())} (epoch {epoch})" if metrics else ""


def _target(data: Mapping[str, Any]) -> str:
    targets = data.get("target") or []
    plan = data.get("plan") or {}
    classes = data.get("class_names")
    if not targets and not classes:
        return ""
    named = ", ".join(repr(t) for t in targets) or "the data's labels"
    if plan.get("task") == "regression":
        return f"{named}, regression (a number out)"
    if classes:
        return f"{named}, classification into {len(classes)} classes: {listed(classes)}"
    return named


def _inputs(data: Mapping[str, Any]) -> str:
    columns = data.get("columns")
    if columns:
        return f"{len(columns):,} columns: {listed(columns)}"
    return f"from {data['source']}" if data.get("source") else ""


def _trained(metadata: Mapping[str, Any]) -> str:
    training = metadata.get("training") or {}
    if not training:
        return ""
    source = (metadata.get("data") or {}).get("source")
    done, asked = metadata.get("epoch", "?"), training.get("epochs", "?")
    parts = [(f"{done} epochs" if done == asked else f"{done} of {asked} epochs") + (f" on {source}" if source else "")]
    if "batch_size" in training:
        parts.append(f"batch {training['batch_size']}")
    if "learning_rate" in training:
        schedule = f" ({training['schedule']})" if training.get("schedule") else ""
        parts.append(f"learning rate {_number(training['learning_rate'])}{schedule}")
    if training.get("val_split"):
        parts.append(f"{_number(training['val_split'])} held out")
    parts.append(f"precision {training.get('precision', 'float32')}")
    return ", ".join(parts)


def _stopped(stopping: Mapping[str, Any] | None) -> str:
    if not stopping or stopping.get("stopped_epoch") is None:
        return ""
    return (f"early at epoch {stopping['stopped_epoch']}, keeping epoch {stopping.get('best_epoch')}'s weights "
            f"(best {stopping.get('monitor')} {_number(stopping.get('best'))})")


def _tuned(tuning: Mapping[str, Any] | None) -> str:
    if not tuning:
        return ""
    params = " ".join(f"{k}={format_value(v) if not isinstance(v, float) else _number(v)}"
                      for k, v in (tuning.get("params") or {}).items())
    again = ", trained again from them" if tuning.get("retrained") else ""
    return (f"the best of {tuning.get('trials', '?')} trials of study {tuning.get('study')!r} (trial "
            f"{tuning.get('trial')}, {tuning.get('metric')} {_number(tuning.get('value'))}{again}): {params}")


def _start(weights: Mapping[str, Any] | None) -> str:
    if not weights:
        return ""
    if weights.get("new_head"):
        how = "a new head on its backbone" + (", the rest frozen" if weights.get("frozen") else "")
    else:
        how = "fine-tuned" + (f", {len(weights['frozen'])} layers frozen" if weights.get("frozen") else "")
    return f"{weights.get('name')} ({how})"


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
