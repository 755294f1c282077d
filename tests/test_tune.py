"""``kzoo tune`` / ``kzoo.tune``: workers sharing one storage stop together at the study's
COMPLETE count, a worker killed mid-trial leaves it FAIL and nothing else changed, the pruner
stops a hopeless trial, the best model is self-contained, and every bad space or storage is one
line before anything trains. Workers are fresh interpreters only where processes are the point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import kzoo
from kzoo._meta.spec import Choice, Range, search_space
from kzoo._zoo.registry import Registry

from ._cli import run
from .conftest import fresh_env, make_builder

optuna = pytest.importorskip("optuna")
TrialState = optuna.trial.TrialState
TINY = {"hidden_units": (8,), "activation": "relu"}  # fixed: the declared space is left with learning_rate


def _worker(storage: str, study: str, trials: int, *flags: str) -> subprocess.Popen:
    """``kzoo tune mlp --data iris`` in a fresh interpreter: another worker process on ``storage``,
    on JAX (it starts in half TensorFlow's time; a study's workers may run different backends)."""
    args = [sys.executable, "-m", "kzoo", "tune", "mlp", "--data", "iris", "--trials", str(trials), "--storage",
            storage, "--study", study, "--set", "hidden_units=8", "--no-prune", "--quiet", *flags]
    return subprocess.Popen(args, env=fresh_env({"KERAS_BACKEND": "jax"}), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _trials(storage: str, study: str) -> list:
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials()
    except KeyError:  # the worker has not made the study yet
        return []


def _wait_for(storage: str, study: str, ready, process: subprocess.Popen) -> list:
    """The study's trials once ``ready(trials)`` holds, polling while ``process`` runs."""
    while True:
        trials = _trials(storage, study)
        if ready(trials):
            return trials
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.2)


def test_the_pruner_stops_a_trial_that_cannot_learn(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="prune", storage=storage, direction="maximize")
    study.enqueue_trial({"learning_rate": 1e-9})  # hopeless: Adam moves no weight in 6 epochs
    study.enqueue_trial({"learning_rate": 0.02})
    kzoo.tune("mlp", "breast_cancer", trials=1, space={"learning_rate": [1e-9, 0.02]}, config=TINY,
              storage=storage, study="prune", epochs=6, patience=0,
              pruner=optuna.pruners.ThresholdPruner(lower=0.8, n_warmup_steps=1))
    hopeless, good = _trials(storage, "prune")[:2]
    assert hopeless.state == TrialState.PRUNED and hopeless.params["learning_rate"] == 1e-9
    assert len(hopeless.intermediate_values) < 6 <= good.user_attrs["epochs"], "pruning ended its training early"
    assert good.state == TrialState.COMPLETE and good.value > 0.8


def test_two_workers_on_one_sqlite_storage_finish_8_trials_together_and_the_best_model_is_self_contained(tmp_path):
    storage, out = f"sqlite:///{tmp_path / 'study.db'}", str(tmp_path / "best.keras")
    pytest.importorskip("jax")
    other = _worker(storage, "pair", 8, "--epochs", "3", "--out", out)
    _wait_for(storage, "pair", lambda trials: len(trials) >= 1, other)  # the other worker is at work: join it
    result = kzoo.tune("mlp", "iris", trials=8, config={"hidden_units": (8,)}, storage=storage, study="pair",
                       epochs=3, out=out, pruner="none")
    assert other.wait() == 0, other.stderr.read()

    trials = _trials(storage, "pair")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 8 and len({t.number for t in complete}) == 8
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert len({t.user_attrs["kzoo_worker"]["pid"] for t in complete}) == 2, "both workers ran trials"
    assert len({t.user_attrs["seed"] for t in complete}) == 8, "each trial trains with its own seed"

    best = max(complete, key=lambda t: t.value)
    tuning = kzoo.saved_info(out)["tuning"]
    assert (tuning["trial"], tuning["value"]) == (best.number, best.value) == (result.best["number"], result.best["value"])
    assert tuning["params"]["learning_rate"] == pytest.approx(best.params["learning_rate"])
    assert not list(tmp_path.glob("best.trial*.keras")), "the workers' kept trial files are cleaned up"
    done = run("info", out)
    assert f"the best of 8 trials of study 'pair' (trial {best.number}" in done.stdout

    import keras
    from sklearn.datasets import load_iris

    raw = load_iris().data.astype("float32")
    probabilities = keras.saving.load_model(out).predict({"numeric": raw}, verbose=0)
    _, rows = kzoo.predict(out, "iris")
    np.testing.assert_allclose(probabilities, np.array([r[2:] for r in rows], dtype=float), atol=1e-5)


