"""kzoo.distribute: strategy names, TF_CONFIG checks, who writes, the custom training loop, and
the one function that chooses the loop.

The mirrored test runs in a fresh interpreter: splitting the CPU into two logical devices must
happen before TensorFlow initialises its devices.
"""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest

import kzoo
from kzoo import distribute

from ._processes import finish, start
from .conftest import everyday_models

GOOD_TF_CONFIG = {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 1}}


# -- strategy names -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [None, "default"])
def test_default_means_no_strategy(name):
    assert distribute.resolve_strategy(name) is None


def test_unknown_strategy_lists_the_choices():
    with pytest.raises(kzoo.ConfigError) as excinfo:
        distribute.resolve_strategy("mirored")
    message = str(excinfo.value)
    assert "'mirored'" in message
    assert all(choice in message for choice in kzoo._engine.options.STRATEGIES)


def test_multi_worker_without_tf_config_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(kzoo.ConfigError, match="needs TF_CONFIG, which is not set") as excinfo:
        distribute.resolve_strategy("multi-worker")
    assert '"cluster": {"worker": [' in str(excinfo.value)
    assert "docs/distributed.md" in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', 'no "cluster"'),
        ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
        ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "non-empty list"),
        ('{"cluster": {"worker": ["a:1"]}}', 'no "task"'),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "not in the cluster"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "index must be 0..1"),
    ],
)
def test_malformed_tf_config_is_a_config_error_naming_the_problem(text, complaint):
    with pytest.raises(kzoo.ConfigError, match="TF_CONFIG") as excinfo:
        distribute.parse_tf_config(text)
    assert complaint in str(excinfo.value)


def test_good_tf_config_parses():
    assert distribute.parse_tf_config(json.dumps(GOOD_TF_CONFIG)) == GOOD_TF_CONFIG


# -- who writes ---------------------------------------------------------------------------------
def _cluster_strategy(task_type, task_id, cluster):
    spec = SimpleNamespace(as_dict=lambda: cluster)
    resolver = SimpleNamespace(task_type=task_type, task_id=task_id, cluster_spec=lambda: spec)
    return SimpleNamespace(cluster_resolver=resolver)


WORKERS = {"worker": ["a:1", "b:1"]}
WITH_CHIEF = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}


@pytest.mark.parametrize(
    ("task_type", "task_id", "cluster", "chief"),
    [
        ("worker", 0, WORKERS, True),
        ("worker", 1, WORKERS, False),
        ("chief", 0, WITH_CHIEF, True),
        ("worker", 0, WITH_CHIEF, False),
        ("evaluator", 0, {"evaluator": ["e:1"], **WORKERS}, False),
    ],
)
def test_is_chief_in_a_cluster(task_type, task_id, cluster, chief):
    assert distribute.is_chief(_cluster_strategy(task_type, task_id, cluster)) is chief


def test_single_process_is_its_own_chief():
    assert distribute.is_chief(None) is True
    assert distribute.is_chief(SimpleNamespace(cluster_resolver=None)) is True


def test_chief_writes_the_real_path(tmp_path):
    with distribute.write_target(tmp_path / "model.keras", None) as target:
        assert target == tmp_path / "model.keras"


def test_other_workers_write_a_copy_that_is_deleted(tmp_path):
    strategy = _cluster_strategy("worker", 1, WORKERS)
    with distribute.write_target(tmp_path / "model.keras", strategy) as target:
        assert target.name == "model.keras" and target.parent != tmp_path
        target.write_text("written by worker 1")
    assert not target.exists() and not target.parent.exists()
    assert list(tmp_path.iterdir()) == []


# -- steps_per_execution ------------------------------------------------------------------------
def test_no_strategy_keeps_the_fast_default(caplog):
    assert distribute.supports_steps_per_execution(None)
    with caplog.at_level(logging.INFO, logger="kzoo"):
        assert distribute.steps_per_execution_for(None, 64) == 64
    assert not caplog.records


def test_mirrored_switches_the_fast_default_off_with_a_note(caplog):
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert not distribute.supports_steps_per_execution(strategy)
    with caplog.at_level(logging.INFO, logger="kzoo"):
        assert distribute.steps_per_execution_for(strategy, 64) == 1
    assert "steps_per_execution=64 switched off" in caplog.text
    assert distribute.steps_per_execution_for(strategy, 1) == 1


# -- the custom loop ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order].astype("int32")
    return x[:110], y[:110], x[110:], y[110:]


def _compiled_mlp():
    import keras

    keras.utils.set_random_seed(0)
    builder = kzoo.get("mlp")
    model = builder.build(input_dim=4, num_classes=3)
    return builder.compile(model, optimizer=keras.optimizers.Adam(0.02))


