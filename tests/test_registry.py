"""Listing, filtering and looking up models; conflicts between plugins. No keras needed."""

from __future__ import annotations

import pytest

import kzoo
from kzoo._zoo.plugins import PluginHost, register_plugin
from kzoo._zoo.registry import Registry, natural_key

from .conftest import ModelsPlugin, make_builder

SEED_MODELS = {"mlp", "two_input_mlp", "siamese_mlp", "multi_output_mlp"}


def test_builtin_models_are_listed_sorted() -> None:
    names = kzoo.list_models()
    assert SEED_MODELS <= set(names)
    assert names == sorted(names, key=natural_key)  # resnet50 before resnet101
    assert names.index("resnet50") < names.index("resnet101")


def test_filters_exclude_and_tags() -> None:
    assert kzoo.list_models("*mlp*", exclude="siamese*", tags=["multi-input"]) == ["two_input_mlp"]
    assert kzoo.list_models(["mlp", "siamese*"]) == ["mlp", "siamese_mlp"]
    assert kzoo.list_models(tags=["shared-layers"]) == ["multi_output_mlp", "siamese_mlp"]
    assert kzoo.list_models(plugin="two_input") == ["two_input_mlp"]
    assert kzoo.list_models("nothing*") == []


def test_natural_sort() -> None:
    registry = Registry()
    registry.add_all([(make_builder(n), ()) for n in ("m10", "m2", "M1")], "p")
    assert registry.names() == ["M1", "m2", "m10"]


def test_get_returns_builder_with_plugin_recorded() -> None:
    builder = kzoo.get("two_input_mlp")
    assert isinstance(builder, kzoo.ModelBuilder)
    assert builder.spec.plugin == "two_input"
    assert [t.name for t in builder.spec.inputs] == ["input_1", "input_2"]


def test_unknown_model_is_a_keyerror_with_suggestions() -> None:
    with pytest.raises(kzoo.UnknownModelError) as info:
        kzoo.get("two_input_mpl")
    assert isinstance(info.value, KeyError)
    assert info.value.suggestions[0] == "two_input_mlp"
    assert "did you mean two_input_mlp" in str(info.value).lower()


def test_unknown_model_suggests_at_most_three() -> None:
    register_plugin(ModelsPlugin(*(make_builder(f"netx{i}") for i in range(6))), "many")
    with pytest.raises(kzoo.UnknownModelError) as info:
        kzoo.get("netx")
    assert 1 <= len(info.value.suggestions) <= 3


def test_duplicate_name_names_both_plugins_and_keeps_the_first() -> None:
    host = PluginHost(strict=False)
    host.add(ModelsPlugin(make_builder("dup")), "first")
    with pytest.warns(kzoo.PluginWarning, match="'second'.*'dup'.*'first'") as caught:
        info = host.add(ModelsPlugin(make_builder("fresh"), make_builder("dup")), "second")
    assert len(caught) == 1
    assert info.status == "ok" and info.models == ["fresh"], "only the colliding model is left out"
    assert host.registry.get("dup").spec.plugin == "first"
    assert host.registry.get("fresh").spec.plugin == "second"


def test_duplicate_name_raises_in_strict_mode() -> None:
    host = PluginHost(strict=True)
    host.add(ModelsPlugin(make_builder("dup")), "first")
    with pytest.raises(kzoo.PluginError, match="already registered"):
        host.add(ModelsPlugin(make_builder("dup")), "second")


def test_registering_a_class_instead_of_an_instance_is_reported() -> None:
    host = PluginHost(strict=True)
    plugin = ModelsPlugin()
    plugin.builders = (type(make_builder("cls")),)
    with pytest.raises(kzoo.PluginError, match="pass an instance, not the class"):
        host.add(plugin, "wrong")


def test_deprecated_alias_warns_and_resolves_and_is_hidden() -> None:
    register_plugin(ModelsPlugin(make_builder("new_name"), aliases={"new_name": ("old_name",)}), "renamer")
    with pytest.warns(DeprecationWarning, match="'old_name' is deprecated; use 'new_name'"):
        builder = kzoo.get("old_name")
    assert builder is kzoo.get("new_name")
    assert "old_name" not in kzoo.list_models()
    assert "old_name" in kzoo.list_models(include_aliases=True)


def test_spec_is_readable_and_serialisable() -> None:
    spec = kzoo.get_spec("multi_output_mlp")
    data = spec.to_dict()
    assert [o["name"] for o in data["outputs"]] == ["label", "value"]
    assert data["outputs"][0]["loss"] != data["outputs"][1]["loss"], "each head has its own default loss"
    assert data["params"] == spec.params
