"""Issue 20, the plugin authors' contract, round 3: what two real plugins hit, each as a test.

The plugins (``tests/contract3_plugins.py``) are pip-installed into a temporary site, as a third
party ships them; fresh ``kzoo`` processes see them through ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kzoo
from kzoo._meta.derive import describe
from kzoo._system.backend import BACKENDS, name as backend_name
from kzoo._zoo import manifest, manifest_writer, plugins
from kzoo.cli import main
from kzoo.datasets import Table
from kzoo.datasets.checks import check_data
from kzoo.datasets.shaping import fit_to_input
from kzoo.errors import ConformanceWarning
from kzoo.testing import check_model, check_plugin, check_plugin_import

from ._cli import run
from .conftest import ModelsPlugin, run_kzoo, run_kzoo_commands
from .contract3_plugins import ENTRY_POINTS, FILES
from .distributions import pip_install, write_project

keras = pytest.importorskip("keras")

WORDS = "good bad great awful fine poor nice terrible".split()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contract3")
    pip_install(write_project(root / "src", "kzoo-contract3", FILES, ENTRY_POINTS), root / "site")
    return root / "site"


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The site on this process's path too, its plugins discovered afresh."""
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    plugins.reset()
    return site


def reviews(path: Path, rows: int = 60) -> Path:
    rng = np.random.default_rng(0)
    lines = ["review,label"]
    for i in range(rows):
        label = i % 2
        lines.append(" ".join(rng.choice(WORDS[label::2], 5)) + f",{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def failures(results) -> list[str]:
    return [str(r) for r in results if r.status == "failed"]


def register(*builders: kzoo.ModelBuilder, name: str = "c3_inline") -> None:
    kzoo.register_plugin(ModelsPlugin(*builders), name)


# -- 1. custom layers load in a new process --------------------------------------------------------
TEXT_NEEDS_TENSORFLOW = pytest.mark.skipif(backend_name() != "tensorflow",
                                           reason="text columns are tokenized by TextVectorization, on TensorFlow")


@TEXT_NEEDS_TENSORFLOW
@pytest.mark.slow
def test_custom_layers_load_in_a_fresh_kzoo_predict_and_evaluate(installed: Path, tmp_path: Path) -> None:
    data = reviews(tmp_path / "reviews.csv")
    trained = run("train", "c3_transformer", "--data", data, "--target", "label", "--epochs", "1",
                  "--out", tmp_path / "t.keras", "--quiet")  # here; the point is the fresh process that loads it
    assert trained.exit_code == 0, trained.output
    fresh = run_kzoo_commands(["predict", str(tmp_path / "t.keras"), "--data", str(data), "--out", str(tmp_path / "p.csv")],
                              ["evaluate", str(tmp_path / "t.keras"), "--data", str(data), "--json"],
                              env={"PYTHONPATH": str(installed)})
    (predicted, predict_output), (evaluated, evaluate_output) = fresh["results"]
    assert predicted == 0, fresh["stderr"]
    assert (tmp_path / "p.csv").read_text().count("\n") == 61
    assert "unbuilt state" not in fresh["stderr"], "Keras's advice to a layer's author is not the user's warning"
    assert evaluated == 0, fresh["stderr"]
    assert "accuracy" in json.loads(evaluate_output)


def test_the_kit_reloads_in_a_fresh_process_and_names_a_class_it_cannot_find(installed: Path) -> None:
    results = {r.check: r for r in check_model("c3_late")}
    trip = results["round_trip"]  # in this process the class is registered: only a fresh one sees the bug
    assert trip.status == "failed", trip
    assert "fresh process" in trip.message and "'Late'" in trip.message and "plugin 'c3text'" in trip.message
    assert "\n" not in trip.message
    assert {r.check: r.status for r in check_model("c3_transformer")}["round_trip"] == "passed"


def test_a_missing_class_is_one_line_naming_the_plugin_and_the_class(installed: Path, tmp_path: Path) -> None:
    from kzoo._store.saving import load, model_metadata, save

    builder = kzoo.get("c3_late")
    path = save(builder.build(), tmp_path / "late.keras", model_metadata("c3_late", builder.config()))
    keras.saving.get_custom_objects().pop("c3_text>Late")
    with pytest.raises(kzoo.DataError) as error:
        load(path)
    message = str(error.value)
    assert "'Late'" in message and "'c3_late' of plugin 'c3text'" in message and "\n" not in message
    assert "register_keras_serializable" in message and "custom_objects()" in message


# -- 2. derived facts that cannot be derived say so ------------------------------------------------
def _renamed_softmax() -> keras.Model:
    x = keras.Input((4,), name="x")
    probabilities = keras.layers.Dense(10, activation="softmax")(keras.layers.Dense(8)(x))
    return keras.Model(x, keras.layers.Identity(name="label")(probabilities))


@keras.saving.register_keras_serializable(package="c3_test")
class Wrapper(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.head(x)


def _wrapped(num_classes: int = 10) -> keras.Model:
    x = keras.Input((4,), name="x")
    return keras.Model(x, Wrapper(name="label")(x))


def test_the_loss_is_read_through_identity_and_activation_layers() -> None:
    (label,) = describe(_renamed_softmax()).outputs
    assert (label.name, label.loss) == ("label", "sparse_categorical_crossentropy")
    x = keras.Input((4,), name="x")
    out = keras.layers.Dropout(0.1, name="p")(keras.layers.Activation("sigmoid")(keras.layers.Dense(1)(x)))
    assert describe(keras.Model(x, out)).outputs[0].loss == "binary_crossentropy"


def test_a_loss_behind_a_custom_layer_is_unknown_and_the_kit_asks_for_it() -> None:
    assert describe(_wrapped()).outputs[0].loss is None, "never guess mse"
    guessed = kzoo.model(name="c3_wrapped", description="A softmax inside a custom layer.")(_wrapped)
    results = {r.check: r for r in check_model(guessed)}
    assert results["compiles"].status == "failed" and "declare loss=" in results["compiles"].message
    with pytest.raises(kzoo.PluginError, match="declare loss="):
        guessed.compile(guessed.build())
    declared = kzoo.model(name="c3_declared", description="The same, its loss declared.",
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])(_wrapped)
    assert not failures(r for r in check_model(declared) if r.check not in ("params", "manifest"))


def test_the_kit_warns_when_a_multi_unit_output_trains_on_a_guessed_mse() -> None:
    def linear(units=10):
        """A ten-unit linear head."""
        x = keras.Input((4,), name="x")
        return keras.Model(x, keras.layers.Dense(units, name="label")(x))

    with pytest.warns(ConformanceWarning, match="10 units and trains on mse"):
        check_model(kzoo.model(name="c3_linear")(linear))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConformanceWarning)
        check_model(kzoo.model(name="c3_linear_declared", loss="mse")(linear))