def test_custom_loop_without_strategy_trains_and_returns_a_history(iris, tmp_path):
    import keras

    x, y, x_val, y_val = iris
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, dict(logs)))

    model = _compiled_mlp()
    history = distribute.fit_custom_loop(
        model, {"input": x}, {"output": y}, strategy=None, epochs=12, batch_size=16,
        validation_data=(x_val, y_val),
        callbacks=[Record(), keras.callbacks.ModelCheckpoint(tmp_path / "best.keras", monitor="val_loss",
                                                             save_best_only=True)],
    )
    assert isinstance(history, keras.callbacks.History)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 12 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    assert history.history["val_accuracy"][-1] > 0.8
    assert [epoch for epoch, _ in seen] == list(range(12))
    assert seen[-1][1]["val_loss"] == pytest.approx(history.history["val_loss"][-1])
    evaluated = kzoo.get("mlp").evaluate(model, x_val, y_val)
    assert evaluated["accuracy"] == pytest.approx(history.history["val_accuracy"][-1])
    best = kzoo.get("mlp").evaluate(kzoo.load(tmp_path / "best.keras"), x_val, y_val)
    assert best["loss"] == pytest.approx(min(history.history["val_loss"]), rel=1e-4)


def test_custom_loop_stops_when_a_callback_says_so(iris):
    import keras

    x, y, _, _ = iris

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    history = distribute.fit_custom_loop(
        _compiled_mlp(), x, y, strategy=None, epochs=10, batch_size=32, callbacks=[StopAfterTwo()]
    )
    assert len(history.history["loss"]) == 2


def test_custom_loop_needs_a_compiled_model(iris):
    x, y, _, _ = iris
    with pytest.raises(kzoo.ConfigError, match="compiled model"):
        distribute.fit_custom_loop(kzoo.build("mlp", input_dim=4, num_classes=3), x, y, strategy=None)


def test_custom_loop_needs_the_model_built_in_the_strategy_scope(iris):
    import tensorflow as tf

    x, y, _, _ = iris
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with pytest.raises(kzoo.ConfigError, match="scope"):
        distribute.fit_custom_loop(_compiled_mlp(), x, y, strategy=strategy)


