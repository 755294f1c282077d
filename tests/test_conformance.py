"""The conformance kit itself: each check can fail, and failures name the model and the check."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import kzoo
from kzoo.testing import MODEL_CHECKS, ConformanceError, assert_conformance, check_model

keras = pytest.importorskip("keras")


class Tiny(kzoo.ModelBuilder):
    """A correct two-layer model; the tests below break one thing at a time."""

    spec = kzoo.ModelSpec(
        name="tiny",
        description="test model",
        api="functional",
        inputs=(kzoo.TensorSpec("x", (3,)),),
        outputs=(kzoo.TensorSpec("y", (2,), loss="sparse_categorical_crossentropy"),),
        default_config={"units": 4},
        params=3 * 4 + 4 + 4 * 2 + 2,
    )

    def head(self, h):
        return keras.layers.Dense(2, activation="softmax", name="y")(h)

    def build_model(self, config):
        x = keras.Input((3,), name="x")
        h = keras.layers.Dense(config["units"], activation="relu")(x)
        return keras.Model(x, self.head(h))


def statuses(results) -> dict[str, str]:
    return {r.check: r.status for r in results}


def test_a_correct_model_passes_every_check() -> None:
    # A spec that states every fact by hand needs no manifest.
    assert statuses(check_model(Tiny())) == {**dict.fromkeys(MODEL_CHECKS, "passed"), "manifest": "skipped",
                                             "backbone": "skipped"}  # it declares none


class WithBackbone(Tiny):
    """Tiny with a backbone whose hidden layer is named as the whole model's."""

    def build_model(self, config):
        backbone = self.build_backbone(config)
        return keras.Model(backbone.inputs, self.head(backbone.outputs[0]))

    def build_backbone(self, config):
        x = keras.Input((3,), name="x")
        return keras.Model(x, keras.layers.Dense(config["units"], activation="relu", name="hidden")(x))


def test_a_backbone_named_as_the_whole_model_passes() -> None:
    assert statuses(check_model(WithBackbone()))["backbone"] == "passed"


def test_a_backbone_whose_layers_keras_numbered_passes_as_fine_tuning_pairs_them_by_position() -> None:
    """Keras names an unnamed layer per build (dense in one, dense_7 in the next): a library that
    leaves names to Keras still fine-tunes, layer for layer."""
    class Numbered(WithBackbone):
        def build_backbone(self, config):
            x = keras.Input((3,), name="x")
            return keras.Model(x, keras.layers.Dense(config["units"], activation="relu")(x))

        def build_model(self, config):
            backbone = self.build_backbone(config)
            return keras.Model(backbone.inputs, self.head(backbone.outputs[0]))

    assert statuses(check_model(Numbered()))["backbone"] == "passed"


@pytest.mark.parametrize("broken, expected", [
    (lambda config: keras.Model(x := keras.Input((3,), name="x"), keras.layers.Dense(5, name="hidden")(x)),
     "backbone layers hidden [(3, 5), (5,)] pair with no layer of the whole model"),
    (lambda config: keras.Model(x := keras.Input((3,), name="x"),
                                keras.layers.Dense(4, name="more")(keras.layers.Dense(4, name="hidden")(x))),
     "backbone layers more [(4, 4), (4,)] pair with no layer"),
    (lambda config: keras.Model(x := keras.Input((4,), name="x"), keras.layers.Dense(4, name="hidden")(x)),
     "inputs of shapes [(4,)]"),
    (lambda config: keras.Model(x := keras.Input((3,), name="x"), [keras.layers.Dense(4, name="hidden")(x), x]),
     "returns 2 tensors"),
    (lambda config: "not a model", "not a keras.Model"),
])
def test_a_backbone_fine_tuning_cannot_use_fails_the_backbone_check_only(broken, expected) -> None:
    class Broken(WithBackbone):
        def build_model(self, config):
            return WithBackbone().build_model(config)  # the sound whole model; only its backbone is broken

        def build_backbone(self, config):
            return broken(config)

    results = check_model(Broken(), checks=("spec", "builds", "backbone"))
    (failure,) = [r for r in results if not r.ok]
    assert failure.check == "backbone" and expected in failure.message, failure


