"""Adapter plugins: name collisions that drop one model, prefixed names, dotted-path builders,
and the table of architectures (a test adapter over keras.applications)."""

from __future__ import annotations

import json
import warnings

import pytest

import kzoo
from kzoo._zoo.plugins import PluginHost, register_plugin

from .conftest import ModelsPlugin, make_builder


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
