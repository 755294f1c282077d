"""Every mistake in the data is one line, before any framework starts: each case runs the CLI in a
fresh interpreter and checks that neither keras nor tensorflow was imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .test_real_tables import write_penguins

PROBE = """
import sys
from kzoo.cli import main
try:
    main({args!r}, prog_name="kzoo")
except SystemExit as exit:
    print("EXIT:", exit.code)
print("HEAVY:", [m for m in ("keras", "tensorflow") if m in sys.modules])
"""


def kzoo_light(*args: object) -> tuple[str, str]:
    """``(the last stderr line, the HEAVY: line)`` of ``kzoo ARGS`` in a fresh interpreter."""
    code = PROBE.format(args=[str(a) for a in args])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = [line for line in out.stderr.strip().splitlines() if line.startswith("kzoo:")]
    assert "EXIT: 1" in out.stdout, (out.stdout, out.stderr)
    return lines[-1], out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mistakes")
    penguins = write_penguins(root / "penguins.csv", rows=60)
    one_class = root / "one_class.csv"
    one_class.write_text("a,b,y\n" + "".join(f"{i},{i % 4},same\n" for i in range(10)))
    fractional = root / "fractional.csv"
    fractional.write_text("a,b,y\n" + "".join(f"{i},{i % 4},{i / 3:.3f}\n" for i in range(10)))
    lacking = root / "lacking.csv"
    lacking.write_text("bill_length_mm,flipper_length_mm,sex\n40,190,male\n")
    binary = root / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 64)
    model = root / "species.keras"
    from ._cli import run

    assert run("train", "mlp", "--data", penguins, "--target", "species", "--epochs", "1", "--quiet",
               "--out", model).exit_code == 0
    return {"penguins": penguins, "one_class": one_class, "fractional": fractional, "lacking": lacking,
            "model": model, "binary": binary, "root": root}


CASES = {
    "train, missing file": (["train", "mlp", "--data", "{root}/nope.csv", "--target", "y"], "no data file"),
    "train, missing column": (["train", "mlp", "--data", "{penguins}", "--target", "weight"], "no target column 'weight'"),
    "train, unreadable file": (["train", "mlp", "--data", "{binary}"], "unknown file type"),
    "train, one class": (["train", "mlp", "--data", "{one_class}", "--target", "y"], "single class"),
    "train, fractional under classification": (
        ["train", "mlp", "--data", "{fractional}", "--target", "y", "--task", "classification"], "fractional values"),
    "train, unwritable output": (["train", "mlp", "--data", "{penguins}", "--target", "species", "--out",
                                  "/proc/m.keras"], "cannot write '/proc/m.keras'"),
    "evaluate, missing file": (["evaluate", "{model}", "--data", "{root}/nope.csv"], "no data file"),
    "evaluate, missing column": (["evaluate", "{model}", "--data", "{lacking}"], "no target column 'species'"),
    "predict, missing model": (["predict", "{root}/nope.keras", "--data", "{penguins}"], "no model file"),
    "predict, missing column": (["predict", "{model}", "--data", "{lacking}"], "lacks column(s) 'body_mass_g', 'island'"),
    "predict, unwritable output": (["predict", "{model}", "--data", "{penguins}", "--out", "/proc/p.csv"],
                                   "cannot write '/proc/p.csv'"),
    "export, missing model": (["export", "{root}/nope.keras", "--format", "onnx", "-o", "{root}/m.onnx"],
                              "no model file"),
    "export, unwritable output": (["export", "{model}", "--format", "onnx", "-o", "/proc/m.onnx"], "/proc"),
}


@pytest.mark.parametrize("case", CASES)
def test_data_mistakes_are_one_line_before_any_framework(files, case) -> None:
    args, expected = CASES[case]
    last, heavy = kzoo_light(*(a.format(**files) for a in args))
    assert last.startswith("kzoo: error: ") and expected in last, last
    assert heavy == "HEAVY: []", f"{case}: {heavy} ({last})"
