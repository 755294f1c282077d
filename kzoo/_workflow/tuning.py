"""``kzoo.tune``: a hyperparameter search over any zoo model, on Optuna (what ``kzoo tune`` runs).

Every check comes first, without a framework: the options, the model, the search space (the
model's declared one, with the caller's entries on top, fitted to its config keys and training
options), the storage. Then one data load tells the metric (``val_accuracy`` for a classifier,
else ``val_loss``), and trials run: each is a :func:`kzoo.train` run with its own seed and the
same validation split (``data_seed``), reporting the metric per epoch so the pruner can stop it.

Workers share a study through its storage, with no chief. ``trials`` counts the study's COMPLETE
trials, and a trial starts only while the completed and running trials before it are fewer
(:func:`_needed`), so N workers stop together with exactly ``trials`` complete. A worker killed
mid-trial leaves a RUNNING trial: a worker on the same host marks it FAIL when it starts or
waits (its process is gone), an RDB storage's heartbeat does so from any host, and a new trial
takes its place; completed trials are never touched. The best trial's model is kept by the worker
that trained it (``OUT.trialN.keras`` beside ``out``) and moved to ``out`` at the end; where no
worker here holds it (it ran on another machine), it is trained again from its parameters and seed.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._engine.options import RECIPE_FIELDS, DataOptions, TrainOptions, split_options
from .._meta.spec import Choice, Range, jsonable, search_space
from .._store import saving
from .._system.limits import MAX_SEED
from .._zoo.registry import checked_space
from ..config import format_value
from ..errors import ConfigError, DataError, KzooError, MissingToolError, SearchError, option
from .loading import Data, load_data
from .training import check_run, train

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from .._zoo.builder import ModelBuilder

DEFAULT_VAL_SPLIT = 0.2
"""A search compares trials on held-out rows: ``val_split`` 0 (TrainOptions' default) becomes this."""
STORAGE_FORMS = "sqlite:///FILE.db, postgresql://USER:PASSWORD@HOST/DB, mysql://USER:PASSWORD@HOST/DB or journal:FILE"
HEARTBEAT_SECONDS = 20
"""An RDB storage's heartbeat: a trial whose worker has not beaten for :data:`GRACE_SECONDS` is FAIL."""
GRACE_SECONDS = 60
POLL_SECONDS = 0.5
"""How often a worker waiting for others' running trials looks at the study again."""
FAILURES_IN_A_ROW = 5
"""Trials of one worker that may fail in a row before it gives up (a space that cannot train)."""
INSTALL = 'kzoo tune needs Optuna: pip install "kzoo[tune]"'


@dataclass
class TuneResult:
    """What :func:`tune` returns: the study's name and metric, the best trial (``number``,
    ``value``, ``params``, ``seed``; None when none completed), every trial as a row, and ``out``
    (the best model's file, when asked for). ``study`` is the ``optuna.Study`` itself."""

    study_name: str
    metric: str
    direction: str
    best: dict[str, Any] | None
    trials: list[dict[str, Any]]
    out: str | None = None
    study: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study_name, "metric": self.metric, "direction": self.direction, "best": self.best,
                "trials": self.trials, "out": self.out}


