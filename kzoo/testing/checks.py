"""The conformance checks a kzoo model must pass, as plain functions (pytest not required).

Keras is imported inside the checks that build, never at import time: this module is loaded by
the pytest plugin in every test run of an environment where kzoo is installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._engine.precision import PRECISIONS, float32_outputs, policy
from .._meta.spec import API_STYLES, ModelSpec, TensorSpec
from .._workflow.api import get
from .._zoo import manifest
from .._zoo.builder import ModelBuilder
from .._zoo.plugins import get_host
from .._zoo.registry import check_builder
from ..errors import ConfigError, ConformanceError, ConformanceWarning
from . import reloader

#: Per-model checks, in the order they run.
MODEL_CHECKS = ("spec", "builds", "params", "manifest", "compiles", "trains", "predicts", "round_trip", "backbone")
#: The check each one needs to have passed (a wrong parameter count does not stop training).
NEEDS = {"builds": "spec", "params": "builds", "manifest": "builds", "compiles": "builds", "trains": "compiles",
         "predicts": "trains", "round_trip": "predicts", "backbone": "builds"}
#: Per-plugin check, run in a fresh interpreter.
IMPORT_CHECK = "light_import"
#: Per-weights check: the file verifies, loads into its model and reproduces its recorded metrics.
WEIGHTS_CHECK = "weights"
METRIC_TOLERANCE = 0.01
HEAVY_MODULES = ("keras", "tensorflow")
#: Distributions a library a plugin wraps may be built on: such a library (kimm needs keras) is
#: heavy too, and listing must not import it.
FRAMEWORKS = ("keras", "tensorflow", "torch", "jax")
RELOAD_TIMEOUT = 600  # seconds the fresh process of the round trip may take for all of a plugin's models
SAMPLES = 8


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check of one model (or of one plugin, for ``light_import``)."""

    subject: str  # the model name, or "plugin <name>"
    check: str
    status: str  # "passed", "failed" or "skipped"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def __str__(self) -> str:
        text = f"kzoo conformance: {self.subject}: check {self.check!r} {self.status}"
        return f"{text}: {self.message}" if self.message else text


class Passed(str):
    """What a check returns to pass with a note (a plain string means it was skipped, and why)."""


@dataclass
class _Run:
    """What the checks of one model share: the builder, the model, the data."""

    builder: ModelBuilder
    overrides: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    x: Any = None
    y: Any = None
    predictions: dict[str, Any] = field(default_factory=dict)
    facts: Any = None  # what the built model tells (kzoo._meta.derive.ModelFacts)
    precision: str = "float32"
    folder: str = ""  # where the round trip saves the model for a fresh process to load
    saved: str | None = None  # the saved file, while its reload in a fresh process is pending
    plugin: str | None = None  # the installed plugin a fresh process finds the model through
    eager: bool = False  # train and predict step by step (run_eagerly), not as a compiled graph


def check_model(model: str | ModelBuilder, config: Mapping[str, Any] | None = None,
                precision: str = "float32", checks: Sequence[str] = MODEL_CHECKS,
                eager: bool = False) -> list[CheckResult]:
    """Run the per-model checks on a registered model name (or a builder), in order.

    ``config`` overrides defaults; then the ``params`` check is skipped, since ``spec.params``
    describes the default config. A check whose predecessor failed is skipped, naming it.
    ``precision``: build the model under this Keras dtype policy, as ``kzoo train --precision``
    does (``mixed_bfloat16``, ``mixed_float16``). ``checks``: a leading part of
    :data:`MODEL_CHECKS` (or any of them in order) for models too large to train on every run,
    e.g. ``("spec", "builds", "params", "manifest")``. ``eager``: train and predict step by step
    (Keras's ``run_eagerly``), in this process and in the round trip's, instead of compiling a
    graph: a network of hundreds of layers is checked in seconds rather than minutes, while what
    goes wrong only in a compiled graph goes unchecked.
    """
    return check_models([model], config, precision, checks, eager)[0]