def test_a_target_of_the_wrong_shape_names_the_loss() -> None:
    output = kzoo.TensorSpec("label", (10,), loss="mse", metrics=("mae",))
    with pytest.raises(kzoo.DataError, match="target 'label' expects samples of shape \\[10\\].*Its loss, mse"):
        check_data("t.csv", {"x": np.zeros((3, 4))}, {"label": np.array([1, 2, 3])}, [kzoo.TensorSpec("x", (4,))],
                   [output])


# -- 3. kzoo manifest recomputes every derived fact ------------------------------------------------
BUILDER_PACKAGE = '''
import kzoo


class Head(kzoo.ModelBuilder):
    spec = kzoo.ModelSpec(name="c3_head", description="A builder whose spec leaves facts to a build.",
                          default_config={{"units": 3}})

    def build_model(self, config):
        import keras

        x = keras.Input((4,), name="x")
        return keras.Model(x, keras.layers.Dense(config["units"], activation={activation!r}, name="y")(x))


@kzoo.hookimpl
def kzoo_register_models(register):
    register(Head())
'''


def test_kzoo_manifest_recomputes_a_loss_the_model_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "c3_manifested"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(activation: str) -> str:
        (folder / "__init__.py").write_text(BUILDER_PACKAGE.format(activation=activation))
        for module in [m for m in sys.modules if m.startswith("c3_manifested")]:
            del sys.modules[module]
        importlib.invalidate_caches()
        manifest.clear_cache()
        plugins.reset()
        return str(folder)

    manifest_writer.write(write("softmax"))
    entry = json.loads((folder / manifest.MANIFEST_NAME).read_text())["models"]["c3_head"]
    assert entry["outputs"][0]["loss"] == "sparse_categorical_crossentropy"
    write(None)  # the model changed: a linear head; the manifest is stale
    kzoo.register_plugin(importlib.import_module("c3_manifested"), "c3_manifested")
    results = {r.check: r for r in check_model("c3_head")}
    assert results["manifest"].status == "failed" and "outputs" in results["manifest"].message, results["manifest"]
    manifest_writer.write(write(None))  # rewritten without deleting the file first
    entry = json.loads((folder / manifest.MANIFEST_NAME).read_text())["models"]["c3_head"]
    assert entry["outputs"][0]["loss"] == "mse", "the stale loss must not come back in as a hand-written one"


