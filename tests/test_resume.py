"""Resume after a crash: a subprocess is SIGKILLed right after epoch 2's checkpoint; the same
command then continues from epoch 2 with the optimizer state intact, and ends exactly where the
uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

import pytest

import kzoo
from kzoo._store import resume

from ._cli import run
from .conftest import run_kzoo

SAMPLES, BATCH = 1797, 256  # digits: 8 steps per epoch
STEPS = -(-SAMPLES // BATCH)

# Test-only: a sitecustomize that adds a callback SIGKILLing the process after epoch K's
# checkpoint (the shipped code has no such switch).
KILLER = """
import os, signal
import kzoo._workflow.training as training

_make = training.make_callbacks


def make_callbacks(*args, **kwargs):
    import keras

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 >= {after}:
                os.kill(os.getpid(), signal.SIGKILL)

    return [*_make(*args, **kwargs), Kill()]  # after EpochCheckpoint: the checkpoint is written first


training.make_callbacks = make_callbacks
"""


def kill_after(tmp_path: Path, epochs: int) -> dict[str, str]:
    """An environment whose kzoo process kills itself after ``epochs`` epochs."""
    site = tmp_path / f"kill_after_{epochs}"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(KILLER.format(after=epochs)))
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def kzoo_cli(args, env=None):
    """``kzoo ARGS`` in a fresh interpreter: for the run that is killed."""
    return run_kzoo(*map(str, args), env=env)


@pytest.mark.slow
def test_killed_training_resumes_from_the_last_completed_epoch_and_matches_the_uninterrupted_run(tmp_path):
    ckpt, out, metrics = tmp_path / "ckpt", tmp_path / "m.keras", tmp_path / "m.json"
    command = ["train", "mlp", "--data", "digits", "--epochs", 4, "--batch-size", BATCH,
               "--checkpoint-dir", ckpt, "--out", out, "--metrics-out", metrics]

    crashed = kzoo_cli(command, kill_after(tmp_path, 2))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert not out.exists() and not metrics.exists()  # nothing final was written
    assert sorted(os.listdir(ckpt)) == [resume.CHECKPOINT_NAME]  # no temporary leftovers
    saved = kzoo._store.saving.read_metadata(ckpt / resume.CHECKPOINT_NAME)
    assert saved["epoch"] == 2 and len(saved["history"]["loss"]) == 2
    assert int(kzoo.load(ckpt / resume.CHECKPOINT_NAME).optimizer.iterations) == 2 * STEPS

    resumed = run(*command)  # the rest needs no fresh interpreter: in this process
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from epoch 2" in resumed.stdout and "Epoch 3/4" in resumed.stdout
    assert resumed.stdout.index("resumed from epoch 2") < resumed.stdout.index("Epoch 3/4")
    assert "Epoch 1/4" not in resumed.stdout
    assert resumed.stdout.count("mlp: 4 epochs") == 1, resumed.stdout  # the summary once (issue 35)
    report = json.loads(metrics.read_text())
    assert report["initial_epoch"] == 2 and report["epochs"] == 4
    assert report["history"]["loss"][:2] == saved["history"]["loss"]
    assert len(report["history"]["loss"]) == 4
    assert int(kzoo.load(out).optimizer.iterations) == 4 * STEPS

    straight_metrics = tmp_path / "straight.json"
    straight = run("train", "mlp", "--data", "digits", "--epochs", 4, "--batch-size", BATCH,
                   "--metrics-out", straight_metrics, "--quiet")
    assert straight.exit_code == 0, straight.output
    expected = json.loads(straight_metrics.read_text())["history"]["loss"]
    assert report["history"]["loss"] == expected  # the shuffle order depends on seed and epoch only


def test_a_checkpoint_from_another_model_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    first = run("train", "mlp", "--data", "iris", "--epochs", 1, "--checkpoint-dir", ckpt, "--quiet")
    assert first.exit_code == 0, first.output
    other = run("train", "two_input_mlp", "--data", "iris", "--epochs", 1, "--checkpoint-dir", ckpt, "--quiet")
    assert other.exit_code == 1 and "from another run" in other.stderr
    fewer = run("train", "mlp", "--data", "iris", "--epochs", 2, "--seed", 3, "--checkpoint-dir", ckpt, "--quiet")
    assert fewer.exit_code == 1, fewer.output
    assert "epochs 1 -> 2" in fewer.stderr and "seed 0 -> 3" in fewer.stderr
    assert fewer.stderr.count("\n") == 1


def test_no_test_only_switch_in_the_shipped_code():
    package = Path(kzoo.__file__).parent
    assert not [p for p in package.rglob("*.py") if "KZOO_KILL" in p.read_text()]