def check_models(models: Sequence[str | ModelBuilder], config: Mapping[str, Any] | None = None,
                 precision: str = "float32", checks: Sequence[str] = MODEL_CHECKS,
                 eager: bool = False) -> list[list[CheckResult]]:
    """:func:`check_model` of each of ``models``, their round trips reloaded in one fresh
    interpreter (one start of Keras for a plugin's models, not one per model)."""
    if precision not in PRECISIONS:
        raise ConformanceError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}.")
    unknown = [c for c in checks if c not in MODEL_CHECKS]
    if unknown:
        raise ConformanceError(f"unknown checks {unknown}; expected some of {', '.join(MODEL_CHECKS)}.")
    if "round_trip" in checks:  # the fresh process starts Keras while this one builds and trains
        plugins = [_plugin_of(model) for model in models]
        if all(plugins):
            reloader.prestart(plugins)
    with tempfile.TemporaryDirectory(prefix="kzoo-conformance-") as folder:
        runs = [_checked(model, config, precision, os.path.join(folder, str(i)), checks, eager)
                for i, model in enumerate(models)]
        pending = [(run, results) for run, results in runs if run.saved is not None]
        if pending:
            _reload_fresh(pending, folder)
    return [results for _, results in runs]


def _checked(model: str | ModelBuilder, config: Mapping[str, Any] | None, precision: str,
             folder: str, checks: Sequence[str] = MODEL_CHECKS, eager: bool = False) -> tuple[_Run, list[CheckResult]]:
    builder = get(model) if isinstance(model, str) else model
    name = getattr(getattr(builder, "spec", None), "name", repr(builder))
    subject = f"model {name!r}" + (f" with {dict(config)}" if config else "")
    subject += f" in {precision}" if precision != "float32" else ""
    run = _Run(builder, dict(config or {}), precision=precision, folder=folder, eager=eager)
    results: list[CheckResult] = []
    unsupported = _unsupported_backend(builder)
    if unsupported is not None:  # the kit checks a model on the backends its plugin supports only
        return run, [CheckResult(subject, check, "skipped", unsupported) for check in MODEL_CHECKS]
    passed: set[str] = set()
    for check in (c for c in MODEL_CHECKS if c in checks):
        need = NEEDS.get(check)
        if need is not None and need not in passed:
            results.append(CheckResult(subject, check, "skipped", f"needs check {need!r}, which did not pass"))
            continue
        try:
            skipped = _CHECKS[check](run)
        except Exception as exc:  # any error is a failed check, reported with the model's name
            message = str(exc) if isinstance(exc, AssertionError) and str(exc) else f"{type(exc).__name__}: {exc}"
            results.append(CheckResult(subject, check, "failed", message))
            continue
        passed.add(check)
        status = "passed" if not skipped or isinstance(skipped, Passed) else "skipped"
        results.append(CheckResult(subject, check, status, skipped or ""))
    return run, results


def _unsupported_backend(builder: Any) -> str | None:
    from .._zoo.guard import check_backend

    try:
        check_backend(builder.spec)
    except ConfigError as exc:
        return str(exc)
    except AttributeError:  # not a builder: the spec check says so
        return None
    return None


def _check_spec(run: _Run) -> str | None:
    builder = run.builder
    # A ModelBuilder instance with a ModelSpec and a valid name: what the registry demands.
    check_builder(builder, getattr(getattr(builder, "spec", None), "plugin", None) or "?")
    spec: ModelSpec = builder.spec
    _require(bool(spec.description.strip()), "spec.description is empty; say in one line what the model does "
             "(a kzoo.model function: the first line of its docstring)")
    bad = [api for api in spec.apis if api not in API_STYLES]
    _require(not bad, f"spec.api has {bad}; expected some of {list(API_STYLES)}")
    for kind, tensors in (("inputs", spec.inputs), ("outputs", spec.outputs)):
        if tensors is None:
            continue  # read from a build (the manifest check compares)
        _require(bool(tensors), f"spec.{kind} must name at least one tensor")
        names = [t.name for t in tensors]
        _require(len(set(names)) == len(names), f"spec.{kind} repeats a name: {names}")
        for t in tensors:
            _require(isinstance(t, TensorSpec), f"spec.{kind} holds {t!r}; expected kzoo.TensorSpec")
    for t in spec.outputs or ():
        _require(t.loss is not None, f"output {t.name!r} has no default loss kzoo can derive; declare loss=... "
                 f"(@kzoo.model(loss=...), or TensorSpec(loss=...) in a ModelSpec)")
    _require(spec.params is None or (isinstance(spec.params, int) and spec.params >= 0),
             f"spec.params is {spec.params!r}; expected an int >= 0")
    builder.config()  # the defaults pass the builder's own validation
    run.config = builder.config(**run.overrides)
    return None