def test_a_backbone_that_is_the_whole_model_leaves_no_head() -> None:
    class Headless(WithBackbone):
        def build_model(self, config):
            return self.build_backbone(config)

    (failure,) = [r for r in check_model(Headless(), checks=("spec", "builds", "backbone")) if not r.ok]
    assert "no new head" in failure.message


def test_wrong_parameter_count_fails_params_only() -> None:
    class WrongCount(Tiny):
        spec = kzoo.ModelSpec(**{**Tiny.spec.__dict__, "params": 99})

    results = check_model(WrongCount())
    assert statuses(results) == {**dict.fromkeys(statuses(results), "passed"), "params": "failed",
                                 "manifest": "skipped", "backbone": "skipped"}  # a hand-written spec needs no manifest
    (failure,) = [r for r in results if not r.ok]
    assert str(failure).startswith("kzoo conformance: model 'tiny': check 'params' failed")
    assert "26 parameters" in str(failure) and "99" in str(failure)


def test_invalid_spec_fails_first_and_skips_the_rest() -> None:
    class NoLoss(Tiny):
        spec = kzoo.ModelSpec(**{**Tiny.spec.__dict__, "outputs": (kzoo.TensorSpec("y", (2,)),)})

    results = check_model(NoLoss())
    assert statuses(results)["spec"] == "failed" and "no default loss" in results[0].message
    assert {r.status for r in results[1:]} == {"skipped"}
    assert "needs check 'spec'" in results[1].message


def test_nan_after_one_step_fails_trains() -> None:
    class Poisoned(Tiny):
        def head(self, h):
            nan = keras.initializers.Constant(float("nan"))
            return keras.layers.Dense(2, activation="softmax", kernel_initializer=nan, name="y")(h)

    results = check_model(Poisoned())
    assert statuses(results)["trains"] == "failed"
    assert "non-finite" in next(r.message for r in results if r.check == "trains")
    assert statuses(results)["round_trip"] == "skipped"


def test_output_shapes_are_checked_against_the_spec() -> None:
    class Truncating(Tiny):
        def predict(self, model, x, **kwargs):
            return super().predict(model, x, **kwargs)[:, :1]

    failure = next(r for r in check_model(Truncating()) if not r.ok)
    assert failure.check == "predicts" and "(8, 1)" in failure.message and "(8, 2)" in failure.message


class Doubler(keras.layers.Layer):  # not registered as serializable: a saved model cannot load
    def call(self, x):
        return x * 2.0


def test_unloadable_custom_layer_fails_round_trip() -> None:
    class Unregistered(Tiny):
        def head(self, h):
            return keras.layers.Dense(2, activation="softmax", name="y")(Doubler()(h))

    failure = next(r for r in check_model(Unregistered()) if not r.ok)
    assert failure.check == "round_trip" and "Doubler" in failure.message


def test_a_fresh_reload_that_does_not_finish_in_time_fails_round_trip(monkeypatch) -> None:
    """An installed plugin's model (the built-in mlp) is reloaded in a fresh interpreter; one that
    outlives the kit's deadline is a failed check naming the deadline, not an exception."""
    from kzoo.testing import checks

    monkeypatch.setattr(checks, "RELOAD_TIMEOUT", 0.01)  # no interpreter imports kzoo and Keras this fast
    results = {r.check: r for r in check_model("mlp")}
    assert results["predicts"].status == "passed"
    trip = results["round_trip"]
    assert trip.status == "failed" and "did not finish within 0.01 s" in trip.message, trip


