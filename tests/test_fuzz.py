"""Property-based fuzzing of every reader of user input: the CSV reader, the NPZ reader, the
``kzoo.json`` reader and ``--set`` parsing. Whatever the input, the outcome is success or a
``kzoo.KzooError``, never another exception.

Bounded for CI: ``EXAMPLES`` (60) examples per test, derandomized (the same examples every run, so a
failure is reproducible and CI does not flake), no deadline (the machine may be busy).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import kzoo
from kzoo.config import parse_assignments
from kzoo.datasets.files import read_csv, read_npz

EXAMPLES = int(os.environ.get("KZOO_FUZZ_EXAMPLES", "60"))  # more for a deeper local search
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def scratch(name: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="kzoo-fuzz-"))
    path = folder / name
    path.write_bytes(data)
    return path


def kzoo_outcome(call) -> None:
    """Run ``call``; anything but success or a KzooError fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except kzoo.KzooError:
            pass


# -- CSV --------------------------------------------------------------------------------------
cells = st.one_of(
    st.sampled_from(["", " ", "0", "1", "-2.5", "1e309", "nan", "inf", "x", "a,b", '"', "\n", "\ufeff", ";", "\t",
                     "1_0", "0x10", "setosa"]),
    st.floats(allow_nan=True).map(repr),
    st.integers(-(2**40), 2**40).map(str),
    st.text(max_size=6),
)


@st.composite
def csv_texts(draw) -> tuple[str, list[str]]:
    width = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(["a", "b", "y", "species", " a", ""]), min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(cells, min_size=max(width - 1, 0), max_size=width + 1), max_size=8))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    buffer = io.StringIO()
    import csv

    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    bom = draw(st.sampled_from(["", "\ufeff"]))
    target = draw(st.lists(st.sampled_from(["y", "a", "out=species", "label=b", "zzz"]), max_size=2))
    return bom + buffer.getvalue(), target


@fuzz
@given(csv_texts(), st.booleans())
def test_csv_reader_on_random_shapes_and_cells(case, require_target) -> None:
    text, target = case
    path = scratch("d.csv", text.encode("utf-8", "surrogatepass"))
    kzoo_outcome(lambda: read_csv(str(path), target=target, require_target=require_target))


@fuzz
@given(st.binary(max_size=300))
def test_csv_reader_on_random_bytes(data) -> None:
    path = scratch("d.csv", data)
    kzoo_outcome(lambda: read_csv(str(path), target=["y"]))


# -- NPZ --------------------------------------------------------------------------------------
def valid_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, input=np.arange(12, dtype="float32").reshape(3, 4), output=np.arange(3))
    return buffer.getvalue()


VALID_NPZ = valid_npz()


@fuzz
@given(st.lists(st.tuples(st.integers(0, len(VALID_NPZ) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_npz_reader_on_corrupted_files(flips) -> None:
    data = bytearray(VALID_NPZ)
    for offset, value in flips:
        data[offset] = value
    path = scratch("d.npz", bytes(data))
    kzoo_outcome(lambda: read_npz(str(path)))


@fuzz
@given(st.binary(max_size=300))
def test_npz_reader_on_random_bytes(data) -> None:
    path = scratch("d.npz", b"PK\x03\x04" + data)
    kzoo_outcome(lambda: read_npz(str(path)))


# -- kzoo.json --------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
known_keys = st.sampled_from(["model", "plugin", "config", "data", "training", "epoch", "history", "kzoo_version"])
documents = st.one_of(
    json_values,
    st.dictionaries(known_keys, json_values, max_size=6),
    st.fixed_dictionaries({"model": st.sampled_from(["mlp", "nope", ""]), "plugin": st.sampled_from(["mlp", None]),
                           "config": st.dictionaries(st.sampled_from(["input_dim", "hidden_units", "num_classes",
                                                                      "api", "bogus"]), json_values, max_size=3),
                           "data": st.dictionaries(st.sampled_from(["source", "target", "columns", "preprocess",
                                                                    "class_names", "inputs", "target_classes"]),
                                                   json_values, max_size=4)}),
)


@fuzz
@given(documents)
def test_kzoo_json_reader_and_its_consumers(doc) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("kzoo.json", json.dumps(doc))
    path = scratch("m.keras", buffer.getvalue())

    def read_and_use() -> None:
        meta = kzoo._store.saving.read_metadata(path)
        builder = kzoo.get(meta["model"])
        builder.config(**(meta.get("config") or {}))
        kzoo.datasets.load("iris", builder, metadata=meta, require_target=False)

    kzoo_outcome(read_and_use)


@fuzz
@given(st.binary(max_size=200))
def test_kzoo_json_reader_on_random_bytes(data) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("kzoo.json", data)
    path = scratch("m.keras", buffer.getvalue())
    kzoo_outcome(lambda: kzoo._store.saving.read_metadata(path))


# -- --set ------------------------------------------------------------------------------------
assignment = st.one_of(
    st.text(max_size=20),
    st.tuples(st.sampled_from(["input_dim", "hidden_units", "num_classes", "api", "activation", "x", ""]),
              st.one_of(st.text(max_size=12), st.sampled_from(["1e9", "-1", "()", "[[1]]", "(1,'a')", "True", "None",
                                                                "{}", "8,16", "1" * 400, "1j", "..."])))
    .map(lambda kv: f"{kv[0]}={kv[1]}"),
)


@fuzz
@given(st.lists(assignment, max_size=4), st.sampled_from(["mlp", "two_input_mlp", "siamese_mlp", "multi_output_mlp"]))
def test_set_parsing_and_config_checks(items, model) -> None:
    kzoo_outcome(lambda: kzoo.get(model).config(**parse_assignments(items)))


@pytest.fixture(autouse=True, scope="module")
def _no_plugin_reloads():
    """The fuzz tests only read: loading plugins once for the module keeps them fast."""
    yield