def _check_builds(run: _Run) -> str | None:
    import keras

    _build(run)
    _require(isinstance(run.model, keras.Model), f"build() returned {type(run.model).__name__}, not a keras.Model")
    _check_declared_inputs(run)
    return None


def _build(run: _Run) -> None:
    with policy(run.precision):
        run.model = float32_outputs(run.builder.build_model(run.config), run.builder.custom_objects())


def _use_kit_config(run: _Run) -> None:
    """From ``compiles`` on, the builder's :attr:`~kzoo.ModelBuilder.kit_config` (a small input for
    an ImageNet-sized model), built afresh: the build, parameter and manifest checks have checked
    the defaults. A caller's own config wins."""
    kit = dict(getattr(run.builder, "kit_config", None) or {})
    if run.overrides or not kit or run.config == run.builder.config(**kit):
        return
    run.config = run.builder.config(**kit)
    _build(run)
    if run.precision == "float32":  # its output specs without a third build (a mixed model's dtypes differ)
        run.builder.remember_facts(run.model, run.config)


def _check_declared_inputs(run: _Run) -> None:
    """Inputs a plugin describes by name (``@kzoo.model(inputs=...)``) are inputs the model has:
    a misspelt name would otherwise lose its description and id range silently."""
    from .._meta.derive import describe

    if run.builder.written_spec.inputs is not None:
        return  # a hand-written spec's inputs: the params check compares them with the build
    declared = [t.name for t in run.builder.declared(run.config).get("inputs", ())]
    if not declared:
        return
    built = [t.name for t in describe(run.model, **run.builder.declared(run.config)).inputs]
    unknown = [name for name in declared if name not in built]
    _require(not unknown, f"inputs {unknown} are declared, but the model's inputs are {built}")


def _check_params(run: _Run) -> str | None:
    """What the spec says (by hand or from the manifest) matches the built model."""
    if run.overrides:
        return "the spec describes the default config only"
    from .._meta.derive import describe

    spec = run.builder.spec
    facts = run.facts = describe(run.model, **run.builder.declared(run.config))
    fix = manifest.fix_command(run.builder)
    _require(spec.params is not None, f"the parameter count is unknown without a build; write the manifest: {fix}")
    _require(facts.params == spec.params, f"the built model has {facts.params:,} parameters; the spec says "
             f"{spec.params:,} (a manifest? rerun `{fix}`)")
    _require(not spec.apis or facts.api == spec.apis[0],
             f"the default config builds a {facts.api} model; spec.api names {spec.apis[0]!r} first")
    for kind, given, built in (("inputs", spec.inputs, facts.inputs), ("outputs", spec.outputs, facts.outputs)):
        if given is None:
            continue
        said = [(t.name, t.shape, t.dtype) for t in given]
        got = [(t.name, t.shape, t.dtype) for t in built]
        _require(said == got, f"spec.{kind} says {said}; the built model has {got}")
    return None


def _check_manifest(run: _Run) -> str | None:
    """A model whose spec leaves facts to a build needs a fresh manifest in its package."""
    builder = run.builder
    if run.overrides:
        return "the manifest describes the default config only"
    hand_written = getattr(type(builder), "spec", None)
    relies = not (isinstance(hand_written, ModelSpec) and hand_written.is_complete)
    has_entry = manifest.entry_for(builder) is not None or _manifest_names(builder)
    if not relies and not has_entry:
        return "the spec states every fact by hand"
    facts = run.facts or builder.facts()
    reason = manifest.stale_reason(builder, facts)
    _require(reason is None, f"{reason}; run `{manifest.fix_command(builder)}` and ship the file as package data")
    older = manifest.older_note(builder, facts)
    if older is not None:
        warnings.warn(ConformanceWarning(f"model {builder.spec.name!r}: {older}"), stacklevel=2)
        return Passed(older)
    return None