# -- 4. 0.1 plugins keep passing -----------------------------------------------------------------
def test_plugins_written_for_kzoo_0_1_pass_the_kit(installed: Path) -> None:
    results = check_plugin("c3legacy")
    assert not failures(results), "\n".join(failures(results))
    assert {r.subject.split("'")[1] for r in results if r.check == "round_trip" and r.status == "passed"} == {
        "legacy_cnn", "legacy_resmlp", "legacy_two", "legacy_intsub", "legacy_multisub"}
    (ids,) = kzoo.get("legacy_intsub").facts().inputs
    assert (ids.name, ids.dtype, ids.range) == ("ids", "int32", (0, 30))
    assert [t.name for t in kzoo.get("legacy_multisub").facts().inputs] == ["a", "b"]


def test_a_subclassed_model_trains_on_npz_keyed_by_its_spec(installed: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "measurements.npz"
    np.savez(path, features=rng.normal(size=(24, 4)).astype("float32"), label=rng.integers(0, 3, 24))
    result = kzoo.train("legacy_resmlp", str(path), epochs=1, batch_size=8, quiet=True)
    assert math.isfinite(result.metrics["loss"])
    ids = tmp_path / "ids.npz"
    np.savez(ids, ids=rng.integers(0, 30, (24, 5)).astype("int32"), label=rng.integers(0, 2, 24))
    assert math.isfinite(kzoo.train("legacy_intsub", str(ids), epochs=1, batch_size=8).metrics["loss"])


# -- 5. what the decorator covers --------------------------------------------------------------------
def square_image(table: Table) -> dict:
    return {"image_size": math.isqrt(table.num_features)}


def grey_to_rgb(table: Table, config) -> tuple[dict, dict | None]:
    size = config["image_size"]
    grey = table.features.reshape(-1, size, size, 1).astype("float32")
    y = {"label": table.target} if table.target is not None else None
    return {"image": np.repeat(grey, 3, axis=-1)}, y


@kzoo.model(infer_config=square_image, shape_data=grey_to_rgb, inputs={"image": "an RGB image"})
def c3_rgb(image_size=4, num_classes=2):
    """An RGB classifier trained on grey tables."""
    image = keras.Input((image_size, image_size, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(image))
    return keras.Model(image, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))


def test_the_decorator_shapes_data_and_infers_config() -> None:
    register(c3_rgb)
    result = kzoo.train("c3_rgb", "digits", epochs=1, batch_size=64, quiet=True)
    assert result.metadata["config"]["image_size"] == 8 and result.metadata["config"]["num_classes"] == 10
    assert result.network.inputs[0].shape[1:] == (8, 8, 3)
    assert c3_rgb.input_specs()[0].description == "an RGB image"


def test_the_decorator_declares_api_twins_and_id_ranges() -> None:
    from .contract3_plugins import TEXT_LAYERS

    namespace: dict = {}
    exec(TEXT_LAYERS.replace('package="c3_text"', 'package="c3_test_twins"'), namespace)
    embedding = namespace["TokenAndPositionEmbedding"]

    @kzoo.model(api=("functional", "sequential"), inputs={"tokens": {"range": "vocab_size", "description": "ids"}})
    def c3_twins(api="functional", vocab_size=50, maxlen=6):
        """One model, two api styles."""
        layers = [embedding(maxlen, vocab_size, 4), keras.layers.GlobalAveragePooling1D(),
                  keras.layers.Dense(2, activation="softmax", name="label")]
        if api == "sequential":
            return keras.Sequential([keras.Input((maxlen,), dtype="int32", name="tokens"), *layers])
        tokens = x = keras.Input((maxlen,), dtype="int32", name="tokens")
        for layer in layers:
            x = layer(x)
        return keras.Model(tokens, x)

    assert c3_twins.spec.apis == ("functional", "sequential")
    with pytest.raises(kzoo.ConfigError, match="api='subclass' is not allowed"):
        c3_twins.config(api="subclass")
    (tokens,) = c3_twins.input_specs(c3_twins.config(vocab_size=20))
    assert (tokens.range, tokens.description) == ((0, 20), "ids")
    assert c3_twins.facts({"api": "sequential"}).api == "sequential"
    with pytest.raises(kzoo.PluginError, match="needs a parameter api='subclass'"):
        kzoo.model(api=("subclass",))(lambda units=1: None)


def test_an_unsupported_backend_is_one_line_and_the_kit_skips_it() -> None:
    other = next(b for b in BACKENDS if b != backend_name())

    @kzoo.model(backends=(other,))
    def c3_elsewhere(units=2):
        """Runs on another backend only."""
        x = keras.Input((3,), name="x")
        return keras.Model(x, keras.layers.Dense(units, name="y")(x))

    with pytest.raises(kzoo.ConfigError, match=f"runs on the {other} backend, not '{backend_name()}'") as error:
        c3_elsewhere.build()
    assert "\n" not in str(error.value)
    results = check_model(c3_elsewhere)
    assert {r.status for r in results} == {"skipped"} and f"the {other} backend" in results[0].message
    register(c3_elsewhere)
    out = CliRunner().invoke(main, ["train", "c3_elsewhere", "--data", "synthetic", "--epochs", "1"])
    assert out.exit_code == 1 and out.output.strip().splitlines() == [
        f"kzoo: error: model 'c3_elsewhere' (plugin 'c3_inline') runs on the {other} backend, not "
        f"'{backend_name()}'; run it with --backend {other} (KERAS_BACKEND={other})."]
    with pytest.raises(kzoo.PluginError, match="backends=.*names \\['tpu'\\]"):
        kzoo.model(backends=("tpu",))(lambda units=1: None)


def test_validate_is_given_the_model_name() -> None:
    seen = []

    def check(config, name):
        seen.append(name)
        kzoo.config.require(name, config["units"] > 0, "units", config["units"], "an integer > 0")

    builder = kzoo.model(name="c3_named", validate=check)(lambda units=1: None)
    with pytest.raises(kzoo.ConfigError, match="c3_named: config units=0"):
        builder.config(units=0)
    assert seen == ["c3_named"]


# -- 6. the smaller ones ---------------------------------------------------------------------------
def test_a_sequence_input_of_any_length_takes_table_rows() -> None:
    series = kzoo.TensorSpec("series", (None, 1))
    assert fit_to_input(np.zeros((5, 20)), series, "t.csv").shape == (5, 20, 1)
    assert fit_to_input(np.zeros((5, 12)), kzoo.TensorSpec("s", (None, 3)), "t.csv").shape == (5, 4, 3)
    with pytest.raises(kzoo.DataError) as error:
        check_data("t.csv", {"x": np.zeros((3, 5))}, None, [kzoo.TensorSpec("x", (4,))], [],
                   config_keys=("filters", "num_classes"))
    assert "input_dim" not in str(error.value) and "filters, num_classes" in str(error.value)


def test_a_conv1d_time_series_classifier_trains_from_a_table() -> None:
    @kzoo.model
    def c3_series(filters=4, num_classes=2):
        """keras-io's time-series classifier, small: Conv1D over steps of one value."""
        series = keras.Input((None, 1), name="series")
        x = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(filters, 3, activation="relu")(series))
        return keras.Model(series, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))

    register(c3_series)
    result = kzoo.train("c3_series", "digits", epochs=1, batch_size=128, quiet=True)
    assert result.network.input_shape == (None, None, 1) and math.isfinite(result.metrics["loss"])


