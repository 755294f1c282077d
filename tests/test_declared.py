"""``@kzoo.model`` and manifests: a plugin is one decorated function; kzoo reads the rest."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import kzoo
from kzoo._zoo import manifest, manifest_writer
from kzoo.cli import main
from kzoo.testing import check_model

TINY_PLUGIN = '''
import kzoo


@kzoo.model(tags=("vision", "classification"), license="MIT", paper="https://example.org/tiny")
def {name}(input_shape=(8, 8, 1), filters=8, num_classes=10):
    """A two-block Conv2D classifier for small grey images."""
    import keras

    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="label")(x)
    return keras.Model(inputs, outputs, name="{name}")


@kzoo.hookimpl
def kzoo_register_models(register):
    register({name})
'''


def tiny_params(filters: int = 8, classes: int = 10) -> int:
    """Conv2D 3x3 over one channel, then the Dense head."""
    return (3 * 3 * 1 * filters + filters) + (filters * classes + classes)


def write_package(root: Path, package: str, code: str) -> Path:
    folder = root / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(textwrap.dedent(code))
    return folder


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh, importable plugin package holding ``tiny_cnn_<n>`` (unique per test)."""
    name = f"kzoo_tiny_{tmp_path.name[-12:].replace('-', '_').lower()}"
    model = f"tiny_{abs(hash(tmp_path)) % 10**8}"
    folder = write_package(tmp_path, name, TINY_PLUGIN.format(name=model))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield folder, name, model
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    manifest.clear_cache()


def register(name: str) -> None:
    kzoo.register_plugin(importlib.import_module(name), name)


# -- the decorator ------------------------------------------------------------------------------
def test_name_description_and_typed_defaults_come_from_the_function() -> None:
    @kzoo.model(tags=("x",))
    def small(units=4, rates=[0.1, 0.2], act="relu"):
        """Small model.

        More text that is not the description."""

    assert isinstance(small, kzoo.ModelBuilder)
    assert small.spec.name == "small" and small.spec.description == "Small model."
    assert dict(small.spec.default_config) == {"units": 4, "rates": (0.1, 0.2), "act": "relu"}
    assert small.config(units="8")["units"] == 8
    with pytest.raises(kzoo.ConfigError, match="units=.*wrong type; expected an integer"):
        small.config(units="many")
    assert small.spec.api is None and small.spec.params is None, "facts a build tells are not typed"


def test_a_parameter_without_default_is_refused_at_decoration() -> None:
    with pytest.raises(kzoo.PluginError, match="'units' has no default"):
        kzoo.model(lambda units: None)
    with pytest.raises(kzoo.PluginError, match=r"not \*kwargs"):
        @kzoo.model
        def loose(**kwargs):
            """x"""


def test_validate_rules_run_after_type_checks() -> None:
    def positive(config):
        if config["units"] < 1:
            return "units must be >= 1"

    @kzoo.model(validate=positive)
    def ranged(units=2):
        """r"""

    assert ranged.config(units=3)["units"] == 3
    with pytest.raises(kzoo.ConfigError, match="ranged: units must be >= 1"):
        ranged.config(units=0)


def test_losses_default_from_each_output_activation_and_can_be_replaced() -> None:
    keras = pytest.importorskip("keras")

    @kzoo.model(loss={"score": "huber"})
    def heads(units=4):
        """Three heads."""
        x = keras.Input((3,), name="x")
        h = keras.layers.Dense(units)(x)
        return keras.Model(x, {"kind": keras.layers.Dense(3, activation="softmax", name="kind")(h),
                               "flag": keras.layers.Dense(1, activation="sigmoid", name="flag")(h),
                               "score": keras.layers.Dense(1, name="score")(h)})

    outputs = {t.name: (t.loss, t.metrics) for t in heads.output_specs()}
    assert outputs == {"kind": ("sparse_categorical_crossentropy", ("accuracy",)),
                       "flag": ("binary_crossentropy", ("accuracy",)), "score": ("huber", ())}
    facts = heads.facts()
    assert facts.api == "functional" and facts.params == heads.build().count_params()


def test_a_function_that_returns_no_model_is_a_plugin_error() -> None:
    pytest.importorskip("keras")

    @kzoo.model
    def broken(units=1):
        """Returns nothing."""

    with pytest.raises(kzoo.PluginError, match="returned NoneType; a kzoo.model function must return a keras.Model"):
        broken.build()


def test_shapes_for_other_configs_are_read_from_a_build(package) -> None:
    pytest.importorskip("keras")
    _, name, model = package
    register(name)
    builder = kzoo.get(model)
    (image,) = builder.input_specs(builder.config(input_shape=(16, 16, 3)))
    (label,) = builder.output_specs(builder.config(num_classes=4))
    assert (image.name, image.shape) == ("image", (16, 16, 3))
    assert (label.name, label.shape, label.loss) == ("label", (4,), "sparse_categorical_crossentropy")


