"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train the built-in mlp on iris together.

Each worker is a fresh interpreter (TF_CONFIG must be read before TensorFlow starts); the
single-process baseline runs the same script and loop without a strategy.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ._processes import finish, free_ports, start

pytestmark = pytest.mark.slow  # clusters of fresh TensorFlow processes

# Both runs see the same global batches in the same order, so they differ only by float rounding
# in the all-reduce: one test sample of 50 (0.02) is already a visible change; allow two.
ACCURACY_TOLERANCE = 0.04
WEIGHT_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cluster_dir = tmp_path_factory.mktemp("cluster")
    single_dir = tmp_path_factory.mktemp("single")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [
        start("distributed_worker.py", [str(cluster_dir), "multi-worker"],
              env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
        for i in range(2)
    ]
    finish(workers)
    finish([start("distributed_worker.py", [str(single_dir), "default"])])
    return cluster_dir, single_dir


def _weights(path):
    with np.load(path) as data:
        return [data[k] for k in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


def _result(path):
    return json.loads(path.read_text())


def test_both_workers_end_with_identical_weights(runs):
    cluster_dir, _ = runs
    w0, w1 = _weights(cluster_dir / "weights-0.npz"), _weights(cluster_dir / "weights-1.npz")
    assert len(w0) == len(w1) == 8  # 4 Dense layers: kernel + bias
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)


def test_only_the_chief_writes_the_model(runs):
    cluster_dir, _ = runs
    assert _result(cluster_dir / "result-0.json")["chief"] is True
    assert _result(cluster_dir / "result-1.json")["chief"] is False
    assert [p.name for p in cluster_dir.glob("*.keras")] == ["model.keras"]


def test_chief_model_loads_and_predicts_like_the_worker(runs):
    import kzoo

    from .distributed_worker import iris_split

    cluster_dir, _ = runs
    model = kzoo.load(cluster_dir / "model.keras")
    _, _, x_test, y_test, _ = iris_split()
    accuracy = float((np.asarray(model.predict(x_test, verbose=0)).argmax(axis=1) == y_test).mean())
    assert accuracy == pytest.approx(_result(cluster_dir / "result-0.json")["accuracy"])
    for a, b in zip(model.get_weights(), _weights(cluster_dir / "weights-0.npz")):
        np.testing.assert_array_equal(a, b)


def test_cluster_training_matches_single_process_training(runs):
    cluster_dir, single_dir = runs
    cluster, single = _result(cluster_dir / "result-0.json"), _result(single_dir / "result-single.json")
    assert cluster["accuracy"] > 0.8, "the cluster did not learn iris"
    assert abs(cluster["accuracy"] - single["accuracy"]) <= ACCURACY_TOLERANCE
    for a, b in zip(_weights(cluster_dir / "weights-0.npz"), _weights(single_dir / "weights-single.npz")):
        np.testing.assert_allclose(a, b, atol=WEIGHT_TOLERANCE)


def test_a_worker_that_fails_takes_its_waiting_peer_down(tmp_path):
    """Worker 1 dies on a malformed TF_CONFIG; worker 0 would wait for it forever and is killed."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    good = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
    bad = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 2}})
    waiting = start("distributed_worker.py", [str(tmp_path), "multi-worker"], env={"TF_CONFIG": good})
    failing = start("distributed_worker.py", [str(tmp_path), "multi-worker"], env={"TF_CONFIG": bad})
    with pytest.raises(AssertionError, match="index must be 0..1"):
        finish([failing, waiting])
    assert waiting.returncode < 0  # killed by a signal, not finished
    assert not (tmp_path / "model.keras").exists()


def test_history_has_one_value_per_epoch_for_loss_metrics_and_validation(runs):
    from .distributed_worker import EPOCHS

    cluster_dir, _ = runs
    history = _result(cluster_dir / "result-0.json")["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == EPOCHS for values in history.values())
    assert history["loss"][-1] < history["loss"][0]