@TEXT_NEEDS_TENSORFLOW
def test_the_id_range_is_read_through_a_custom_embedding(installed: Path, tmp_path: Path) -> None:
    builder = kzoo.get("c3_transformer")
    (tokens,) = builder.input_specs(builder.config(vocab_size=20))
    assert tokens.range == (0, 20), "the token embedding's size, not the position embedding's"
    result = kzoo.train("c3_transformer", str(reviews(tmp_path / "r.csv")), {"vocab_size": 20}, target="label",
                        epochs=1, quiet=True)
    assert math.isfinite(result.metrics["loss"])


def test_check_model_compiles_with_the_checked_config() -> None:
    @kzoo.model
    def c3_classes(num_classes=1):
        """Binary with one class, softmax over several."""
        x = keras.Input((4,), name="x")
        activation = "sigmoid" if num_classes == 1 else "softmax"
        return keras.Model(x, keras.layers.Dense(num_classes, activation=activation, name="y")(x))

    assert not failures(check_model(c3_classes, {"num_classes": 10}))


def test_text_columns_may_be_object_arrays_or_lists() -> None:
    table = Table(features=np.zeros((2, 0)), feature_names=[], text={"a": np.array(["x y", "z"], dtype=object),
                                                                     "b": ["one", "two"]})
    # Object arrays of str, one reference a row (a str array pads every cell to the longest).
    assert table.text["a"].dtype.kind == "O" and list(table.text["b"]) == ["one", "two"]
    assert all(type(v) is str for column in table.text.values() for v in column)
    with pytest.raises(kzoo.DataError, match="text column 'a' holds int value 3"):
        Table(features=np.zeros((2, 0)), feature_names=[], text={"a": np.array(["x", 3], dtype=object)})