# -- mirrored on one CPU split in two -----------------------------------------------------------
@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_trains_saves_and_loads(tmp_path):
    finish([start("mirrored_worker.py", [str(tmp_path)])])
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["replicas"] == 2
    assert [d.rsplit(":", 2)[-2:] for d in result["devices"]] == [["CPU", "0"], ["CPU", "1"]]
    assert result["steps_per_execution"] == 1
    assert any("switched off" in note for note in result["notes"])
    assert result["chief"] is True
    losses = result["history"]["loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert result["accuracy"] > 0.5  # 10 digit classes: chance is 0.1
    assert result["loaded_accuracy"] == pytest.approx(result["accuracy"])
    assert result["same_predictions"] is True
    assert result["loop_weights_finite"] is True
    assert {k: len(v) for k, v in result["loop_history"].items()} == {
        "loss": 3, "accuracy": 3, "val_loss": 3, "val_accuracy": 3
    }


def test_custom_loop_takes_a_batched_dataset_and_shows_progress(iris, capsys):
    import tensorflow as tf

    x, y, x_val, y_val = iris
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(20)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(20)
    history = distribute.fit_custom_loop(_compiled_mlp(), train, strategy=None, epochs=2, validation_data=val,
                                         verbose=1)
    assert len(history.history["val_loss"]) == 2
    assert "6/6" in capsys.readouterr().out  # 110 samples in batches of 20: the progress bar's steps
    with pytest.raises(kzoo.ConfigError, match="y=None"):
        distribute.fit_custom_loop(_compiled_mlp(), train, y, strategy=None)


def test_fit_uses_model_fit_unless_the_strategy_needs_the_loop(iris, monkeypatch):
    from kzoo._engine import loops

    x, y, _, _ = iris
    history = distribute.fit(_compiled_mlp(), x, y, strategy=None, epochs=2, validation_split=0.2,
                             steps_per_epoch=2)  # a model.fit-only argument
    assert len(history.history["val_loss"]) == 2

    monkeypatch.setattr(loops, "uses_custom_loop", lambda strategy: True)
    looped = []
    real_loop = loops.fit_custom_loop
    monkeypatch.setattr(loops, "fit_custom_loop", lambda *a, **k: looped.append(k) or real_loop(*a, **k))
    history = distribute.fit(_compiled_mlp(), {"input": x}, y, strategy=None, epochs=2, validation_split=0.2)
    assert len(history.history["val_loss"]) == 2
    (kwargs,) = looped
    x_val, y_val = kwargs["validation_data"]
    np.testing.assert_array_equal(x_val, x[88:])  # the last 20%, as Keras takes it
    np.testing.assert_array_equal(y_val, y[88:])
    with pytest.raises(kzoo.ConfigError, match="steps_per_epoch not supported"):
        distribute.fit(_compiled_mlp(), x, y, strategy=None, steps_per_epoch=2)
    with pytest.raises(kzoo.ConfigError, match="validation_split=1.0"):
        distribute.fit(_compiled_mlp(), x, y, strategy=None, validation_split=1.0)


def test_one_function_chooses_the_loop_for_every_caller(iris, monkeypatch):
    """kzoo.train, ModelBuilder.train and kzoo.distribute.fit all go through loops.fit, and
    loops.choose_loop alone picks: the fast path only where the caller allows it and no extra
    model.fit argument is given, the custom loop wherever the strategy needs it."""
    from kzoo._engine import loops

    x, y, _, _ = iris
    net = _compiled_mlp()
    common = dict(strategy=None, batch_size=128, callbacks=[], verbose=0)
    assert loops.choose_loop(net, x, y, None, fit_kwargs={}, allow_fast_path=True, **common) == "fast"
    assert loops.choose_loop(net, x, y, None, fit_kwargs={}, allow_fast_path=False, **common) == "model.fit"
    assert loops.choose_loop(net, x, y, None, fit_kwargs={"class_weight": {0: 1.0}}, allow_fast_path=True,
                             **common) == "model.fit"
    monkeypatch.setattr(loops, "uses_custom_loop", lambda strategy: True)
    assert loops.choose_loop(net, x, y, None, fit_kwargs={}, allow_fast_path=True, **common) == "custom"
    monkeypatch.undo()

    chosen = []
    real_choose = loops.choose_loop
    monkeypatch.setattr(loops, "choose_loop", lambda *a, **k: chosen.append(real_choose(*a, **k)) or chosen[-1])
    kzoo.get("mlp").train(net, x, y, epochs=1)
    distribute.fit(net, x, y, strategy=None, epochs=1)
    kzoo.train("mlp", "iris", epochs=1, val_split=0.2)
    assert chosen == ["model.fit", "model.fit", "fast"]
    with pytest.raises(kzoo.ConfigError, match="resuming from checkpoint_dir is not supported"):
        monkeypatch.setattr(loops, "uses_custom_loop", lambda strategy: True)
        loops.fit(net, x, y, strategy=None, epochs=2, initial_epoch=1)


def test_scope_enters_the_strategy_or_nothing():
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with distribute.scope(strategy):
        assert tf.distribute.get_strategy() is strategy
    with distribute.scope(None):
        assert not tf.distribute.has_strategy()


@pytest.mark.parametrize("name", everyday_models())
def test_custom_loop_logs_what_model_fit_logs_for_every_built_in_model(name):
    """Every small built-in model (the ImageNet architectures train in tests/test_applications.py)."""
    from kzoo._engine.arrays import unwrap
    from kzoo.datasets.synthetic import synthetic_data

    builder = kzoo.get(name)
    x, y = synthetic_data(builder.input_specs(), builder.output_specs(), n=48)
    fitted = builder.compile(builder.build())
    expected = builder.train(fitted, x, y, epochs=2, batch_size=16, validation_data=(unwrap(x), unwrap(y))).history
    looped = builder.compile(builder.build())
    history = distribute.fit_custom_loop(looped, x, y, strategy=None, epochs=2, batch_size=16,
                                         validation_data=(x, y)).history
    assert sorted(history) == sorted(expected)
    assert all(len(v) == 2 and np.isfinite(v).all() for v in history.values())


def test_kzoo_distribute_keeps_every_public_name_it_had_before_it_became_a_face():
    """kzoo.distribute re-exports the engine's strategies and loops; a user's import of any name the
    module had when its code lived there must still work, and each name is the engine's object."""
    from kzoo._engine import arrays, custom_loop, loops, strategies

    before = {"resolve_strategy", "check_strategy", "is_keras_distribution", "wait_for_workers", "parse_tf_config",
              "supports_steps_per_execution", "steps_per_execution_for", "uses_custom_loop", "scope", "is_chief",
              "write_target", "fit_custom_loop", "CUSTOM_LOOP_FIT_ARGS", "fit", "split_tail", "TF_CONFIG_EXAMPLE"}
    assert before <= set(distribute.__all__)
    homes = (strategies, custom_loop, loops, arrays)
    for name in distribute.__all__:
        assert any(getattr(home, name, None) is getattr(distribute, name) for home in homes), name