def _manifest_names(builder: ModelBuilder) -> bool:
    package = manifest.package_dir_of(manifest.builder_module(builder))
    return builder.spec.name in (manifest.read(package) or {}) if package is not None else False


def _check_compiles(run: _Run) -> str | None:
    from .._meta.derive import unknown_loss_message

    _use_kit_config(run)
    unknown = unknown_loss_message(run.builder.spec.name, run.builder.output_specs(run.config))
    _require(unknown is None, unknown or "")
    eager = {"run_eagerly": True} if run.eager else {}
    run.builder.compile(run.model, config=run.config, **eager)  # the losses of this config (its class count), not the default's
    _require(run.model.compiled, "compile() left the model uncompiled")
    return None


def _check_trains(run: _Run) -> str | None:
    import numpy as np

    from ..datasets.synthetic import synthetic_data

    outputs = run.builder.output_specs(run.config)
    _warn_regression_guess(run.builder, outputs)
    run.x, run.y = synthetic_data(run.builder.input_specs(run.config), outputs, n=SAMPLES)
    history = run.builder.train(run.model, run.x, run.y, epochs=1, batch_size=SAMPLES)  # one step
    losses = {k: v[-1] for k, v in history.history.items() if k.endswith("loss")}
    _require(bool(losses), f"training reported no loss (history keys: {sorted(history.history)})")
    bad = {k: v for k, v in losses.items() if not np.isfinite(v)}
    _require(not bad, f"one training step on synthetic data gave non-finite losses {bad}")
    bad_weights = [w.path for w in run.model.weights if not np.isfinite(np.asarray(w)).all()]
    _require(not bad_weights, f"one training step left NaN/inf in weights {bad_weights[:5]}")
    return None


def _warn_regression_guess(builder: ModelBuilder, outputs: Sequence[TensorSpec]) -> None:
    """Warn when a multi-unit output trains on mse read from a linear activation, not declared:
    a classifier whose softmax kzoo could not see would train, wrongly, on invented targets."""
    declared = builder.loss_overrides().get("losses", {})
    for t in outputs:
        size = 1
        for d in t.shape:
            size *= d or 1
        if t.loss == "mse" and size > 1 and t.name not in declared:
            warnings.warn(ConformanceWarning(
                f"model {builder.spec.name!r}: output {t.name!r} has {size} units and trains on mse, read from its "
                f"linear activation; if it is a classifier, put the softmax on the output layer or declare "
                f"loss={{{t.name!r}: 'sparse_categorical_crossentropy'}}; if it is a regression, declare loss='mse' "
                f"to silence this."), stacklevel=2)


def _check_predicts(run: _Run) -> str | None:
    import numpy as np

    run.predictions = _by_output(run, run.builder.predict(run.model, run.x))
    expected = {t.name: (SAMPLES, *t.shape) for t in run.builder.output_specs(run.config)}
    got = {k: tuple(np.shape(v)) for k, v in run.predictions.items()}
    _require(got == expected, f"predictions have shapes {got}; the spec promises {expected}")
    return None


def _check_round_trip(run: _Run) -> str | None:
    """Save the model as ``kzoo train`` does and reload it where a user will: in a fresh process
    (:func:`_reload_fresh`), where only what the plugin's package imports is known. A model a
    fresh process cannot find (a builder not registered by an installed plugin: passed as an
    object, or registered in-process) is reloaded in this process instead, and the result says so."""
    import numpy as np

    from .._store.saving import load, model_metadata, save

    plugin = run.plugin = _installed_plugin(run.builder)
    os.makedirs(run.folder, exist_ok=True)
    path = os.path.join(run.folder, "model.keras")
    save(run.model, path, model_metadata(run.builder.spec.name, run.config, plugin=plugin))
    if plugin is not None:
        np.savez(os.path.join(run.folder, "x.npz"), **{f"x:{k}": np.asarray(v) for k, v in _inputs(run.x).items()})
        run.saved = path
        return None  # the fresh process's verdict replaces this result
    _compare(run, load(path))
    return None