def test_quiet_is_a_python_option_too() -> None:
    from kzoo._engine.options import split_options

    train, _ = split_options({"quiet": True})
    assert train.verbose == 0
    with pytest.raises(kzoo.ConfigError, match="contradict"):
        split_options({"quiet": True, "verbose": 2})


# -- 7. light_import on a stale manifest -----------------------------------------------------------
def test_light_import_does_not_blame_imports_for_a_missing_manifest(installed: Path) -> None:
    assert manifest.entry_for(kzoo.get("c3_transformer")) is None, "c3_text ships no manifest"
    result = check_plugin_import("c3text")
    assert result.status == "passed", result


def test_the_tutorials_stale_manifest_step_shows_the_failures_the_kit_gives(tmp_path: Path) -> None:
    """write-a-plugin.md, step 8: its plugin, its manifest, then filters=4; the kit's failures
    are exactly the lines the page shows (with the page's path for the package's)."""
    from .docs_runner import blocks

    page = blocks((Path(__file__).resolve().parents[1] / "docs" / "write-a-plugin.md").read_text())
    init = next(b.code for b in page if b.marker == ("file", "kzoo_tiny/__init__.py"))
    shown = next(b.code for b in page if b.lang == "text" and "check 'manifest' failed" in b.code)
    site = tmp_path / "site"
    pip_install(write_project(tmp_path / "src", "kzoo-tiny-stale", {"kzoo_tiny/__init__.py": init}, {"tiny": "kzoo_tiny"}),
                site)
    env = {"PYTHONPATH": str(site), "KZOO_LOAD_PLUGINS": "tiny"}
    written = run_kzoo("manifest", str(site / "kzoo_tiny"), env=env)
    assert written.returncode == 0, written.stderr
    code = site / "kzoo_tiny" / "__init__.py"
    code.write_text(code.read_text().replace("filters=8", "filters=4"))
    probe = ("from kzoo.testing import check_plugin\n"
             "print('\\n'.join(str(r) for r in check_plugin('tiny') if r.status == 'failed'))")
    out = run_python(probe, env)
    assert out.returncode == 0, out.stderr
    expected = shown.strip().replace("/home/me/kzoo-tiny/kzoo_tiny", str(site / "kzoo_tiny")).splitlines()
    assert out.stdout.strip().splitlines() == expected