def test_embedding_inputs_get_their_id_range_and_variable_length() -> None:
    keras = pytest.importorskip("keras")

    @kzoo.model
    def reader(vocab=30):
        """Reads token ids."""
        ids = keras.Input((None,), dtype="int32", name="title")
        x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocab, 4)(ids))
        return keras.Model(ids, keras.layers.Dense(2, activation="softmax", name="label")(x))

    (title,) = reader.input_specs(reader.config(vocab=17))
    assert (title.shape, title.dtype, title.range) == ((None,), "int32", (0, 17))


# -- manifests ----------------------------------------------------------------------------------
def test_without_a_manifest_the_model_lists_with_unknown_facts(package) -> None:
    _, name, model = package
    register(name)
    spec = kzoo.get_spec(model)
    assert (spec.params, spec.inputs, spec.api) == (None, None, None)
    listed = CliRunner().invoke(main, ["list", model])
    assert listed.exit_code == 0, listed.output
    row = listed.output.splitlines()[1].split()
    assert row[:4] == [model, "?", "?", "?"]
    results = {r.check: r for r in check_model(model)}
    assert results["manifest"].status == "failed" and "kzoo-manifest.json is missing" in results["manifest"].message
    assert f"kzoo manifest {package[0]}" in results["manifest"].message


def test_kzoo_manifest_writes_what_the_build_tells(package) -> None:
    folder, name, model = package
    result = CliRunner().invoke(main, ["manifest", str(folder)])
    assert result.exit_code == 0, result.output
    entry = json.loads((folder / "kzoo-manifest.json").read_text())["models"][model]
    assert entry["params"] == tiny_params() and entry["api"] == "functional"
    assert entry["inputs"] == [{"name": "image", "shape": [8, 8, 1], "dtype": "float32"}]
    register(name)
    spec = kzoo.get_spec(model)
    assert spec.params == tiny_params() and spec.inputs[0].shape == (8, 8, 1)
    assert spec.license == "MIT" and spec.paper == "https://example.org/tiny"
    results = {r.check: r.status for r in check_model(model)}
    assert results.pop("backbone") == "skipped", "it declares none"
    assert set(results.values()) == {"passed"}, results


def test_a_stale_manifest_fails_the_kit_with_the_fixing_command(package) -> None:
    folder, name, model = package
    manifest_writer.write(folder)
    path = folder / "kzoo-manifest.json"
    data = json.loads(path.read_text())
    data["models"][model]["params"] += 1
    path.write_text(json.dumps(data))
    manifest.clear_cache()
    register(name)
    results = {r.check: r for r in check_model(model)}
    assert results["params"].status == "failed" and "rerun `kzoo manifest" in results["params"].message
    assert results["manifest"].status == "failed" and "params of" in results["manifest"].message


def test_a_changed_default_config_makes_the_entry_unknown_and_stale(package) -> None:
    folder, name, model = package
    manifest_writer.write(folder)
    del sys.modules[name]  # the writer imported it; import the edited code
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace("filters=8", "filters=16"))
    register(name)
    assert kzoo.get_spec(model).params is None, "an entry for other defaults is not trusted"
    results = {r.check: r for r in check_model(model)}
    assert results["manifest"].status == "failed" and "default config" in results["manifest"].message


def test_manifest_of_a_folder_that_is_no_package_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["manifest", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"kzoo: error: {str(tmp_path)!r} is not a Python package folder (no __init__.py); pass the folder that "
        f"holds your plugin's __init__.py, e.g. `kzoo manifest src/kzoo_tiny`."
    ]


def test_builtin_manifest_is_fresh() -> None:
    """The built-ins state no shapes or counts by hand: the manifest holds them and matches a build."""
    pytest.importorskip("keras")
    for name in ("mlp", "two_input_mlp", "siamese_mlp", "multi_output_mlp"):
        builder = kzoo.get(name)
        assert manifest.stale_reason(builder, builder.facts()) is None
    # The seed document's counts.
    assert kzoo.get_spec("mlp").params == 1058 and kzoo.get_spec("two_input_mlp").params == 902


def test_info_says_what_is_unknown_and_summary_builds_it(package) -> None:
    pytest.importorskip("keras")
    _, name, model = package
    register(name)
    info = CliRunner().invoke(main, ["info", model])
    assert info.exit_code == 0, info.output
    assert f"params:   ? (no manifest; `kzoo info {model} --summary` builds it)" in info.output
    summary = CliRunner().invoke(main, ["info", model, "--summary"])
    assert summary.exit_code == 0, summary.output
    assert f"params:   {tiny_params():,} (with the default config)" in summary.output
    assert "image: shape [8, 8, 1] float32" in summary.output and "Total params" in summary.output