def tune(
    model: str | ModelBuilder,
    data: Any,
    trials: int = 20,
    space: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    options: TrainOptions | None = None,
    data_options: DataOptions | None = None,
    *,
    storage: str | None = None,
    study: str | None = None,
    timeout: float | None = None,
    out: str | os.PathLike[str] | None = None,
    pruner: Any = None,
    sampler: Any = None,
    progress: Callable[[str], Any] | None = None,
    **option_fields: Any,
) -> TuneResult:
    """Search ``model``'s hyperparameters on ``data`` with Optuna; optionally save the best model.

    Args:
        model: a model name or builder.
        data: what :func:`kzoo.train` takes (a data set name, a file, arrays, a DataFrame), but
            not a loaded ``kzoo.datasets.Data``: each trial shapes the data for its own config.
        trials: the COMPLETE trials the study needs; every worker on one storage stops once it
            has them (pruned and failed trials do not count).
        space: search entries on top of the model's declared ones (``kzoo info NAME`` shows
            them), per config key or training option: ``["64", "128,64"]``, ``(0.0, 0.5)``,
            ``("log", 1e-4, 1e-2)`` or the text forms ``"0:0.5"``, ``"log:1e-4:1e-2"``, ``"a|b"``.
            A declared key fixed by ``config`` or by an option set here is not searched.
        config: build config values every trial keeps (``--set``).
        options, data_options, option_fields: as for :func:`kzoo.train` (``epochs`` is each
            trial's ceiling, ``seed`` the first trial's; ``val_split`` 0 becomes 0.2).
        storage: None (in memory, this process only), ``sqlite:///FILE.db``, another SQLAlchemy
            URL (``postgresql://...``), or ``journal:FILE`` (Optuna's journal file).
        study: the study's name (default ``kzoo-MODEL``); an existing one resumes.
        timeout: seconds after which this worker starts no new trial.
        out: write the best trial's model here (``.keras``, with its parameters and metric).
        pruner, sampler: Optuna's (default: ``MedianPruner(n_startup_trials=3)``, ``"none"`` for
            none, and ``TPESampler(constant_liar=True)``, seeded with ``seed`` for an in-memory study).
        progress: called with one line per finished trial (``print`` to watch); None is silent.

    Returns:
        A :class:`TuneResult`.

    Raises:
        kzoo.MissingToolError: Optuna is not installed.
        kzoo.SearchError: a search space entry in no known form, on an unknown key, empty, or
            out of the model's range; a bad storage URL; a study that tunes something else.
        kzoo.OptionError, kzoo.ConfigError, kzoo.DataError: as :func:`kzoo.train`, before anything trains.

    Example::

        result = kzoo.tune("mlp", "wine", trials=20, epochs=50, out="best.keras", progress=print)
        result.best["params"], result.best["value"]
    """
    optuna = _optuna()
    plan = _Plan.make(model, data, trials, space, config, options, data_options, storage, study, timeout, out,
                      option_fields)
    with _optuna_quiet(optuna):
        storage_object = _storage(optuna, plan.storage)
        loaded = load_data(plan.data, plan.builder, plan.config, plan.data_options, seed=plan.options.split_seed,
                           val_split=plan.options.val_split)
        plan.metric = metric_of(loaded)
        the_study = _study(optuna, plan, storage_object, pruner, sampler)
        worker = _Worker(optuna, plan, storage_object, the_study, progress)
        worker.run()
        return worker.finish()


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingToolError(INSTALL) from None
    return optuna