def _check_backbone(run: _Run) -> str | None:
    """The backbone contract fine-tuning relies on: ``build_backbone`` (``head=False``), built after
    the whole model in the same process as ``kzoo train --weights`` builds it, takes the whole
    model's inputs, returns one feature tensor, and each of its layers with weights pairs with one
    of the whole model's of the same weight shapes (by name, or by position where Keras numbered
    the layers: :func:`kzoo._weights.finetune.match_layers`); what it leaves out is the head, which
    must hold weights."""
    import keras

    from .._weights.finetune import match_layers, signature, weighted_layers

    if not run.builder.has_backbone:
        return "the model declares no backbone (no head=False form)"
    _use_kit_config(run)
    with policy(run.precision):
        backbone = run.builder.build_backbone(run.config)
    _require(isinstance(backbone, keras.Model), f"build_backbone() returned {type(backbone).__name__}, not a keras.Model")
    shapes = sorted(tuple(t.shape) for t in run.builder.input_specs(run.config))  # a subclassed model has no .inputs
    got = sorted(tuple(x.shape[1:]) for x in backbone.inputs)
    _require(got == shapes, f"the backbone takes inputs of shapes {got}; the whole model's are {shapes}")
    _require(len(backbone.outputs) == 1, f"the backbone returns {len(backbone.outputs)} tensors; expected one "
             "feature tensor, which the head takes")
    whole = [signature(layer) for layer in weighted_layers(run.model)]
    parts = [signature(layer) for layer in weighted_layers(backbone)]
    paired = match_layers(parts, whole)
    unpaired = [f"{name} {list(shape)}" for i, (name, shape) in enumerate(parts) if i not in paired]
    _require(not unpaired, f"backbone layers {_few(unpaired)} pair with no layer of the whole model (the one of "
             f"that name, or at that position among the layers with weights, with the same weight shapes), so "
             f"fine-tuning would start them afresh; build the backbone from the whole model's code, its layers in "
             f"the same order (the whole model's: {_few([f'{n} {list(s)}' for n, s in whole])})")
    _require(len(parts) < len(whole), "every layer with weights is in the backbone: fine-tuning would give the "
             "model no new head; build_backbone should leave out the output layers")
    return None


