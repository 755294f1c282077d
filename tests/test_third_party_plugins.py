"""Third-party plugins installed as real distributions with pip, seen from fresh interpreters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_kzoo
from .distributions import pip_install, write_project

GOOD = '''
from kzoo import ModelBuilder, ModelSpec, TensorSpec, hookimpl


class TinyBuilder(ModelBuilder):
    spec = ModelSpec(
        name="tiny_net",
        description="A third-party test model.",
        api="functional",
        tags=("third-party",),
        inputs=(TensorSpec("x", (3,)),),
        outputs=(TensorSpec("y", (2,), loss="sparse_categorical_crossentropy"),),
        default_config={"units": 4},
        params=3 * 4 + 4 + 4 * 2 + 2,
    )

    def build_model(self, config):
        import keras

        x = keras.Input((3,), name="x")
        h = keras.layers.Dense(config["units"], activation="relu")(x)
        return keras.Model(x, keras.layers.Dense(2, activation="softmax", name="y")(h))


@hookimpl
def kzoo_register_models(register):
    register(TinyBuilder())
'''

BROKEN = '''
raise ImportError("this plugin needs a library that is not installed")
'''

DUPLICATE = '''
from kzoo import hookimpl
from kzoo_plugins.mlp import MLPBuilder


@hookimpl
def kzoo_register_models(register):
    register(MLPBuilder())  # "mlp" is taken by the built-in plugin
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pip-installed distribution with three plugins: a good one, one that fails at import,
    and one that registers a name a built-in plugin already has."""
    root = tmp_path_factory.mktemp("third_party")
    project = write_project(
        root / "src",
        "kzoo-test-plugins",
        {"tp_good.py": GOOD, "tp_broken.py": BROKEN, "tp_duplicate.py": DUPLICATE},
        {"good": "tp_good", "broken": "tp_broken", "duplicate": "tp_duplicate"},
    )
    target = root / "site"
    pip_install(project, target)
    return target


def test_installed_plugin_model_is_listed_and_buildable(site: Path) -> None:
    env = {"PYTHONPATH": str(site)}
    listed = run_kzoo("list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    names = {m["name"]: m for m in json.loads(listed.stdout)}
    assert names["tiny_net"]["plugin"] == "good" and "two_input_mlp" in names
    info = run_kzoo("info", "tiny_net", "--summary", env=env)
    assert info.returncode == 0, info.stderr
    assert "Total params: 26" in info.stdout


def test_broken_and_duplicate_plugins_do_not_take_kzoo_down(site: Path) -> None:
    result = run_kzoo("plugins", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["good"]["status"] == "ok" and plugins["good"]["distribution"] == "kzoo-test-plugins"
    assert plugins["broken"]["status"] == "failed"
    assert "this plugin needs a library that is not installed" in plugins["broken"]["error"]
    assert plugins["duplicate"]["status"] == "ok" and plugins["duplicate"]["models"] == []
    assert "kzoo plugin 'duplicate'" in result.stderr and "model 'mlp', which plugin 'mlp'" in result.stderr
    assert plugins["mlp"]["status"] == "ok" and plugins["mlp"]["models"] == ["mlp"]
    assert "kzoo: warning: kzoo plugin 'broken'" in result.stderr
    assert "Traceback" not in result.stderr


def test_strict_mode_turns_a_broken_plugin_into_an_error(site: Path) -> None:
    result = run_kzoo("list", env={"PYTHONPATH": str(site), "KZOO_STRICT_PLUGINS": "1"})
    assert result.returncode == 1
    assert result.stderr.startswith("kzoo: error: kzoo plugin 'broken'")
    assert "Traceback" not in result.stderr


def test_allow_list_skips_broken_plugins(site: Path) -> None:
    result = run_kzoo("plugins", "--json", env={"PYTHONPATH": str(site), "KZOO_LOAD_PLUGINS": "good,mlp"})
    assert result.returncode == 0 and result.stderr == ""
    assert [p["name"] for p in json.loads(result.stdout)] == ["mlp", "good"]


def test_python_api_sees_the_plugin(site: Path) -> None:
    import subprocess
    import sys

    code = "import kzoo; b = kzoo.get('tiny_net'); print(b.spec.plugin, b.build().count_params())"
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["good", "26"]
