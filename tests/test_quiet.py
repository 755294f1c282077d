"""kzoo is as quiet in Python as in the CLI: none of TensorFlow's C++ start-up lines, nor
LiteRT's, unless the user asked for TensorFlow's logs (TF_CPP_MIN_LOG_LEVEL 0 or 1)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from .conftest import PLUGIN_ENV_VARS

SCRIPT = """
import kzoo
kzoo.build("mlp")
kzoo.train("mlp", "iris", epochs=1)
if {export!r}:
    print(kzoo.export_model("mlp.iris", "litert", {target!r}).path)
print("done")
"""


def run_python(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PLUGIN_ENV_VARS and k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**clean, **env})


def test_a_script_that_builds_and_trains_prints_nothing_of_tensorflow(tmp_path):
    export = importlib.util.find_spec("ai_edge_litert") is not None
    target = str(tmp_path / "m.tflite")
    done = run_python(SCRIPT.format(export=export, target=target))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert done.stdout.split() == ([target] if export else []) + ["done"]


@pytest.mark.parametrize("level, quieted", [(None, True), ("3", True), ("0", False), ("1", False)])
def test_tensorflow_is_quieted_unless_the_user_asked_for_its_logs(level, quieted):
    probe = ("import kzoo, os, sys\n"
             "print(any(type(f).__name__ == '_QuietTensorflow' for f in sys.meta_path), os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    done = run_python(probe, **({} if level is None else {"TF_CPP_MIN_LOG_LEVEL": level}))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(quieted), level or "2"]
