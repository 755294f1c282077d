"""``kzoo new-plugin``: the project it writes installs with pip, shows up in ``kzoo list`` and
passes its own tests (kzoo's conformance kit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import kzoo
from kzoo._zoo.scaffold import new_plugin, new_plugin_names, render, supported_range
from kzoo.cli import main

from .conftest import run_kzoo
from .distributions import pip_install


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``kzoo new-plugin kzoo-hello``, then the project pip-installed into a temporary folder."""
    root = tmp_path_factory.mktemp("scaffold")
    result = CliRunner().invoke(main, ["new-plugin", "kzoo-hello", "--dir", str(root / "kzoo-hello")])
    assert result.exit_code == 0, result.output
    project = root / "kzoo-hello"
    site = root / "site"
    pip_install(project, site)
    return project, site


def test_project_layout_and_metadata(installed: tuple[Path, Path]) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project, _ = installed
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file() and "egg-info" not in str(p)
                   and "build" not in p.parts)
    assert files == [".gitignore", "README.md", "kzoo_hello/__init__.py", "kzoo_hello/kzoo-manifest.json",
                     "pyproject.toml", "tests/test_conformance.py"]
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["kzoo"] == {"hello": "kzoo_hello"}
    assert meta["project"]["dependencies"] == [f"kzoo{supported_range(kzoo.__version__)}"]
    assert 'conformance_tests("hello")' in (project / "tests/test_conformance.py").read_text()
    assert meta["tool"]["setuptools"]["package-data"] == {"kzoo_hello": ["kzoo-manifest.json"]}
    assert any("copy keyword" in f for f in meta["tool"]["pytest"]["ini_options"]["filterwarnings"])
    plugin = (project / "kzoo_hello/__init__.py").read_text()
    assert "@kzoo.model" in plugin
    assert "import keras" in plugin.split("def hello_mlp", 1)[1], "keras is imported inside the build function only"
    assert "import keras" not in plugin.split("def hello_mlp", 1)[0]


def test_installed_plugin_is_listed_from_a_subprocess(installed: tuple[Path, Path]) -> None:
    _, site = installed
    listed = run_kzoo("list", "--json", env={"PYTHONPATH": str(site)})
    assert listed.returncode == 0, listed.stderr
    models = {m["name"]: m for m in json.loads(listed.stdout)}
    assert models["hello_mlp"]["plugin"] == "hello" and "mlp" in models
    # From the shipped manifest: hidden 4*16 + 16, label 16*3 + 3.
    assert models["hello_mlp"]["params"] == 4 * 16 + 16 + 16 * 3 + 3
    assert [t["name"] for t in models["hello_mlp"]["inputs"]] == ["features"]
    assert listed.stderr == "", "the declared kzoo range includes this kzoo: no version warning"
    plugins = {p["name"]: p for p in json.loads(run_kzoo("plugins", "--json", env={"PYTHONPATH": str(site)}).stdout)}
    assert plugins["hello"]["distribution"] == "kzoo-hello" and plugins["hello"]["models"] == ["hello_mlp"]


def test_generated_tests_pass(installed: tuple[Path, Path]) -> None:
    project, site = installed
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KZOO_LOAD_PLUGINS", None)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    # the import check and the eight model checks of hello_mlp (the manifest's freshness included), all green
    assert "9 passed" in out.stdout.splitlines()[-1], out.stdout


@pytest.mark.parametrize("name", ["Hello", "1hello", "hello world", "hello--x", "hello-", "kzoo", "class", ""])
def test_invalid_names_are_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(main, ["new-plugin", name, "--dir", str(tmp_path / "p")])
    assert result.exit_code == 1
    assert f"invalid plugin name {name!r}" in result.output and "such as kzoo-hello" in result.output
    assert list(tmp_path.iterdir()) == []


def test_non_empty_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["new-plugin", "kzoo-hello", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_empty_folder_is_used_and_default_folder_is_the_name(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    assert new_plugin("zoo-extra", tmp_path / "empty") == tmp_path / "empty"
    assert (tmp_path / "empty/zoo_extra/__init__.py").is_file()
    monkeypatch.chdir(tmp_path)
    assert new_plugin("other") == tmp_path / "other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "other"], "no staging folder left behind"


def test_names_and_version_range() -> None:
    assert new_plugin_names("kzoo-hello") | {"kzoo_range": ""} == {
        "dist": "kzoo-hello", "package": "kzoo_hello", "plugin": "hello", "model": "hello_mlp",
        "kzoo_range": "", "kzoo_version": kzoo.__version__,
    }
    assert new_plugin_names("vision_nets")["model"] == "vision_nets_mlp"
    assert supported_range("0.1.0") == ">=0.1,<0.2"
    assert supported_range("1.4.2") == ">=1.4,<2"
    assert "${" not in "".join(render("kzoo-hello").values()), "every placeholder is filled"


def test_help_teaches_with_examples() -> None:
    result = CliRunner().invoke(main, ["new-plugin", "--help"])
    assert result.exit_code == 0
    assert "kzoo new-plugin kzoo-hello --dir" in result.output and "conformance kit" in result.output
    assert "new-plugin" in CliRunner().invoke(main, ["--help"]).output