def run_python(code: str, env: dict[str, str]):
    import os
    import subprocess

    full = {k: v for k, v in os.environ.items() if not k.startswith("KZOO_")}
    full.update(env, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=600)


def test_a_misspelt_declared_input_fails_the_kit() -> None:
    @kzoo.model(inputs={"imgae": "an image"})
    def c3_typo(units=2):
        """A model whose declared input name is misspelt."""
        image = keras.Input((3,), name="image")
        return keras.Model(image, keras.layers.Dense(units, activation="softmax", name="y")(image))

    builds = next(r for r in check_model(c3_typo) if r.check == "builds")
    assert builds.status == "failed" and "['imgae'] are declared" in builds.message and "['image']" in builds.message


def test_a_failing_data_hook_is_one_line_naming_the_model() -> None:
    def broken(table, config):
        raise IndexError("no such column")

    @kzoo.model(shape_data=broken, infer_config=lambda table: [1])
    def c3_hooked(units=2):
        """Hooks that fail."""
        x = keras.Input((3,), name="x")
        return keras.Model(x, keras.layers.Dense(units, name="y")(x))

    table = Table(features=np.zeros((2, 3), "float32"), feature_names=["a", "b", "c"])
    with pytest.raises(kzoo.PluginError, match="shape_data of model 'c3_hooked' .*failed: IndexError: no such column"):
        c3_hooked.shape_data(table, c3_hooked.config())
    with pytest.raises(kzoo.PluginError, match="infer_config of model 'c3_hooked' .*returned list"):
        c3_hooked.infer_config(table)
    with pytest.raises(kzoo.PluginError, match="config key 'vocab'"):
        kzoo.model(inputs={"ids": {"range": "vocab"}})(lambda size=1: None)


def test_kzoo_info_shows_declared_descriptions_backends_and_unknown_losses() -> None:
    guessed = kzoo.model(name="c3_info_wrapped", description="A softmax inside a custom layer.",
                         backends=("tensorflow", "jax"))(_wrapped)
    register(c3_rgb, guessed)
    shown = CliRunner().invoke(main, ["info", "c3_rgb", "--summary"])
    assert shown.exit_code == 0, shown.output
    assert "image: shape [4, 4, 3] float32: an RGB image" in shown.output
    shown = CliRunner().invoke(main, ["info", "c3_info_wrapped", "--summary"])
    assert "loss unknown (declare loss=... in the plugin)" in shown.output and "tensorflow, jax" in shown.output


def test_a_plugin_edited_since_its_reloader_started_gets_a_new_one(installed: Path) -> None:
    """The kit's reload process is reused only while the plugin's files are as they were."""
    import os

    from kzoo.testing import reloader

    before = reloader._sources(["c3text"])
    assert before and all(str(installed) in path for path, _ in before), before
    path, mtime = before[0]
    os.utime(path, ns=(mtime, mtime + 10**9))
    assert reloader._sources(["c3text"]) != before
