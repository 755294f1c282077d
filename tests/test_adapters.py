"""Adapter plugins: name collisions that drop one model, prefixed names, dotted-path builders,
and the table of architectures (a test adapter over keras.applications)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import kzoo
from kzoo._zoo.plugins import PluginHost, register_plugin

from .conftest import ModelsPlugin, fresh_env, make_builder


# -- collisions -----------------------------------------------------------------------------------
def test_a_name_taken_by_a_builtin_drops_that_model_alone_with_one_warning() -> None:
    with pytest.warns(kzoo.PluginWarning) as caught:
        info = register_plugin(ModelsPlugin(make_builder("own_a"), make_builder("mlp"), make_builder("own_b")),
                               "clasher")
    messages = [str(w.message) for w in caught if issubclass(w.category, kzoo.PluginWarning)]
    assert len(messages) == 1
    assert "'clasher'" in messages[0] and "'mlp'" in messages[0] and "plugin 'mlp'" in messages[0]
    assert info.status == "ok" and info.models == ["own_a", "own_b"]
    assert kzoo.get("mlp").spec.plugin == "mlp"
    assert {kzoo.get_spec(n).plugin for n in ("own_a", "own_b")} == {"clasher"}


def test_a_taken_alias_drops_the_alias_and_keeps_its_model() -> None:
    register_plugin(ModelsPlugin(make_builder("first_model"), aliases={"first_model": ("shared_alias",)}), "one")
    with pytest.warns(kzoo.PluginWarning, match="'two'.*'shared_alias'.*'one'"):
        info = register_plugin(ModelsPlugin(make_builder("second_model"),
                                            aliases={"second_model": ("shared_alias", "own_alias")}), "two")
    assert info.models == ["second_model"]
    assert kzoo.list_models(include_aliases=True).count("shared_alias") == 1
    with pytest.warns(DeprecationWarning):
        assert kzoo.get("shared_alias").spec.name == "first_model"
        assert kzoo.get("own_alias").spec.name == "second_model"


def test_strict_mode_still_refuses_the_whole_plugin_on_a_collision() -> None:
    host = PluginHost(strict=True)
    host.add(ModelsPlugin(make_builder("dup")), "first")
    with pytest.raises(kzoo.PluginError, match="already registered"):
        host.add(ModelsPlugin(make_builder("other"), make_builder("dup")), "second")
    assert "other" not in host.registry


def test_an_invalid_builder_still_fails_the_whole_plugin() -> None:
    host = PluginHost(strict=False)
    plugin = ModelsPlugin(make_builder("fine_one"))
    plugin.builders += (object(),)  # type: ignore[operator]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        info = host.add(plugin, "half_broken")
    assert info.status == "failed" and "fine_one" not in host.registry


# -- namespaces -----------------------------------------------------------------------------------
@kzoo.model(name="pfx/tiny", tags=("adapter-test",))
def prefixed_tiny(input_dim: int = 4, units: int = 4, num_classes: int = 3):
    """A one-layer classifier under a namespace prefix."""
    import keras

    inputs = keras.Input((input_dim,), name="x")
    hidden = keras.layers.Dense(units, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="label")(hidden))


@pytest.mark.parametrize("name", ["pfx.a/tiny", "pfx/a/tiny", "/tiny", "pfx/", "9x/tiny", "pfx/_tiny"])
def test_a_malformed_prefix_is_refused_naming_the_rule(name: str) -> None:
    host = PluginHost(strict=True)
    with pytest.raises(kzoo.PluginError, match="namespace prefix"):
        host.add(ModelsPlugin(make_builder(name)), "bad_names")


def test_a_prefixed_name_is_listed_looked_up_trained_saved_and_reloaded(tmp_path) -> None:
    register_plugin(ModelsPlugin(prefixed_tiny), "pfx")
    assert kzoo.list_models("pfx/*") == ["pfx/tiny"]
    assert kzoo.list_models(tags=["adapter-test"]) == ["pfx/tiny"]
    assert kzoo.get("pfx/tiny") is prefixed_tiny
    with pytest.raises(kzoo.UnknownWeightsError):
        kzoo.build("pfx/tiny.nothing")  # PREFIX/MODEL.WEIGHTS reads one way
    out = tmp_path / "tiny.keras"
    result = kzoo.train("pfx/tiny", "iris", epochs=1, out=out, quiet=True)
    assert out.exists() and result.model.count_params() == 4 * 4 + 4 + 4 * 3 + 3
    assert kzoo.saved_info(str(out))["model"] == "pfx/tiny"
    assert kzoo.load(str(out)).count_params() == result.model.count_params()


def test_the_cli_lists_and_describes_a_prefixed_name_and_still_reads_files(tmp_path) -> None:
    from ._cli import run as invoke

    register_plugin(ModelsPlugin(prefixed_tiny), "pfx")
    listed = invoke("list", "pfx/*", "--json")
    assert listed.exit_code == 0, listed.output
    assert [m["name"] for m in json.loads(listed.stdout)] == ["pfx/tiny"]
    info = invoke("info", "pfx/tiny", "--json")
    assert info.exit_code == 0 and json.loads(info.stdout)["plugin"] == "pfx"
    missing = invoke("info", str(tmp_path / "no_such_file"))
    assert missing.exit_code != 0 and "no_such_file" in missing.output


# -- the table of architectures: a test adapter over keras.applications ----------------------------
KAPPS = [f"kapps/{name}" for name in ("convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_b0",
                                      "mobilenet", "mobilenet_v2", "mobilenet_v3_small", "resnet50", "resnet50_v2",
                                      "vgg16")]


def lines_of_code(path: Path) -> int:
    """Lines holding code: not blank, not a comment, not inside a docstring."""
    import ast

    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for i, line in enumerate(source.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#") and i not in docstrings)


def test_the_adapter_wraps_ten_architectures_in_at_most_forty_lines() -> None:
    folder = Path(__file__).parent / "kapps"
    assert sum(lines_of_code(p) for p in folder.glob("*.py")) <= 40


def test_a_table_lists_its_prefixed_models_without_importing_its_builds_or_keras() -> None:
    code = ("import sys, kzoo, tests.kapps as k; from kzoo._zoo.plugins import register_plugin; "
            "register_plugin(k, 'kapps'); print(kzoo.list_models('kapps/*'), kzoo.get_spec('kapps/vgg16').description, "
            "'keras' in sys.modules, 'tests.kapps._build' in sys.modules, sep='|')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=fresh_env(),
                          cwd=Path(__file__).parents[1], timeout=120)
    assert done.returncode == 0, done.stderr
    names, description, keras_loaded, build_loaded = done.stdout.strip().split("|")
    assert eval(names) == KAPPS  # noqa: S307 (our own printed list)
    assert description == "VGG16 from keras.applications (random weights) on raw RGB images"
    assert (keras_loaded, build_loaded) == ("False", "False")


@pytest.fixture
def kapps() -> list[kzoo.ModelBuilder]:
    import tests.kapps

    register_plugin(tests.kapps, "kapps")
    return [kzoo.get(name) for name in KAPPS]


def test_a_table_row_builds_its_model_and_backbone_and_checks_its_config(kapps, release_models) -> None:
    builder = kzoo.get("kapps/mobilenet_v2")
    assert builder.has_backbone and builder.spec.plugin == "kapps"
    assert builder.spec.default_config == {"input_shape": (32, 32, 3), "num_classes": 10, "alpha": 0.35}
    model = kzoo.build("kapps/mobilenet_v2", num_classes=4)
    backbone = kzoo.build("kapps/mobilenet_v2", head=False)
    assert tuple(model.output.shape) == (None, 4) and len(backbone.output.shape) == 2
    weighted = {layer.name for layer in backbone.layers if layer.weights}
    assert weighted and weighted <= {layer.name for layer in model.layers if layer.weights}, \
        "fine-tuning finds the backbone's layers with weights in the whole model by name"
    with pytest.raises(kzoo.ConfigError, match="kapps/mobilenet_v2: input_shape needs a height and width >= 32"):
        kzoo.build("kapps/mobilenet_v2", input_shape=(16, 16, 3))


def test_a_table_refuses_a_malformed_path_and_names_an_unimportable_one() -> None:
    with pytest.raises(kzoo.PluginError, match="build='tests.kapps._build.classifier' is not a dotted path"):
        kzoo.model_table({"m": {}}, build="tests.kapps._build.classifier")
    with pytest.raises(kzoo.PluginError, match="arch is both a row constant and a config key"):
        kzoo.model_table({"m": {"arch": "VGG16"}}, build="a.b:c", config={"arch": "x"})
    with pytest.raises(kzoo.PluginError, match="description names 'arch'"):
        kzoo.model_table({"m": {}}, build="a.b:c", description="{arch}")
    (missing,) = kzoo.model_table({"m": {}}, build="no_such_library._build:net", prefix="gone")
    register_plugin(ModelsPlugin(missing), "gone")
    with pytest.raises(kzoo.PluginError, match="'no_such_library._build:net' cannot be imported.*install the library"):
        kzoo.build("gone/m")
    with pytest.raises(kzoo.ConfigError, match="declares no backbone"):
        kzoo.build("gone/m", head=False)


def test_the_kit_passes_on_a_table_model(kapps, release_models) -> None:
    from kzoo.testing import check_model

    results = check_model("kapps/mobilenet_v3_small", checks=("spec", "builds", "compiles", "trains", "predicts",
                                                              "round_trip"), eager=True)
    assert [r.status for r in results] == ["passed"] * 6, [(r.check, r.message) for r in results]


BUILT: list[int] = []  # the input_dim of each recording_net build


def recording_net(input_dim: int, units: int, num_classes: int):
    """A table row's build that records its input size (the kit's config test)."""
    import keras

    BUILT.append(input_dim)
    x = keras.Input((input_dim,), name="x")
    hidden = keras.layers.Dense(units, activation="relu")(x)
    return keras.Model(x, keras.layers.Dense(num_classes, activation="softmax", name="label")(hidden))


def test_the_kit_trains_and_reloads_at_the_kit_config_and_builds_the_default(release_models) -> None:
    from kzoo.testing import check_model

    (wide,) = kzoo.model_table({"wide": {"kit_config": {"units": 2}}}, prefix="kit", build=f"{__name__}:recording_net",
                               config={"input_dim": 256, "units": 8, "num_classes": 3}, kit_config={"input_dim": 4})
    assert wide.kit_config == {"input_dim": 4, "units": 2}
    register_plugin(ModelsPlugin(wide), "kit")
    BUILT.clear()
    results = check_model("kit/wide", checks=("spec", "builds", "compiles", "trains", "predicts", "round_trip"))
    assert [r.status for r in results] == ["passed"] * 6, [(r.check, r.message) for r in results]
    assert BUILT[0] == 256 and BUILT[-1] == 4 and set(BUILT) == {256, 4}, BUILT
    BUILT.clear()
    check_model("kit/wide", {"input_dim": 5}, checks=("spec", "builds", "compiles"))
    assert set(BUILT) == {5}, "a caller's own config wins over the kit config"


# -- classes a wrapped library registers ------------------------------------------------------------
FAKE_FILES = {
    "kzoo_fakelib/__init__.py": "",
    "kzoo_fakelib/layers.py": '''
import keras


@keras.saving.register_keras_serializable(package="kzoo_fakelib")
class Double(keras.layers.Layer):
    def call(self, x):
        return x * 2.0
''',
    "kzoo_fakeadapter/__init__.py": '''
import kzoo

MODELS = kzoo.model_table({"doubled": {}}, prefix="fake", build="kzoo_fakeadapter._build:net",
                          config={"input_dim": 4, "num_classes": 3})


@kzoo.hookimpl
def kzoo_register_models(register):
    for builder in MODELS:
        register(builder)
''',
    "kzoo_fakeadapter/_build.py": '''
import keras
from kzoo_fakelib.layers import Double


def net(input_dim, num_classes):
    x = keras.Input((input_dim,), name="x")
    return keras.Model(x, keras.layers.Dense(num_classes, activation="softmax", name="label")(Double()(x)))
''',
    "kzoo_fakelib-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: kzoo-fakelib\nVersion: 1.0\nRequires-Dist: keras>=3\n",
    "kzoo_fakelib-1.0.dist-info/top_level.txt": "kzoo_fakelib\n",
    "kzoo_fakeadapter-1.0.dist-info/METADATA": ("Metadata-Version: 2.1\nName: kzoo-fakeadapter\nVersion: 1.0\n"
                                                "Requires-Dist: kzoo-fakelib>=1\n"),
    "kzoo_fakeadapter-1.0.dist-info/top_level.txt": "kzoo_fakeadapter\n",
    "kzoo_fakeadapter-1.0.dist-info/entry_points.txt": "[kzoo]\nfakeadapter = kzoo_fakeadapter\n",
}


def install_fakes(folder: Path, monkeypatch, **changed: str) -> None:
    """The fake adapter and its library, installed as pip would (metadata, entry point, packages)."""
    from kzoo._zoo import plugins

    for name, text in {**FAKE_FILES, **changed}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    monkeypatch.syspath_prepend(str(folder))
    plugins.reset()


def test_a_class_of_a_declared_dependency_reloads_in_a_fresh_process(tmp_path, monkeypatch, release_models) -> None:
    from kzoo._store.plugin_code import plugin_of_module
    from kzoo.testing import check_model, check_plugin_import

    install_fakes(tmp_path, monkeypatch)
    assert kzoo.get_spec("fake/doubled").plugin == "fakeadapter"
    assert plugin_of_module("kzoo_fakelib.layers") == "fakeadapter", "the plugin's declared dependency"
    assert plugin_of_module("json.decoder") is None, "any other module stays out of a file's reach"
    results = check_model("fake/doubled", checks=("spec", "builds", "compiles", "trains", "predicts", "round_trip"))
    round_trip = results[-1]
    assert round_trip.check == "round_trip" and round_trip.status == "passed", round_trip.message
    assert check_plugin_import("fakeadapter").status == "passed", "its library is imported by the build only"


def test_listing_that_imports_the_wrapped_library_fails_the_import_check(tmp_path, monkeypatch, release_models) -> None:
    """kzoo_fakelib requires keras: an adapter importing it to list its models slows every `kzoo list`."""
    from kzoo.testing import check_plugin_import

    eager = "import kzoo_fakelib\n" + FAKE_FILES["kzoo_fakeadapter/__init__.py"]
    install_fakes(tmp_path, monkeypatch, **{"kzoo_fakeadapter/__init__.py": eager})
    result = check_plugin_import("fakeadapter")
    assert result.status == "failed" and "imported ['kzoo_fakelib']" in result.message, result
    assert "a dependency of kzoo-fakeadapter" in result.message and "dotted path" in result.message


# -- kzoo new-plugin --adapter ----------------------------------------------------------------------
def test_the_adapter_template_registers_its_table_and_its_manifest_matches_a_build(tmp_path, monkeypatch,
                                                                                     release_models) -> None:
    import importlib

    from kzoo._zoo.manifest import stale_reason

    from ._cli import run as invoke

    done = invoke("new-plugin", "kzoo-adapttmpl", "--dir", tmp_path / "proj", "--adapter")
    assert done.exit_code == 0, done.output
    assert "'adapttmpl/mobilenet', 'adapttmpl/mobilenet_v2'" in done.stdout
    assert "kzoo.model_table" in (tmp_path / "proj" / "kzoo_adapttmpl" / "__init__.py").read_text()
    monkeypatch.syspath_prepend(str(tmp_path / "proj"))
    register_plugin(importlib.import_module("kzoo_adapttmpl"), "adapttmpl")
    assert kzoo.list_models("adapttmpl/*") == ["adapttmpl/mobilenet", "adapttmpl/mobilenet_v2"]
    for name in kzoo.list_models("adapttmpl/*"):
        builder = kzoo.get(name)
        assert builder.has_backbone and builder.spec.params is not None, "the shipped manifest is read"
        assert stale_reason(builder, builder.facts()) is None, "the template's manifest is what a build tells"


# -- @kzoo.model with a backbone ------------------------------------------------------------------
def tiny_features(input_dim: int = 4, units: int = 4, num_classes: int = 3):
    """The backbone of ``with_backbone``: its hidden layer, by the same name."""
    import keras

    x = keras.Input((input_dim,), name="x")
    return keras.Model(x, keras.layers.Dense(units, activation="relu", name="hidden")(x))


@pytest.mark.parametrize("backbone", [tiny_features, f"{__name__}:tiny_features"])
def test_a_decorated_model_declares_its_backbone_as_a_function_or_a_dotted_path(backbone, release_models) -> None:
    @kzoo.model(name="bb/with_backbone", backbone=backbone, kit_config={"units": 2})
    def with_backbone(input_dim: int = 4, units: int = 4, num_classes: int = 3):
        """A classifier whose hidden layer is its backbone."""
        import keras

        x = keras.Input((input_dim,), name="x")
        hidden = keras.layers.Dense(units, activation="relu", name="hidden")(x)
        return keras.Model(x, keras.layers.Dense(num_classes, activation="softmax", name="label")(hidden))

    assert with_backbone.has_backbone and with_backbone.kit_config == {"units": 2}
    register_plugin(ModelsPlugin(with_backbone), "bb")
    features = kzoo.build("bb/with_backbone", head=False, units=6)
    assert tuple(features.output.shape) == (None, 6) and [l.name for l in features.layers if l.weights] == ["hidden"]
    assert not prefixed_tiny.has_backbone
    with pytest.raises(kzoo.PluginError, match="backbone='no.path' is not a dotted path"):
        kzoo.model(backbone="no.path")(tiny_features)