def test_a_worker_killed_mid_trial_leaves_it_failed_and_a_restart_completes_the_study(tmp_path):
    pytest.importorskip("jax")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    # Long trials (300 epochs, no early stop): on an idle machine 30-epoch trials all ended
    # between two polls, and the worker exited before it could be caught mid-trial.
    worker = _worker(storage, "killed", 3, "--epochs", "300", "--patience", "0")

    def mid_trial(trials) -> bool:
        return any(t.state == TrialState.COMPLETE for t in trials) and any(
            t.state == TrialState.RUNNING and t.intermediate_values for t in trials)

    _wait_for(storage, "killed", mid_trial, worker)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    before = {t.number: (t.value, t.params) for t in _trials(storage, "killed") if t.state == TrialState.COMPLETE}
    dead = [t.number for t in _trials(storage, "killed") if t.state == TrialState.RUNNING]
    assert len(dead) == 1

    kzoo.tune("mlp", "iris", trials=3, config={"hidden_units": (8,)}, storage=storage, study="killed", epochs=30,
              patience=0, pruner="none")  # the restart, here

    after = _trials(storage, "killed")
    assert after[dead[0]].state == TrialState.FAIL
    assert after[dead[0]].system_attrs["fail_reason"] == "its worker process died"
    complete = {t.number: (t.value, t.params) for t in after if t.state == TrialState.COMPLETE}
    assert len(complete) == 3 and {n: complete[n] for n in before} == before, "completed trials are kept as they were"
    assert not [t for t in after if t.state == TrialState.RUNNING]


# -- search spaces, declared and given ------------------------------------------------------------------
def test_the_short_forms_become_choices_and_ranges():
    space = search_space({"hidden_units": ["64", "128,64"], "dropout": (0.0, 0.5),
                          "learning_rate": ("log", 1e-4, 1e-2), "members": "8:32", "activation": "relu|gelu"}, "m")
    assert space["hidden_units"] == Choice(("64", "128,64")) and space["dropout"] == Range(0.0, 0.5)
    assert space["learning_rate"] == Range(1e-4, 1e-2, log=True) and space["members"].is_int
    assert space["activation"] == Choice(("relu", "gelu"))


def test_built_in_spaces_are_typed_and_kzoo_info_shows_them():
    assert kzoo.get_spec("mlp").search_space["hidden_units"].values[4] == (128, 64)
    for name in ("realmlp", "tabm"):
        assert {"dropout", "learning_rate"} <= set(kzoo.get_spec(name).search_space)
    done = run("info", "mlp")
    assert "search:   hidden_units=32 | 64" in done.stdout and "learning_rate=log 0.001..0.05" in done.stdout


CONFIG = {"input_dim": 4, "hidden_units": (8,)}


@pytest.mark.parametrize("space, message", [
    ({"hiden_units": ["8"]}, "plugin 'thirdparty': model spaced: search space key 'hiden_units' is neither a config "
                             "key nor a training option. Did you mean 'hidden_units'?"),
    ({"learning_rate": (0.0, 20.0)}, "plugin 'thirdparty': model spaced: search space learning_rate=0.0..20.0 "
                                     "reaches 0.0; expected a number above 0"),
])
def test_a_declared_space_with_an_unknown_key_or_value_fails_registration_naming_the_plugin(space, message):
    builder = make_builder("spaced")
    builder.spec = kzoo.ModelSpec(name="spaced", description="d", default_config=CONFIG, search_space=space)
    with pytest.raises(kzoo.PluginError) as raised:
        Registry().add(builder, "thirdparty")
    assert message in str(raised.value)


def test_a_declared_empty_range_fails_where_it_is_written():
    with pytest.raises(kzoo.PluginError, match=r"model spaced: search space input_dim=\(4, 2\) is an empty range"):
        kzoo.ModelSpec(name="spaced", description="d", default_config=CONFIG, search_space={"input_dim": (4, 2)})


@pytest.mark.parametrize("flags, message", [
    (["--space", "dropout=0:0.5"], "search space key 'dropout' is neither a config key nor a training option"),
    (["--space", "hidden_units=4:2"], "hidden_units=4:2 is an empty range"),
    (["--space", "hidden_units=0|8"], "config hidden_units=0 is not allowed"),
    (["--space", "activation=1:3"], "activation takes a string; list its choices instead"),
    (["--space", "learning_rate"], "--space 'learning_rate' is not KEY=LOW:HIGH"),
    (["--learning-rate", "0.01", "--space", "learning_rate=0.001:0.1"], "learning_rate is both fixed"),
    (["--storage", "mysql:/nope"], "storage 'mysql:/nope' is not a storage URL; expected sqlite:///FILE.db"),
    (["--storage", "sqlite:///no/such/folder/s.db"], "storage 'sqlite:///no/such/folder/s.db' cannot be opened"),
])
def test_bad_spaces_and_storages_are_one_line_before_anything_trains(flags, message):
    done = run("tune", "mlp", "--data", "iris", "--trials", "2", *flags)
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kzoo: error: ") and message in lines[0], done.stderr


def test_without_optuna_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` raises ImportError
    done = run("tune", "mlp", "--data", "iris")
    assert done.exit_code == 1 and done.stderr.strip() == 'kzoo: error: kzoo tune needs Optuna: pip install "kzoo[tune]"'
