"""Listing and looking up models never imports keras or tensorflow (checked in fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import run_kzoo

HEAVY = ("keras", "tensorflow")

PROBE = """
import sys, kzoo
names = kzoo.list_models()
spec = kzoo.get("two_input_mlp").spec
assert spec.params == 902 and "mlp" in names
assert "iris" in kzoo.get("mlp").weights and "mlp.iris" in kzoo.list_weights()
heavy = [m for m in {heavy!r} if m in sys.modules]
print("HEAVY:", heavy)
"""


def test_import_list_and_spec_stay_light() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY: []" in out.stdout


CLI_PROBE = """
import sys
from kzoo.cli import main
try:
    main({args!r}, prog_name="kzoo")
except SystemExit as exit:
    assert not exit.code, exit.code
print("HEAVY:", [m for m in {heavy!r} if m in sys.modules])
"""


@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["info", "two_input_mlp"], ["plugins"], ["weights"],
                                  ["weights", "--json"], ["weights", "verify"]], ids=" ".join)
def test_cli_commands_stay_light(args: list[str]) -> None:
    code = CLI_PROBE.format(args=args, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("HEAVY: []")


def test_console_entry_point_runs() -> None:
    result = run_kzoo("list", "--json")
    assert result.returncode == 0, result.stderr
    assert '"two_input_mlp"' in result.stdout


SKLEARN_PROBE = """
import sys
from kzoo.sklearn import KzooClassifier, KzooRegressor
from sklearn.base import clone
clf = clone(KzooClassifier("mlp", model_params={{"hidden_units": (8,)}}, epochs=2)).set_params(model__hidden_units=(4,))
print(repr(clf), KzooRegressor().get_params()["model"])
print("HEAVY:", [m for m in {heavy!r} if m in sys.modules])
"""


def test_the_scikit_learn_estimators_import_and_clone_without_keras() -> None:
    """``kzoo.sklearn`` is imported where pipelines are defined (and by every loky worker of a
    grid search): only ``fit`` and ``predict`` start keras."""
    out = subprocess.run([sys.executable, "-c", SKLEARN_PROBE.format(heavy=HEAVY)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "model__hidden_units" not in out.stdout and "'hidden_units': (4,)" in out.stdout
    assert out.stdout.strip().endswith("HEAVY: []")