@contextlib.contextmanager
def _optuna_quiet(optuna: Any) -> Any:
    """Optuna's own log (a line per trial, a traceback per failed one) and its experimental-feature
    warnings off: kzoo says what happened in one line per trial."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9: nothing to act on
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(before)


@dataclass
class _Plan:
    """Everything a search was given, checked."""

    builder: ModelBuilder
    data: Any
    trials: int
    space: dict[str, Choice | Range]
    config: dict[str, Any]
    options: TrainOptions
    data_options: DataOptions
    storage: str | None
    study: str
    timeout: float | None
    out: str | None
    metric: str = "val_loss"

    @classmethod
    def make(cls, model: Any, data: Any, trials: Any, space: Any, config: Any, options: Any, data_options: Any,
             storage: Any, study: Any, timeout: Any, out: Any, option_fields: Mapping[str, Any]) -> _Plan:
        if not (isinstance(trials, int) and not isinstance(trials, bool) and trials >= 1):
            raise ConfigError(f"trials={trials!r} is not allowed; expected a number of trials >= 1, such as 20.")
        if timeout is not None and not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
                                        and timeout > 0):
            raise ConfigError(f"timeout={timeout!r} is not allowed; expected seconds > 0, such as 3600.")
        if isinstance(data, Data):
            raise DataError("tune takes the data source (a data set name, a file, arrays or a DataFrame), not loaded "
                            "Data: each trial shapes it for its own config.")
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(f"config must be a mapping of build values, not {type(config).__name__}.")
        fields = dict(option_fields)
        if out is not None:
            fields["out"] = os.fspath(out)
        options, data_options = split_options(fields, options, data_options)
        if options.checkpoint_dir or options.metrics_out or options.plot:
            raise ConfigError(f"tune writes the best model ({option('out')}) only; drop {option('checkpoint_dir')}, "
                              f"{option('metrics_out')} and {option('plot')} (train the best parameters to get them).")
        if not options.val_split:
            options = options.replace(val_split=DEFAULT_VAL_SPLIT)
        builder, _ = check_run(model, data, options, data_options)
        config = dict(config or {})
        builder.config(**config)  # an unknown or wrong fixed value is named before the space
        check_storage(storage)
        name = builder.spec.name
        study = f"kzoo-{name}" if study is None else study
        if not (isinstance(study, str) and study.strip()):
            raise SearchError(f"study name {study!r} is not allowed; expected a non-empty name, such as kzoo-{name}.")
        return cls(builder, data, trials, fit_space(builder, space, config, options), config, options, data_options,
                   storage, study, timeout, options.out)


def fit_space(builder: ModelBuilder, space: Mapping[str, Any] | None, config: Mapping[str, Any],
              options: TrainOptions) -> dict[str, Choice | Range]:
    """The space a search runs: the model's declared entries, less those ``config`` or an option
    fixes, with ``space``'s on top; every choice and range end checked as a config the model
    accepts (or a training option kzoo takes). A SearchError names the key and what it takes."""
    spec = builder.spec
    try:
        given = search_space(space or {}, spec.name)
        fixed = set(config) | {k for k in RECIPE_FIELDS if getattr(options, k) is not None}
        both = sorted(fixed & set(given))
        if both:
            raise ConfigError(f"{spec.name}: {both[0]} is both fixed (by --set or its option) and searched; "
                              f"drop one of them.")
        merged = {**{k: v for k, v in spec.search_space.items() if k not in fixed}, **given}
        if not merged:
            raise ConfigError(f"{spec.name}: nothing to search: the model declares no search space (kzoo info "
                              f"{spec.name}) or all of it is fixed; add entries such as learning_rate=log:1e-4:1e-2.")
        fitted = checked_space(spec, merged)
        for key, entry in fitted.items():
            if key in spec.default_config:
                for value in entry.values:
                    builder.config(**{**config, key: value})  # the model's range rules, on each end and choice
    except ConfigError as exc:
        raise SearchError(str(exc)) from None
    return fitted


def check_storage(url: str | None) -> None:
    """A SearchError unless ``url`` is None or in one of :data:`STORAGE_FORMS` (read, not opened)."""
    if url is None:
        return
    scheme, sep, rest = url.partition(":") if isinstance(url, str) else ("", "", "")
    ok = bool(sep and rest) and (scheme == "journal" or (rest.startswith("//") and scheme.replace("+", "").isalnum()))
    if scheme == "sqlite":
        ok = ok and rest.startswith("///") and len(rest) > 3
    if not ok:
        raise SearchError(f"storage {url!r} is not a storage URL; expected {STORAGE_FORMS}.")


def _storage(optuna: Any, url: str | None) -> Any:
    """The Optuna storage of ``url``, opened (and its tables made): a SearchError in one line when it cannot be."""
    if url is None:
        return None
    try:
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend

            path = url.removeprefix("journal:").removeprefix("//")
            return optuna.storages.JournalStorage(JournalFileBackend(path))
        return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
    except KzooError:
        raise
    except Exception as exc:  # a missing driver, an unreachable server, a folder that does not exist
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SearchError(f"storage {shown_url(url)!r} cannot be opened: {first[:300]}; check the URL, its database "
                          f"driver and that its folder or server exists.") from None


def shown_url(url: str | None) -> str | None:
    """``url`` with its password hidden (it is printed and saved in the best model)."""
    if url is None or "@" not in url:
        return url
    head, _, tail = url.rpartition("@")
    scheme, sep, credentials = head.partition("://")
    user = credentials.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{tail}" if ":" in credentials else url


def metric_of(data: Data) -> str:
    """What trials are compared on: ``val_accuracy`` for a one-output classifier, else ``val_loss``."""
    builder = data.builder
    outputs = builder.output_specs(data.config)
    return "val_accuracy" if len(outputs) == 1 and "accuracy" in outputs[0].metrics else "val_loss"


def direction_of(metric: str) -> str:
    return "maximize" if metric.endswith("accuracy") else "minimize"


def _study(optuna: Any, plan: _Plan, storage: Any, pruner: Any, sampler: Any) -> Any:
    """The study, made or resumed; one that tunes another model, metric or trial count is refused."""
    if sampler is None:
        sampler = optuna.samplers.TPESampler(constant_liar=True, seed=plan.options.seed if storage is None else None)
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=3)
    elif pruner == "none":
        pruner = optuna.pruners.NopPruner()
    study = optuna.create_study(study_name=plan.study, storage=storage, load_if_exists=True, sampler=sampler,
                                pruner=pruner, direction=direction_of(plan.metric))
    wanted = {"model": plan.builder.spec.name, "metric": plan.metric}
    found = {k: study.user_attrs.get(f"kzoo_{k}") for k in wanted}
    if all(v is None for v in found.values()):
        for key, value in wanted.items():
            study.set_user_attr(f"kzoo_{key}", value)
    elif found != wanted:
        raise SearchError(f"study {plan.study!r} on {shown_url(plan.storage)} tunes {found['model']} on "
                          f"{found['metric']}, not {wanted['model']} on {wanted['metric']}; name another study "
                          f"({option('study')}).")
    return study


class _Surplus(Exception):
    """A trial asked for while the study had all it needs (two workers asked at once): not run."""


class _Worker:
    """One process's part of a search: trials run until the study has enough."""

    def __init__(self, optuna: Any, plan: _Plan, storage: Any, study: Any, progress: Callable[[str], Any] | None) -> None:
        self.optuna, self.plan, self.storage, self.study, self.progress = optuna, plan, storage, study, progress
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}
        self.deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
        self.own_best: tuple[float, int] | None = None  # (value, trial number) of the best trial run here
        self.errors: list[str] = []

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        while self._wait():
            self.study.optimize(self._objective, n_trials=1, catch=(KzooError, _Surplus), callbacks=[self._finished])
            if len(self.errors) >= FAILURES_IN_A_ROW:
                raise ConfigError(f"{len(self.errors)} trials in a row failed, so the search stopped; the last: "
                                  f"{self.errors[-1]}")

    def _wait(self) -> bool:
        """True when this worker should start a trial, False when the study is done (or time is up);
        waits while running trials may still complete what the study needs."""
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return False
            self._fail_dead()
            needed = _needed(self.study, self.plan.trials)
            if needed is not None:
                return needed
            time.sleep(POLL_SECONDS)

    def _fail_dead(self) -> None:
        """Mark FAIL the RUNNING trials whose worker is gone: this host's by process id, any host's
        by an RDB storage's heartbeat."""
        optuna, storage = self.optuna, self.storage
        if storage is None:  # in memory: this process is the only worker
            return
        optuna.storages.fail_stale_trials(self.study)
        for trial in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            who = trial.user_attrs.get("kzoo_worker") or {}
            if who.get("host") == self.me["host"] and who.get("pid") != self.me["pid"] and not _alive(who.get("pid")):
                with contextlib.suppress(Exception):  # another worker may have marked it first
                    storage.set_trial_system_attr(trial._trial_id, "fail_reason", "its worker process died")
                    storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)

    # -- one trial ------------------------------------------------------------------------------
    def _objective(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("kzoo_worker", self.me)
        if not _needed(self.study, self.plan.trials, before=trial.number):
            trial.set_user_attr("kzoo_surplus", True)
            raise _Surplus("not run: the study had the trials it needs")
        params = {key: _suggest(trial, key, entry) for key, entry in self.plan.space.items()}
        seed = (self.plan.options.seed + trial.number) % (MAX_SEED + 1)
        trial.set_user_attr("seed", seed)
        reporter = _reporter(trial, self.plan.metric)
        started = time.monotonic()
        try:
            result = self._train(params, seed, (reporter,))
        except KzooError as exc:
            trial.set_user_attr("error", exc.render())
            raise
        finally:
            trial.set_user_attr("seconds", round(time.monotonic() - started, 3))
        trial.set_user_attr("epochs", result.epochs)
        if reporter.pruned_at is not None:
            raise self.optuna.TrialPruned(f"pruned after epoch {reporter.pruned_at + 1}")
        value = result.metrics.get(self.plan.metric)
        if value is None or not math.isfinite(value):
            trial.set_user_attr("error", f"no finite {self.plan.metric} after training")
            raise ConfigError(f"trial {trial.number}: no finite {self.plan.metric} after training")
        value = float(value)
        trial.set_user_attr("metrics", {k: float(v) for k, v in result.metrics.items() if math.isfinite(v)})
        if self.plan.out is not None and self._better(value):
            self._keep(result, trial.number, params, seed, value)
        return value

    def _train(self, params: Mapping[str, Any], seed: int, callbacks: tuple[Any, ...]) -> Any:
        """One kzoo training run with ``params``: config keys on top of the fixed config, training
        options on top of the options; the same validation split every time (``data_seed``)."""
        plan = self.plan
        config = {**plan.config, **{k: v for k, v in params.items() if k in plan.builder.spec.default_config}}
        chosen = {k: v for k, v in params.items() if k not in plan.builder.spec.default_config}
        options = plan.options.replace(seed=seed, data_seed=plan.options.split_seed, out=None, verbose=0,
                                       callbacks=(*plan.options.callbacks, *callbacks), **chosen)
        _clear_session()  # the last trial's graphs and layer names go
        return train(plan.builder, plan.data, config, options, plan.data_options)

    def _better(self, value: float) -> bool:
        if self.own_best is None:
            return True
        best = self.own_best[0]
        return value > best if direction_of(self.plan.metric) == "maximize" else value < best

    def _keep(self, result: Any, number: int, params: Mapping[str, Any], seed: int, value: float) -> None:
        """Save this trial's model as this worker's best (``OUT.trialN.keras``), dropping its previous best."""
        path = trial_file(self.plan.out, number)
        saving.save_model(result.model, path, {**result.metadata, "tuning": self._record(number, params, seed, value)})
        if self.own_best is not None:
            with contextlib.suppress(OSError):
                os.remove(trial_file(self.plan.out, self.own_best[1]))
        self.own_best = (value, number)

    def _record(self, number: int, params: Mapping[str, Any], seed: int, value: float) -> dict[str, Any]:
        """What the best model's ``kzoo.json`` says of the search (``kzoo info best.keras`` shows it)."""
        return {"study": self.plan.study, "storage": shown_url(self.plan.storage), "trial": number,
                "metric": self.plan.metric, "value": value, "direction": direction_of(self.plan.metric),
                "params": jsonable(dict(params)), "seed": seed, "trials": self.plan.trials}

    def _finished(self, study: Any, trial: Any) -> None:
        """After each of this worker's trials: the progress line, and the count of failures in a row."""
        states = self.optuna.trial.TrialState
        if trial.state == states.FAIL and not trial.user_attrs.get("kzoo_surplus"):
            self.errors.append(trial.user_attrs.get("error") or "the trial failed")
        elif trial.state != states.FAIL:
            self.errors.clear()
        if self.progress is not None and not trial.user_attrs.get("kzoo_surplus"):
            self.progress(self._line(trial))

    def _line(self, trial: Any) -> str:
        states = self.optuna.trial.TrialState
        done = len(self.study.get_trials(deepcopy=False, states=(states.COMPLETE,)))
        if trial.state == states.COMPLETE:
            what = f"{self.plan.metric} {trial.value:.4f}"
        elif trial.state == states.PRUNED:
            what = f"pruned after {len(trial.intermediate_values)} epochs"
        else:
            what = f"failed: {trial.user_attrs.get('error', 'see the log')}"
        try:
            best = self.study.best_trial
            best_text = f"best {best.value:.4f} (trial {best.number})"
        except ValueError:
            best_text = "no best yet"
        params = " ".join(f"{k}={_shown(v)}" for k, v in _decoded(trial.params, self.plan.space).items())
        return (f"trial {trial.number}: {what}, {trial.user_attrs.get('seconds', 0):.1f}s; {best_text}; "
                f"{done}/{self.plan.trials} complete; {params}")

    # -- the end --------------------------------------------------------------------------------
    def finish(self) -> TuneResult:
        """The result, with the best trial's model moved (or, from another machine, trained again) to ``out``."""
        plan, states = self.plan, self.optuna.trial.TrialState
        every = self.study.get_trials(deepcopy=False)
        rows = [_row(t, plan.space) for t in every if not t.user_attrs.get("kzoo_surplus")]
        complete = [t for t in every if t.state == states.COMPLETE]
        best = None
        if complete:
            trial = self.study.best_trial
            best = {"number": trial.number, "value": trial.value, "params": _decoded(trial.params, plan.space),
                    "seed": trial.user_attrs.get("seed"), "metrics": trial.user_attrs.get("metrics", {})}
            if plan.out is not None and len(complete) >= plan.trials:
                self._write_best(trial)
        return TuneResult(plan.study, plan.metric, direction_of(plan.metric), best, rows,
                          plan.out if best is not None and plan.out and os.path.exists(plan.out) else None, self.study)

    def _write_best(self, trial: Any) -> None:
        plan = self.plan
        kept = trial_file(plan.out, trial.number)
        with contextlib.suppress(FileNotFoundError):  # another worker here may move it first
            os.replace(kept, plan.out)
        if not _holds(plan.out, plan.study, trial.number):  # trained on another machine: again, here
            params = _decoded(trial.params, plan.space)
            seed = trial.user_attrs.get("seed", plan.options.seed)
            result = self._train(params, seed, ())
            record = self._record(trial.number, params, seed, float(result.metrics.get(plan.metric, trial.value)))
            saving.save_model(result.model, plan.out, {**result.metadata, "tuning": {**record, "retrained": True}})
        stem = plan.out[: -len(".keras")]
        for leftover in glob.glob(glob.escape(stem) + ".trial*.keras"):  # non-best trials' files, killed workers'
            with contextlib.suppress(OSError):
                os.remove(leftover)


def _needed(study: Any, trials: int, before: int | None = None) -> bool | None:
    """Whether a trial should run: False once the study has ``trials`` COMPLETE; True while the
    complete and running ones (those numbered below ``before``, when given) are fewer; None:
    wait, the running ones may still complete it."""
    from optuna.trial import TrialState

    every = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    complete = sum(t.state == TrialState.COMPLETE for t in every)
    if complete >= trials:
        return False
    running = sum(t.state == TrialState.RUNNING and (before is None or t.number < before) for t in every)
    return True if complete + running < trials else None


def _alive(pid: Any) -> bool:
    """Whether process ``pid`` of this host still runs (a zombie does not)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def _suggest(trial: Any, key: str, entry: Choice | Range) -> Any:
    """The trial's value of ``key``: a choice (tuples as their ``--set`` text, which Optuna can
    store) or a number of the range."""
    if isinstance(entry, Choice):
        picked = trial.suggest_categorical(key, [_storable(v) for v in entry.values])
        return _decode(picked, entry)
    if entry.is_int:
        return trial.suggest_int(key, entry.low, entry.high, log=entry.log)
    return trial.suggest_float(key, entry.low, entry.high, log=entry.log)


def _storable(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else format_value(value)


def _decode(stored: Any, entry: Choice | Range) -> Any:
    if isinstance(entry, Choice):
        for value in entry.values:
            if _storable(value) == stored:
                return value
    return stored


def _decoded(params: Mapping[str, Any], space: Mapping[str, Choice | Range]) -> dict[str, Any]:
    return {k: _decode(v, space[k]) if k in space else v for k, v in params.items()}


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else format_value(value)


def _row(trial: Any, space: Mapping[str, Choice | Range]) -> dict[str, Any]:
    """One trial as plain data: ``kzoo tune``'s summary table and ``--json``."""
    return {"number": trial.number, "state": trial.state.name, "value": trial.value,
            "params": jsonable(_decoded(trial.params, space)), "epochs": trial.user_attrs.get("epochs"),
            "seconds": trial.user_attrs.get("seconds"), "seed": trial.user_attrs.get("seed"),
            "error": trial.user_attrs.get("error") or trial.system_attrs.get("fail_reason")}


def trial_file(out: str, number: int) -> str:
    """Where a worker keeps its best trial's model until the search ends: beside ``out``."""
    return f"{out[: -len('.keras')]}.trial{number}.keras"


def _holds(path: str, study: str, number: int) -> bool:
    """Whether the model file at ``path`` is trial ``number`` of ``study``."""
    if not os.path.exists(path):
        return False
    tuning = (saving.read_metadata(path) or {}).get("tuning") or {}
    return tuning.get("study") == study and tuning.get("trial") == number


def _reporter(trial: Any, metric: str) -> Any:
    """A Keras callback that reports ``metric`` after each epoch and stops training when Optuna's
    pruner says so (``pruned_at``: the epoch it stopped after)."""
    import keras

    class Reporter(keras.callbacks.Callback):
        pruned_at: int | None = None

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            value = (logs or {}).get(metric)
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), epoch)
            if trial.should_prune():
                self.pruned_at = epoch
                self.model.stop_training = True

    return Reporter()


def _clear_session() -> None:
    """Free the last trial's graphs and layer names: twenty trials must not grow the process."""
    import keras

    keras.backend.clear_session()
