"""Resume after a crash: a subprocess is SIGKILLed right after epoch 2's checkpoint; the same
command then continues from epoch 2 with the optimizer state intact."""

from __future__ import annotations

import json
import os
import signal

import kzoo
from kzoo import resume

from .conftest import run_kzoo

SAMPLES, BATCH = 1797, 256  # digits: 8 steps per epoch
STEPS = -(-SAMPLES // BATCH)


def kzoo_cli(args, env=None):
    return run_kzoo(*map(str, args), env=env)


def test_killed_training_resumes_from_the_last_completed_epoch(tmp_path):
    ckpt, out, metrics = tmp_path / "ckpt", tmp_path / "m.keras", tmp_path / "m.json"
    command = ["train", "mlp", "--data", "digits", "--epochs", 4, "--batch-size", BATCH,
               "--checkpoint-dir", ckpt, "--out", out, "--metrics-out", metrics]

    crashed = kzoo_cli(command, {resume.KILL_ENV: "2"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert not out.exists() and not metrics.exists()  # nothing final was written
    assert sorted(os.listdir(ckpt)) == [resume.CHECKPOINT_NAME]  # no temporary leftovers
    saved = kzoo.saving.read_metadata(ckpt / resume.CHECKPOINT_NAME)
    assert saved["epoch"] == 2 and len(saved["history"]["loss"]) == 2
    assert int(kzoo.load(ckpt / resume.CHECKPOINT_NAME).optimizer.iterations) == 2 * STEPS

    resumed = kzoo_cli(command)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from epoch 2" in resumed.stdout and "Epoch 3/4" in resumed.stdout
    assert "Epoch 1/4" not in resumed.stdout
    report = json.loads(metrics.read_text())
    assert report["initial_epoch"] == 2 and report["epochs"] == 4
    assert report["history"]["loss"][:2] == saved["history"]["loss"]
    assert len(report["history"]["loss"]) == 4
    assert int(kzoo.load(out).optimizer.iterations) == 4 * STEPS


def test_a_checkpoint_from_another_model_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    first = kzoo_cli(["train", "mlp", "--data", "iris", "--epochs", 1, "--checkpoint-dir", ckpt, "--quiet"])
    assert first.returncode == 0, first.stderr
    other = kzoo_cli(["train", "two_input_mlp", "--data", "iris", "--epochs", 1, "--checkpoint-dir", ckpt, "--quiet"])
    assert other.returncode == 1 and "from another run" in other.stderr
