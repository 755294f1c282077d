"""Plugin loading: allow/deny lists, isolation of broken plugins, strict mode, hook validation."""

from __future__ import annotations

import pytest

import kzoo
from kzoo._zoo import plugins
from kzoo._zoo.plugins import PluginHost

from .conftest import ModelsPlugin, make_builder

BUILTINS = {"mlp", "two_input", "shared_layers", "tabular"}


def loaded(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, plugins.PluginInfo]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugins.reset()
    return {info.name: info for info in kzoo.plugin_infos()}


def test_builtins_load_through_entry_points(monkeypatch) -> None:
    infos = loaded(monkeypatch)
    assert BUILTINS <= set(infos)
    for name in BUILTINS:
        assert infos[name].status == "ok" and infos[name].distribution == "kzoo"
        assert infos[name].version == kzoo.__version__
    assert infos["shared_layers"].models == ["siamese_mlp", "multi_output_mlp"]
    assert infos["tabular"].models == ["realmlp", "tabm"]


def test_empty_allow_list_loads_nothing(monkeypatch) -> None:
    assert loaded(monkeypatch, KZOO_LOAD_PLUGINS="") == {}
    assert kzoo.list_models() == []


def test_allow_list_applies_to_builtins(monkeypatch) -> None:
    assert set(loaded(monkeypatch, KZOO_LOAD_PLUGINS="mlp, two_input")) == {"mlp", "two_input"}
    assert kzoo.list_models() == ["mlp", "two_input_mlp"]


def test_disable_list(monkeypatch) -> None:
    infos = loaded(monkeypatch, KZOO_DISABLE_PLUGINS="shared_layers")
    assert "shared_layers" not in infos
    assert "siamese_mlp" not in kzoo.list_models()


def test_the_disable_list_is_blocked_in_pluggy_but_an_in_process_plugin_is_the_callers_choice(monkeypatch) -> None:
    loaded(monkeypatch, KZOO_DISABLE_PLUGINS="shared_layers, chosen")
    host = plugins.get_host()
    assert host.pm.is_blocked("shared_layers") and host.pm.register(object(), name="shared_layers") is None
    assert not host.is_allowed("shared_layers") and host.disabled_by("shared_layers") == "KZOO_DISABLE_PLUGINS names it"
    info = kzoo.register_plugin(ModelsPlugin(make_builder("chosen_net")), "chosen")
    assert info.status == "ok" and "chosen_net" in kzoo.list_models()


class RaisingPlugin:
    @kzoo.hookimpl
    def kzoo_register_models(self, register):
        register(make_builder("half_done"))
        raise RuntimeError("boom")


class MisspelledHookPlugin:
    @kzoo.hookimpl
    def kzoo_register_modles(self, register):  # the typo is the point
        raise AssertionError("never called")


class BadSignaturePlugin:
    @kzoo.hookimpl
    def kzoo_register_models(self, register, extra):
        raise AssertionError("never called")


def test_raising_hook_is_isolated_and_reported() -> None:
    host = PluginHost(strict=False)
    with pytest.warns(kzoo.PluginWarning, match=r"'raiser'.*RuntimeError: boom"):
        info = host.add(RaisingPlugin(), "raiser")
    host.add(ModelsPlugin(make_builder("fine")), "fine")
    assert info.status == "failed" and "boom" in info.error
    assert "half_done" not in host.registry
    assert host.registry.names() == ["fine"]


def test_raising_hook_fails_in_strict_mode() -> None:
    with pytest.raises(kzoo.PluginError, match="KZOO_STRICT_PLUGINS"):
        PluginHost(strict=True).add(RaisingPlugin(), "raiser")


@pytest.mark.parametrize("plugin", [MisspelledHookPlugin(), BadSignaturePlugin()], ids=["misspelled", "signature"])
def test_invalid_hook_implementations_are_reported_not_ignored(plugin) -> None:
    host = PluginHost(strict=False)
    with pytest.warns(kzoo.PluginWarning, match="invalid hook implementation"):
        info = host.add(plugin, "typo")
    assert info.status == "failed"
    assert not host.pm.is_registered(plugin), "a plugin with a bad hook is unregistered"
    host.add(ModelsPlugin(make_builder("after")), "after")  # the manager still works
    assert "after" in host.registry


def test_strict_env_var(monkeypatch) -> None:
    monkeypatch.setenv("KZOO_STRICT_PLUGINS", "1")
    assert PluginHost().strict
    monkeypatch.setenv("KZOO_STRICT_PLUGINS", "0")
    assert not PluginHost().strict


def test_trace_prints_hook_plugin_and_duration(monkeypatch, capsys) -> None:
    monkeypatch.setenv("KZOO_TRACE_PLUGINS", "1")
    PluginHost().add(ModelsPlugin(make_builder("traced")), "tracer")
    assert "kzoo trace: kzoo_register_models plugin=tracer" in capsys.readouterr().err


def test_same_plugin_name_twice_is_refused() -> None:
    host = PluginHost(strict=False)
    host.add(ModelsPlugin(), "twice")
    with pytest.raises(kzoo.PluginError, match="already loaded"):
        host.add(ModelsPlugin(), "twice")
