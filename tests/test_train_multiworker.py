"""`kzoo train --strategy multi-worker`: two worker processes on 127.0.0.1 train together through the
same command a single machine runs; only the chief writes the model, metrics and checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import kzoo

from ._processes import finish, free_ports

pytestmark = pytest.mark.slow  # a cluster of fresh TensorFlow processes


def start_kzoo(args, env):
    """``python -m kzoo args...`` in the background, output to a temporary file (as _processes.start)."""
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([sys.executable, "-m", "kzoo", *map(str, args)], stdout=log,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
    process.log = log
    return process


def test_two_workers_train_one_model_and_only_the_chief_writes(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    outs = [tmp_path / f"w{i}" for i in range(2)]
    workers = [
        start_kzoo(["train", "mlp", "--data", "iris", "--epochs", 3, "--batch-size", 30, "--val-split", 0.2, "--quiet",
                    "--strategy", "multi-worker", "--checkpoint-dir", out / "ckpt",
                    "--out", out / "m.keras", "--metrics-out", out / "m.json"],
                   {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
        for i, out in enumerate(outs)
    ]
    finish(workers)
    chief, other = outs
    assert sorted(p.name for p in chief.iterdir()) == ["ckpt", "m.json", "m.keras"]
    assert not other.exists() or list(other.rglob("*.*")) == []  # the other worker wrote nothing
    report = json.loads((chief / "m.json").read_text())
    assert report["epochs"] == 3 and len(report["history"]["val_loss"]) == 3
    model = kzoo.load(chief / "m.keras")
    assert kzoo._store.saving.read_metadata(chief / "ckpt" / "checkpoint.keras")["epoch"] == 3
    x = kzoo.datasets.load("iris", "mlp").x["input"]
    assert np.isfinite(model.predict(x, verbose=0)).all()