def _few(names: Sequence[str], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _compare(run: _Run, loaded_predictions: Any) -> None:
    import numpy as np

    again = (loaded_predictions if isinstance(loaded_predictions, dict)
             else _by_output(run, run.builder.predict(loaded_predictions, run.x)))
    for name, before in run.predictions.items():
        _require(name in again, f"the reloaded model has no output {name!r} (it has {sorted(again)})")
        _require(np.array_equal(np.asarray(before), np.asarray(again[name])),
                 f"output {name!r} differs after a .keras save/load round trip "
                 f"(max difference {np.max(np.abs(np.asarray(before) - np.asarray(again[name]))):.3g}); "
                 "check get_config() of custom layers and custom_objects()")


def _inputs(x: Any) -> dict[str, Any]:
    return dict(x) if isinstance(x, Mapping) else {"": x}


def _plugin_of(model: str | ModelBuilder) -> str | None:
    """:func:`_installed_plugin` of a name or builder; None for anything the spec check will refuse."""
    try:
        return _installed_plugin(get(model) if isinstance(model, str) else model)
    except Exception:  # reported by the checks themselves
        return None


def _installed_plugin(builder: ModelBuilder) -> str | None:
    """The plugin a fresh process loads ``builder`` from: one installed through an entry point,
    whose registry holds this very builder under its name; None when a fresh process cannot."""
    from .._zoo.plugins import discover

    host = get_host()
    name = builder.spec.name
    if name not in host.registry.names() or host.registry.get(name) is not builder:
        return None
    info = host.infos.get(builder.spec.plugin or "")
    if info is None or info.status != "ok":
        return None
    return info.name if any(ep.name == info.name and ep.value == info.module for ep in discover()) else None


def _reload_fresh(pending: Sequence[tuple[_Run, list[CheckResult]]], folder: str) -> None:
    """Load each saved model in a fresh interpreter (the plugin's reloader, :mod:`.reloader`), with
    the user's plugin settings, and compare its predictions: the round trip's result becomes that verdict."""
    import numpy as np

    jobs = [{"model": run.saved, "x": os.path.join(run.folder, "x.npz"), "out": os.path.join(run.folder, "y.npz"),
             "error": os.path.join(run.folder, "error.txt"), "eager": run.eager} for run, _ in pending]
    job_file = os.path.join(folder, "jobs.json")
    with open(job_file, "w", encoding="utf-8") as f:
        json.dump(jobs, f)
    why = reloader.reload(job_file, [run.plugin or "" for run, _ in pending], RELOAD_TIMEOUT)
    for (run, results), job in zip(pending, jobs):
        index = next(i for i, r in enumerate(results) if r.check == "round_trip")
        subject = results[index].subject
        try:
            if os.path.exists(job["error"]):
                with open(job["error"], encoding="utf-8") as f:
                    raise ConformanceError(f"loading the saved model in a fresh process failed: {f.read().strip()}")
            if not os.path.exists(job["out"]):
                raise ConformanceError(f"the fresh process that reloads the saved model failed: {why or 'it wrote no predictions'}")
            with np.load(job["out"]) as data:
                got = {k[2:]: data[k] for k in data.files}
            _compare(run, got if list(got) != [""] else _by_output(run, got[""]))
            results[index] = CheckResult(subject, "round_trip", "passed")
        except ConformanceError as exc:
            results[index] = CheckResult(subject, "round_trip", "failed", str(exc))


def _by_output(run: _Run, predictions: Any) -> dict[str, Any]:
    """Predictions keyed by output name, whether the model returned an array, a list or a dict."""
    from .._engine.wrapping import (
        by_name,  # imports numpy, which importing kzoo.testing does not
    )

    return by_name(predictions, [t.name for t in run.builder.output_specs(run.config)])


_CHECKS = {
    "spec": _check_spec,
    "builds": _check_builds,
    "params": _check_params,
    "manifest": _check_manifest,
    "compiles": _check_compiles,
    "trains": _check_trains,
    "predicts": _check_predicts,
    "round_trip": _check_round_trip,
    "backbone": _check_backbone,
}


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConformanceError(message)


# -- per plugin ------------------------------------------------------------------------------
_IMPORT_PROBE = """
import importlib, json, sys
importlib.import_module({module!r})
import kzoo
names = kzoo.list_models(plugin={plugin!r})
for name in names:
    builder = kzoo.get(name)
    builder.config()
    if builder.spec.is_complete:  # else reading its inputs builds it: the manifest check's failure, not this one's
        builder.input_specs(), builder.output_specs()
kzoo.list_weights()
print(json.dumps({{"models": names, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def check_plugin_import(plugin: str) -> CheckResult:
    """Import ``plugin``'s module and list its models and weights in a fresh interpreter: keras,
    tensorflow and the libraries on a framework that the plugin's distribution requires (the
    library an adapter wraps) must stay unloaded, so ``kzoo list`` stays fast however many plugins
    are installed."""
    subject = f"plugin {plugin!r}"
    info = get_host().infos.get(plugin)
    if info is None:
        return CheckResult(subject, IMPORT_CHECK, "failed", f"no plugin named {plugin!r} is loaded; "
                           f"loaded: {sorted(get_host().infos)}")
    module = info.module.partition(":")[0]
    if not _importable(module):
        return CheckResult(subject, IMPORT_CHECK, "skipped", f"registered in-process from {module}, not an importable module")
    from .._zoo.discovery import dependency_packages

    libraries = sorted(dependency_packages(info.distribution, built_on=FRAMEWORKS) - set(FRAMEWORKS))
    env = dict(os.environ, KZOO_LOAD_PLUGINS=plugin, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    code = _IMPORT_PROBE.format(module=module, plugin=plugin, heavy=(*HEAVY_MODULES, *libraries))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-1:] or ["no error output"]
        return CheckResult(subject, IMPORT_CHECK, "failed", f"importing {module!r} failed: {tail[0]}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    if report["heavy"]:
        wrapped = [m for m in report["heavy"] if m in libraries]
        fix = (f"import {', '.join(wrapped)} (a library built on {'/'.join(FRAMEWORKS)}, a dependency of "
               f"{info.distribution}) only inside the build functions, or name them by dotted path "
               f"(\"package._build:net\"), so that listing never imports it" if wrapped
               else "move `import keras` into build_model()")
        return CheckResult(subject, IMPORT_CHECK, "failed",
                           f"importing {module!r} and listing {report['models']} imported {report['heavy']}; {fix}")
    return CheckResult(subject, IMPORT_CHECK, "passed")


def _importable(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def plugin_models(plugin: str) -> list[str]:
    """The models ``plugin`` registered; a ConformanceError if it is not loaded or failed."""
    info = get_host().infos.get(plugin)
    if info is None:
        raise ConformanceError(f"kzoo conformance: no plugin named {plugin!r} is loaded; loaded plugins: "
                               f"{sorted(get_host().infos)}. Is it installed (pip install -e .)?")
    if info.status != "ok":
        raise ConformanceError(f"kzoo conformance: plugin {plugin!r} failed to load: {info.error}")
    return list(info.models)


def plugin_weights(plugin: str) -> list[str]:
    """Full names of the weights ``plugin`` registered (checked like its models)."""
    plugin_models(plugin)  # the same errors for a plugin that is missing or failed
    return [name for name, w in get_host().weights().items() if w.plugin == plugin]


def check_weights(name: str) -> CheckResult:
    """Registered weights ``name`` verify (sha256), load into their model and, evaluated on the data
    set they name, reproduce every recorded metric within ``METRIC_TOLERANCE``."""
    from .._weights import cache, lookup
    from .._workflow.inference import evaluate_saved, open_weights
    from ..datasets import list_datasets

    subject = f"weights {name!r}"
    try:
        weights = lookup.get_weights(name)
        cache.fetch(weights)
        saved = open_weights(name)
        if not weights.metrics:
            return CheckResult(subject, WEIGHTS_CHECK, "passed", "no recorded metrics to reproduce")
        source = weights.dataset
        if source is None or (source not in list_datasets() and not os.path.isfile(source)):
            return CheckResult(subject, WEIGHTS_CHECK, "skipped", f"its data {source!r} is not available here")
        measured = evaluate_saved(saved, source)
    except Exception as exc:
        return CheckResult(subject, WEIGHTS_CHECK, "failed", f"{type(exc).__name__}: {exc}")
    off = {k: (v, round(measured.get(k, float("nan")), 4)) for k, v in weights.metrics.items()
           if not abs(measured.get(k, float("nan")) - v) <= METRIC_TOLERANCE}
    if off:
        return CheckResult(subject, WEIGHTS_CHECK, "failed", f"recorded vs measured metrics on {source!r} differ by more "
                           f"than {METRIC_TOLERANCE}: {off}")
    return CheckResult(subject, WEIGHTS_CHECK, "passed")


def check_plugin(plugins: str | Sequence[str]) -> list[CheckResult]:
    """Every check of every model of ``plugins``, plus the import check of each plugin and the
    check of every weights file it registers."""
    results: list[CheckResult] = []
    for plugin in [plugins] if isinstance(plugins, str) else plugins:
        results.append(check_plugin_import(plugin))
        for model_results in check_models(plugin_models(plugin)):
            results += model_results
        results += [check_weights(name) for name in plugin_weights(plugin)]
    return results


def assert_conformance(plugins: str | Sequence[str]) -> None:
    """Raise one ConformanceError listing every failed check of ``plugins``' models."""
    failures = [str(r) for r in check_plugin(plugins) if not r.ok]
    if failures:
        raise ConformanceError("\n".join(failures))
