"""kzoo._workflow.diagrams and `kzoo plot`: real diagrams of every built-in model, and exact install hints
when pydot or Graphviz's `dot` is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings

import pytest
from click.testing import CliRunner

import kzoo
from kzoo._workflow import diagrams
from kzoo.cli import main

from ._images import assert_png, assert_svg

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (.ci/run installs Debian's graphviz)"
)


def _svg_text(path):
    return " ".join(el.text or "" for el in assert_svg(path).iter())


@needs_dot
def test_png_diagram_is_a_real_image(tmp_path):
    path = diagrams.plot_model("mlp", tmp_path / "mlp.png")
    assert path == tmp_path / "mlp.png"
    assert_png(path, min_width=150, min_height=300)  # five layers stacked top to bottom


@needs_dot
def test_svg_shows_layer_names_and_shapes(tmp_path):
    text = _svg_text(diagrams.plot_model("two_input_mlp", tmp_path / "two.svg"))
    for name in ("input_1", "input_2", "branch_1_dense_1", "branch_2_dense_3", "concatenate", "output"):
        assert name in text
    assert "(None, 8)" in text and "(None, 10)" in text


@needs_dot
def test_config_reaches_the_diagram(tmp_path):
    text = _svg_text(diagrams.plot_model("mlp", tmp_path / "mlp.svg", num_classes=3, hidden_units=(5,)))
    assert "(None, 3)" in text and "(None, 5)" in text
    assert "hidden_2" not in text


@needs_dot
def test_nested_models_are_expanded(tmp_path):
    text = _svg_text(diagrams.plot_model("siamese_mlp", tmp_path / "siamese.svg"))
    assert "tower_dense_1" in text and "tower_dense_2" in text  # inside the shared tower


@needs_dot
def test_subclassed_model_warns_one_node_and_names_the_functional_twin(tmp_path):
    with pytest.warns(diagrams.DiagramWarning, match="one node") as record:
        path = diagrams.plot_model("mlp", tmp_path / "sub.svg", api="subclass")
    assert "--set api=functional" in str(record[0].message)
    assert "hidden_1" not in _svg_text(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", diagrams.DiagramWarning)
        twin = diagrams.plot_model("mlp", tmp_path / "twin.svg", api="functional")
    assert "hidden_1" in _svg_text(twin)


@needs_dot
def test_draw_all_draws_every_model(tmp_path):
    paths = diagrams.draw_all(tmp_path / "diagrams")
    small = [n for n in kzoo.list_models() if kzoo.get_spec(n).params <= diagrams.DRAW_ALL_MAX_PARAMS]
    assert [p.stem for p in paths] == small and "mlp" in small and "resnet50" not in small
    for path in paths:
        assert_png(path, min_width=100, min_height=150)
        assert oct(path.stat().st_mode & 0o077) != "0o0"  # readable like any file, not mkstemp's 0600


def test_missing_dot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(diagrams.shutil, "which", lambda name: None)
    with pytest.raises(diagrams.MissingToolError, match="apt-get install graphviz"):
        diagrams.plot_model("mlp", tmp_path / "mlp.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_pydot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(diagrams.MissingToolError, match=r"`pip install pydot`"):
        diagrams.plot_model("mlp", tmp_path / "mlp.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["mlp.gif", "mlp"])
def test_unknown_suffix_is_a_config_error(tmp_path, name):
    with pytest.raises(kzoo.ConfigError, match=r"\.png or \.svg"):
        diagrams.plot_model("mlp", tmp_path / name)


# -- the command --------------------------------------------------------------------------------
@needs_dot
def test_cli_writes_the_diagram(tmp_path):
    out = tmp_path / "m.png"
    result = CliRunner().invoke(main, ["plot", "mlp", "--set", "num_classes=3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert_png(out)


def test_cli_unknown_model_is_one_line_exit_1(tmp_path):
    result = CliRunner().invoke(main, ["plot", "mpl", "-o", str(tmp_path / "m.png")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "kzoo: error: unknown model 'mpl'. Did you mean mlp? Run `kzoo list` to see every model."
    ]


def test_cli_without_dot_on_path_says_what_to_install_and_exits_1(tmp_path):
    out = tmp_path / "m.png"
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from kzoo.cli import main; sys.exit(main())", "plot", "mlp", "-o", str(out)],
        env={**os.environ, "PATH": str(empty)}, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("kzoo: error: drawing model diagrams needs Graphviz's `dot`")
    assert "`apt-get install graphviz`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_help_teaches():
    result = CliRunner().invoke(main, ["plot", "--help"])
    assert result.exit_code == 0
    assert "kzoo plot mlp -o mlp.png" in result.output and "graphviz" in result.output


def test_importing_the_picture_and_distribute_modules_imports_no_heavy_library():
    code = (
        "import sys, kzoo.cli, kzoo._workflow.curves, kzoo._workflow.diagrams, kzoo.distribute; "
        "print(','.join(m for m in ('tensorflow', 'keras', 'matplotlib', 'pydot') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
