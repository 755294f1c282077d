"""What a user debugging plugins relies on, checked on plugins pip-installed as real distributions
and run in fresh interpreters: ``kzoo plugins --json``, KZOO_TRACE_PLUGINS, supported kzoo versions,
deprecated model names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import kzoo

from .conftest import run_kzoo
from .distributions import pip_install, write_project

RENAMED = '''
from kzoo import ModelBuilder, ModelSpec, TensorSpec, hookimpl


class NewNet(ModelBuilder):
    spec = ModelSpec(
        name="new_net", description="Formerly published under another name.", api="functional",
        inputs=(TensorSpec("x", (3,)),), outputs=(TensorSpec("y", (1,), loss="mse"),),
        default_config={}, params=4,
    )


@hookimpl
def kzoo_register_models(register):
    register(NewNet(), aliases=("old_net",))
'''

FUTURE = '''
from kzoo import ModelBuilder, ModelSpec, TensorSpec, hookimpl


class FutureNet(ModelBuilder):
    spec = ModelSpec(
        name="future_net", description="Written for a kzoo that does not exist yet.", api="functional",
        inputs=(TensorSpec("x", (3,)),), outputs=(TensorSpec("y", (1,), loss="mse"),),
        default_config={}, params=4,
    )


@hookimpl
def kzoo_register_models(register):
    register(FutureNet())
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two distributions in one folder: one supporting this kzoo, one requiring kzoo>=99."""
    root = tmp_path_factory.mktemp("plugin_ops")
    target = root / "site"
    renamed = write_project(root / "renamed", "kzoo-renamed", {"kz_renamed.py": RENAMED}, {"renamed": "kz_renamed"},
                            requires=f"kzoo>={kzoo.__version__}")
    future = write_project(root / "future", "kzoo-future", {"kz_future.py": FUTURE}, {"future": "kz_future"},
                           requires="kzoo>=99")
    pip_install(renamed, target)
    pip_install(future, target)
    return target


def test_plugins_json_describes_every_plugin(site: Path) -> None:
    result = run_kzoo("plugins", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert {"mlp", "two_input", "shared_layers", "renamed", "future"} <= set(plugins)
    assert plugins["renamed"] == {
        "name": "renamed", "module": "kz_renamed", "distribution": "kzoo-renamed", "version": "0.1.0",
        "models": ["new_net"], "status": "ok", "error": None,
    }
    builtins = [name for name, p in plugins.items() if p["distribution"] == "kzoo"]
    assert {"mlp", "shared_layers", "two_input"} <= set(builtins)
    assert list(plugins)[: len(builtins)] == builtins, "built-ins load first"


def test_plugin_outside_its_kzoo_range_warns_naming_both_versions(site: Path) -> None:
    result = run_kzoo("list", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"kzoo: warning: kzoo plugin 'future' \(kzoo-future 0.1.0\) supports kzoo>=99, but this is kzoo "
        rf"{re.escape(kzoo.__version__)}", result.stderr), result.stderr
    assert "future_net" in result.stdout, "a warning only: the plugin still loads"
    assert "'renamed'" not in result.stderr, "a plugin inside its range loads quietly"


def test_plugin_outside_its_kzoo_range_fails_in_strict_mode(site: Path) -> None:
    result = run_kzoo("list", env={"PYTHONPATH": str(site), "KZOO_STRICT_PLUGINS": "1"})
    assert result.returncode == 1
    assert result.stderr.startswith("kzoo: error: kzoo plugin 'future' (kzoo-future 0.1.0) supports kzoo>=99")
    assert f"this is kzoo {kzoo.__version__}" in result.stderr and "Traceback" not in result.stderr


def test_trace_prints_each_hook_call_with_plugin_and_duration(site: Path) -> None:
    # An allow list, so third-party plugins installed next to kzoo do not change the trace.
    only = "mlp,shared_layers,two_input,sklearn_datasets,renamed"
    result = run_kzoo("list", env={"PYTHONPATH": str(site), "KZOO_TRACE_PLUGINS": "1", "KZOO_LOAD_PLUGINS": only})
    assert result.returncode == 0, result.stderr
    traced = re.findall(r"^kzoo trace: (\w+) plugin=(\S+) (\d+\.\d+) ms$", result.stderr, flags=re.M)
    assert [(hook, plugin) for hook, plugin, _ in traced] == [
        ("kzoo_register_models", name) for name in ("mlp", "shared_layers", "two_input", "renamed")
        # sklearn_datasets implements no model hook, so it is neither called nor traced
    ]
    assert "kzoo trace" not in result.stdout
    quiet = run_kzoo("list", env={"PYTHONPATH": str(site), "KZOO_DISABLE_PLUGINS": "future"})
    assert "kzoo trace" not in quiet.stderr


def test_deprecated_alias_is_hidden_unless_all(site: Path) -> None:
    env = {"PYTHONPATH": str(site), "KZOO_LOAD_PLUGINS": "renamed"}
    plain = run_kzoo("list", env=env)
    assert "new_net" in plain.stdout and "old_net" not in plain.stdout
    everything = run_kzoo("list", "--all", env=env)
    assert "old_net (deprecated: use new_net)" in everything.stdout
    as_json = {m["name"]: m for m in json.loads(run_kzoo("list", "--all", "--json", env=env).stdout)}
    assert as_json["old_net"]["deprecated_alias_of"] == "new_net"


def test_deprecated_alias_warns_and_resolves_in_the_cli(site: Path) -> None:
    result = run_kzoo("info", "old_net", env={"PYTHONPATH": str(site), "KZOO_LOAD_PLUGINS": "renamed"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("new_net: Formerly published under another name.")
    assert "kzoo: warning: model name 'old_net' is deprecated; use 'new_net' instead." in result.stderr


def test_deprecated_alias_warns_and_resolves_in_python(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("KZOO_LOAD_PLUGINS", "renamed")
    kzoo._zoo.plugins.reset()
    with pytest.warns(DeprecationWarning, match="'old_net' is deprecated; use 'new_net'"):
        builder = kzoo.get("old_net")
    assert builder is kzoo.get("new_net")
    assert kzoo.list_models() == ["new_net"]
    assert kzoo.list_models(include_aliases=True) == ["new_net", "old_net"]


def test_trace_marks_a_hook_call_that_raised(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    class Raising:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            raise RuntimeError("broken on purpose")

    monkeypatch.setenv("KZOO_TRACE_PLUGINS", "1")
    with pytest.warns(kzoo.PluginWarning, match="broken on purpose"):
        kzoo._zoo.plugins.PluginHost(strict=False).add(Raising(), "raiser")
    assert re.search(r"^kzoo trace: kzoo_register_models plugin=raiser \d+\.\d+ ms \(raised\)$",
                     capsys.readouterr().err, flags=re.M)