def test_assert_conformance_raises_one_error_listing_failures() -> None:
    class WrongCount(Tiny):
        spec = kzoo.ModelSpec(**{**Tiny.spec.__dict__, "name": "wrong_count", "params": 1})

    class Plugin:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            register(Tiny())
            register(WrongCount())

    kzoo.register_plugin(Plugin(), "in_process")
    with pytest.raises(ConformanceError) as raised:
        assert_conformance("in_process")
    assert str(raised.value) == next(
        str(r) for r in check_model("wrong_count") if not r.ok
    ), "exactly one failure, of the model that has one"
    with pytest.raises(ConformanceError, match="no plugin named 'nope' is loaded"):
        assert_conformance("nope")


BAD_PLUGIN = '''
import keras  # at import time: the light_import check must catch this
import kzoo


class HeavyBuilder(kzoo.ModelBuilder):
    spec = kzoo.ModelSpec(
        name="heavy_net", description="imports keras too early", api="sequential",
        inputs=(kzoo.TensorSpec("x", (3,)),),
        outputs=(kzoo.TensorSpec("y", (1,), loss="mse"),),
        default_config={}, params=1000,
    )

    def build_model(self, config):
        return keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(1, name="y")])


@kzoo.hookimpl
def kzoo_register_models(register):
    register(HeavyBuilder())
'''

BAD_TESTS = '''
import kzoo
import heavy_plugin
from kzoo.testing import conformance_tests

kzoo.register_plugin(heavy_plugin, "heavy")
test_conformance = conformance_tests("heavy")
'''


def test_pytest_reports_name_the_model_and_the_check(tmp_path: Path) -> None:
    (tmp_path / "heavy_plugin.py").write_text(textwrap.dedent(BAD_PLUGIN))
    (tmp_path / "test_heavy.py").write_text(textwrap.dedent(BAD_TESTS))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    failed = sorted(line.split()[1] for line in lines if line.startswith("FAILED"))
    passed = sorted(line.split()[1] for line in lines if line.startswith("PASSED"))
    assert failed == [
        "test_heavy.py::test_conformance[heavy:light_import]",
        "test_heavy.py::test_conformance[heavy_net:params]",
    ], out.stdout
    assert len(passed) == 6, out.stdout
    assert "kzoo conformance: plugin 'heavy': check 'light_import' failed" in out.stdout
    assert "imported ['keras', 'tensorflow']" in out.stdout
    assert "kzoo conformance: model 'heavy_net': check 'params' failed" in out.stdout


def test_the_kit_imports_nothing_heavy() -> None:
    # pytest loads kzoo.testing through the pytest11 entry point in every run of this environment.
    code = "import sys, kzoo.testing; print([m for m in ('keras', 'tensorflow', 'numpy', 'pytest') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_pytest_loads_the_kit_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [ep for ep in entry_points(group="pytest11") if ep.name == "kzoo"]
    assert entry.value == "kzoo.testing.pytest_plugin"


def test_cases_cover_each_plugin_and_model_and_can_be_narrowed() -> None:
    from kzoo.testing.pytest_plugin import conformance_cases

    ids = [case.id for case in conformance_cases(["shared_layers"], models=["siamese_mlp"])]
    assert ids == ["shared_layers:light_import"] + [f"siamese_mlp:{check}" for check in MODEL_CHECKS]
    assert len(conformance_cases(["mlp", "two_input"])) == 2 + 2 * len(MODEL_CHECKS)
    with pytest.raises(ConformanceError, match=r"register no model named \['nope'\]"):
        conformance_cases(["mlp"], models=["nope"])


def test_eager_checks_train_and_predict_step_by_step(monkeypatch) -> None:
    """``eager=True`` compiles with run_eagerly, so model.fit (never the compiled fast path) trains."""
    seen = []
    real_fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: seen.append(self.run_eagerly) or real_fit(self, *a, **k))
    results = check_model("mlp", eager=True)
    assert all(r.ok for r in results), "\n".join(map(str, results))
    assert seen == [True]
