"""Stop when learned: with a validation split training ends once the validation metric stops
improving, the best epoch's weights come back, a resumed run keeps counting, and a log gets one
plain line per epoch ending with why training stopped."""

from __future__ import annotations

import json
import re
import signal

import numpy as np
import pytest
from click.testing import CliRunner

import kzoo
from kzoo import ConfigError, DataError
from kzoo._engine import stopping
from kzoo._store import resume, schema as metadata_schema
from kzoo._workflow import training
from kzoo.cli import main

from .test_resume import kill_after, kzoo_cli

STOPPED = re.compile(r"stopped at epoch (\d+): val_accuracy has not improved for (\d+) epochs; "
                     r"restored the best weights from epoch (\d+)")


def test_training_stops_after_patience_epochs_and_keeps_the_best_weights():
    result = training.train("mlp", "iris", epochs=300, val_split=0.2, patience=3)
    val = result.history["val_accuracy"]
    match = STOPPED.fullmatch(result.stop_reason)
    assert match, result.stop_reason
    stopped, patience, best = map(int, match.groups())
    assert patience == 3 and stopped == result.epochs == len(val) < 300 and stopped == best + 3
    loss = result.history["val_loss"]
    assert val[best - 1] == max(val[:best]) and all(
        v < val[best - 1] or (v == val[best - 1] and l > loss[best - 1] - 0.001) for v, l in zip(val[best:], loss[best:]))
    assert result.metrics == {k: v[best - 1] for k, v in result.history.items()}  # the best epoch's figures
    assert result.metadata["stopping"] == {"monitor": "val_accuracy", "best": val[best - 1], "best_epoch": best,
                                           "wait": 3, "stopped_epoch": stopped, "best_loss": loss[best - 1]}
    data = kzoo.datasets.load("iris", "mlp", val_split=0.2)
    _, (x_val, y_val) = training.split(data, 0.2, 0)
    restored = kzoo.get("mlp").evaluate(result.network, x_val, y_val)
    assert restored["accuracy"] == pytest.approx(val[best - 1])


def test_a_run_that_uses_every_epoch_keeps_the_best_epochs_weights_too():
    # a learning rate this high makes validation accuracy move about, so the best epoch is not the last
    result = training.train("mlp", "iris", epochs=12, val_split=0.2, patience=100, learning_rate=0.3)
    val, best = result.history["val_accuracy"], result.metadata["stopping"]["best_epoch"]
    assert result.epochs == 12 and len(val) == 12 and best < 12 and val[best - 1] == max(val)
    assert result.stop_reason == ("trained all 12 epochs (the epochs limit); restored the best weights from epoch "
                                  f"{best} (val_accuracy)")
    assert result.metrics == {k: v[best - 1] for k, v in result.history.items()}
    data = kzoo.datasets.load("iris", "mlp", val_split=0.2)
    _, (x_val, y_val) = training.split(data, 0.2, 0)
    assert kzoo.get("mlp").evaluate(result.network, x_val, y_val)["accuracy"] == pytest.approx(val[best - 1])


def test_patience_zero_or_no_validation_trains_every_epoch():
    for kwargs in ({"val_split": 0.2, "patience": 0}, {"patience": 1}):
        result = training.train("mlp", "iris", epochs=4, **kwargs)
        assert result.epochs == 4 and result.stop_reason == "trained all 4 epochs (the epochs limit)"
        assert "stopping" not in result.metadata


def test_val_loss_is_watched_where_there_is_no_accuracy():
    assert stopping.monitor_for({"val_loss": 1.0, "val_mae": 2.0}) == "val_loss"
    assert stopping.monitor_for({"val_loss": 1.0, "val_accuracy": 0.5}) == "val_accuracy"
    assert stopping.improved("val_loss", 0.5, 0.6) and not stopping.improved("val_loss", 0.6, 0.6)
    assert stopping.improved("val_accuracy", 0.7, 0.6) and not stopping.improved("val_accuracy", float("nan"), None)
    # equal accuracy: a lower val_loss is an improvement, an equal or higher one is not
    assert stopping.improved("val_accuracy", 0.8, 0.8, 0.4, 0.5)
    assert not stopping.improved("val_accuracy", 0.8, 0.8, 0.4995, 0.5)  # less than 0.001 lower: no
    assert not stopping.improved("val_accuracy", 0.8, 0.8, 0.5, 0.5) and not stopping.improved("val_accuracy", 0.7, 0.8, 0.1, 0.5)