def test_tensor_specs_take_variable_dims_and_integer_ranges() -> None:
    from kzoo.datasets.synthetic import VARIABLE_DIM, synthetic_inputs

    title = kzoo.TensorSpec("title", (None,), dtype="int32", range=(0, 50))
    assert title.shape == (None,) and title.is_sequence
    ids = synthetic_inputs([title], 200)["title"]
    assert ids.shape == (200, VARIABLE_DIM) and ids.min() >= 0 and ids.max() < 50, "never a negative token id"
    with pytest.raises(kzoo.PluginError, match="shape 0 is not valid"):
        kzoo.TensorSpec("x", 0)
    with pytest.raises(kzoo.PluginError, match=r"range \(5, 5\) is not valid"):
        kzoo.TensorSpec("x", (3,), dtype="int32", range=(5, 5))


def test_an_unregistered_declared_model_trains_from_python(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")

    @kzoo.model
    def loose_mlp(input_dim=4, num_classes=3):
        """Not registered by any plugin."""
        x = keras.Input((input_dim,), name="x")
        return keras.Model(x, keras.layers.Dense(num_classes, activation="softmax", name="y")(x))

    result = kzoo.train(loose_mlp, "iris", epochs=1, out=tmp_path / "loose.keras")
    assert result.metadata["model"] == "loose_mlp" and result.metadata["plugin"] is None
    assert (tmp_path / "loose.keras").is_file()


def test_defaults_read_from_the_code_object_match_inspect_signature():
    import functools
    import inspect

    from kzoo._zoo.declare import _code_defaults, signature_defaults

    def plain(units=8, sizes=[4, 2], *, rate=0.1, name="m"):  # noqa: B006 - a list default becomes a tuple
        """doc"""

    def inner(width=3):
        """doc"""

    @functools.wraps(inner)
    def wrapped(*args, **kwargs):
        return inner(*args, **kwargs)

    expected = {p.name: p.default for p in inspect.signature(plain).parameters.values()}
    assert signature_defaults(plain) == {**expected, "sizes": (4, 2)}
    assert _code_defaults(wrapped) is None and signature_defaults(wrapped) == {"width": 3}  # follows __wrapped__

    def missing(units, rate=0.1):
        """doc"""

    assert _code_defaults(missing) is None
    with pytest.raises(kzoo.PluginError, match="'units' has no default"):
        signature_defaults(missing)


# -- a manifest an older kzoo wrote ---------------------------------------------------------------
TOKENS_PLUGIN = '''
import kzoo


@kzoo.model
def {name}(length=6, vocabulary=50, num_classes=3):
    """Token ids, an embedding, the mean, a softmax."""
    import keras

    tokens = keras.Input((length,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocabulary, 4, name="embed")(tokens)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(tokens, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))


@kzoo.hookimpl
def kzoo_register_models(register):
    register({name})
'''

#: The manifest kzoo wrote for that plugin before it recorded token ids' range (``range``), kept as
#: written: a release that adds a derived fact must not break a published plugin's manifest.
OLDER_MANIFEST = {"kzoo_manifest": 1, "written_by": "kzoo 0.0.9", "models": {"{name}": {
    "default_config": {"length": 6, "vocabulary": 50, "num_classes": 3}, "api": "functional",
    "inputs": [{"name": "tokens", "shape": [6], "dtype": "int32"}],
    "outputs": [{"name": "label", "shape": [3], "dtype": "float32", "loss": "sparse_categorical_crossentropy",
                 "metrics": ["accuracy"]}],
    "params": 50 * 4 + 4 * 3 + 3}}}


@pytest.fixture
def older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    name = f"kzoo_older_{tmp_path.name[-12:].replace('-', '_').lower()}"
    model = f"tokens_{abs(hash(tmp_path)) % 10**8}"
    folder = write_package(tmp_path, name, TOKENS_PLUGIN.format(name=model))
    written = json.dumps(OLDER_MANIFEST).replace("{name}", model)
    (folder / "kzoo-manifest.json").write_text(written)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield folder, name, model
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    manifest.clear_cache()


def test_the_kit_passes_a_manifest_an_older_kzoo_wrote_with_a_note_to_regenerate(older) -> None:
    folder, name, model = older
    register(name)
    spec = kzoo.get_spec(model)
    assert spec.params == 215 and spec.inputs[0].range is None, "its facts are read; the one it lacks is unknown"
    with pytest.warns(kzoo.errors.ConformanceWarning, match="lacks inputs\\[0\\].range"):
        results = {r.check: r for r in check_model(model)}
    assert results["manifest"].status == "passed" and "kzoo 0.0.9" in results["manifest"].message
    assert f"kzoo manifest {folder}" in results["manifest"].message
    assert all(r.ok for r in results.values()), results


def test_a_fact_an_older_manifest_holds_wrongly_is_stale(older) -> None:
    folder, name, model = older
    path = folder / "kzoo-manifest.json"
    path.write_text(path.read_text().replace('"int32"', '"int64"'))
    manifest.clear_cache()
    register(name)
    result = next(r for r in check_model(model, checks=("spec", "builds", "manifest")) if r.check == "manifest")
    assert result.status == "failed" and "inputs[0].dtype of" in result.message, result