@pytest.mark.parametrize("patience", [-1, 1.5, True])
def test_a_bad_patience_is_a_config_error(patience):
    with pytest.raises(ConfigError, match="patience"):
        training.train("mlp", "iris", val_split=0.2, patience=patience)


def test_the_schema_refuses_a_damaged_stopping_state():
    good = {"model": "mlp", "epoch": 3, "stopping": {"monitor": "val_loss", "best": 0.5, "best_epoch": 2, "wait": 1}}
    assert metadata_schema.validate(good, "x")
    for key, bad in (("wait", -1), ("best", "high"), ("stopped_epoch", 0)):
        with pytest.raises(DataError, match=f"stopping.{key}"):
            metadata_schema.validate({**good, "stopping": {**good["stopping"], key: bad}}, "x")
    with pytest.raises(DataError, match="stopping.best_epoch is 4 .* at most epoch=3"):
        metadata_schema.validate({**good, "stopping": {**good["stopping"], "best_epoch": 4}}, "x")
    with pytest.raises(DataError, match="training.patience"):
        metadata_schema.validate({"model": "mlp", "training": {"patience": -2}}, "x")


def test_a_log_gets_one_plain_line_per_epoch_and_ends_with_why_it_stopped():
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "iris", "--epochs", "300", "--val-split", "0.2",
                                       "--patience", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", result.output), "no control characters in a log"
    stopped = int(STOPPED.fullmatch(lines[-1]).group(1))
    assert [line.split(" - ")[0] for line in epochs] == [f"Epoch {i}/300" for i in range(1, stopped + 1)]
    assert all("val_accuracy: " in line for line in epochs)

    ceiling = CliRunner().invoke(main, ["train", "mlp", "--data", "iris", "--epochs", "2"])
    assert ceiling.exit_code == 0 and ceiling.output.splitlines()[-1] == "trained all 2 epochs (the epochs limit)"


@pytest.mark.slow
def test_a_killed_run_resumes_with_its_patience_state_and_stops_where_the_whole_run_does(tmp_path):
    def command(name):
        return ["train", "mlp", "--data", "iris", "--epochs", 300, "--val-split", 0.2, "--patience", 3,
                "--checkpoint-dir", tmp_path / f"ckpt_{name}", "--metrics-out", tmp_path / f"{name}.json"]

    whole = kzoo_cli(command("whole"))
    assert whole.returncode == 0, whole.stderr
    stopped, _, best = map(int, STOPPED.fullmatch(whole.stdout.splitlines()[-1]).groups())
    kill_at = best + 1  # after the best epoch, while waiting: the wait count must survive
    crashed = kzoo_cli(command("resumed"), kill_after(tmp_path, kill_at))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    state, weights = resume.read_stopping(tmp_path / "ckpt_resumed")
    assert (state.best_epoch, state.wait, state.stopped_epoch) == (best, 1, None) and weights is not None

    resumed = kzoo_cli(command("resumed"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from epoch {kill_at}" in resumed.stdout
    assert resumed.stdout.splitlines()[-1] == whole.stdout.splitlines()[-1]
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("whole", "resumed"))
    assert a["history"] == b["history"] and a["metrics"] == b["metrics"] and a["epochs"] == stopped

    again = kzoo_cli(command("resumed"))  # a finished run's checkpoint trains no more
    assert again.returncode == 0 and "Epoch " not in again.stdout.replace(f"resumed from epoch {stopped}", "")
    assert again.stdout.splitlines()[-1] == whole.stdout.splitlines()[-1]
    final = kzoo._store.saving.read_metadata(tmp_path / "ckpt_resumed" / resume.CHECKPOINT_NAME)
    weights_now = kzoo.load(tmp_path / "ckpt_resumed" / resume.CHECKPOINT_NAME).get_weights()
    _, best_weights = resume.read_stopping(tmp_path / "ckpt_resumed")
    assert final["stopping"]["stopped_epoch"] == stopped
    assert all(np.array_equal(x, y) for x, y in zip(weights_now, best_weights))
