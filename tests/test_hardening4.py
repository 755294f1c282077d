"""Hardening round 4 (issue 35): tables whose columns take kzoo's own names, bad cells at
predict time, saved files whose metadata lies, more file types, and one-line messages. Each case
ends in a correct result or one ``kzoo: error:`` line."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from tests._cli import one_line_error, run


def write_table(path: Path, columns: dict[str, list[object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(columns))
        writer.writerows(zip(*columns.values()))
    return path


def mixed_table(path: Path, rows: int = 40, **named: str) -> Path:
    """A numeric column ``a``, categorical columns (each named key holds letters ``p``/``q``/``r``)
    and a 0/1 target ``y`` that follows ``a``."""
    rng = random.Random(0)
    a = [round(rng.random(), 3) for _ in range(rows)]
    columns: dict[str, list[object]] = {"a": a}
    for column in named.values():
        columns[column] = [rng.choice("pqr") for _ in range(rows)]
    columns["y"] = [int(v > 0.5) for v in a]
    return write_table(path, columns)


# -- 1. a column may take the name of one of kzoo's layers ------------------------------------------
def test_columns_named_like_kzoos_layers_train_and_predict(tmp_path) -> None:
    data = mixed_table(tmp_path / "t.csv", c1="output", c2="input", c3="core", c4="features", c5="mlp", c6="cast")
    model = tmp_path / "m.keras"
    trained = run("train", "mlp", "--data", data, "--target", "y", "--epochs", "1", "--quiet", "--out", model)
    assert trained.exit_code == 0, trained.output
    predicted = run("predict", model, "--data", data)
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.stdout.strip().splitlines()) == 41
    from kzoo._store.saving import read_metadata

    inputs = {cat["column"]: cat["input"] for cat in read_metadata(model)["data"]["plan"]["categorical"]}
    assert inputs == {"output": "output_column", "input": "input", "core": "core_column",
                      "features": "features_column", "mlp": "mlp_column", "cast": "cast_column"}


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> tuple[Path, Path]:
    """``(table, model)``: a small table with a numeric ``body_mass_g`` and a categorical
    ``island``, and an mlp trained on it for one epoch."""
    folder = tmp_path_factory.mktemp("penguins")
    rng = random.Random(1)
    mass = [rng.randint(3000, 5000) for _ in range(40)]
    table = write_table(folder / "penguins.csv", {
        "bill": [round(rng.random() * 20 + 30, 1) for _ in mass], "body_mass_g": mass,
        "island": [rng.choice(["Biscoe", "Dream"]) for _ in mass],
        "species": ["Gentoo" if m > 4000 else "Adelie" for m in mass]})
    model = folder / "m.keras"
    trained = run("train", "mlp", "--data", table, "--target", "species", "--epochs", "1", "--quiet", "--out", model)
    assert trained.exit_code == 0, trained.output
    return table, model


# -- 2. a numeric column with text in one row, at predict time ----------------------------------------
def test_text_in_a_numeric_column_at_predict_names_column_line_and_value(tmp_path, penguins) -> None:
    table, model = penguins
    lines = table.read_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = "heavy"
    lines[3] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    for command in ("predict", "evaluate"):
        one_line_error(run(command, model, "--data", bad), "'body_mass_g'", "line 4", "'heavy'", "not numeric")


def test_text_in_a_numeric_dataframe_column_names_the_row_of_the_bad_value(penguins) -> None:
    import pandas as pd

    import kzoo
    from kzoo.errors import DataError

    table, model = penguins
    frame = pd.read_csv(table)
    frame["body_mass_g"] = frame["body_mass_g"].astype(str)
    frame.loc[2, "body_mass_g"] = "heavy"
    with pytest.raises(DataError, match=r"'body_mass_g' is not numeric \(row 2 holds 'heavy'\)"):
        kzoo.predict(model, frame.drop(columns=["species"]))


# -- 3. a kzoo.json that does not describe its network -----------------------------------------------
def edited_copy(model: Path, out: Path, edit) -> Path:
    """``model`` with its kzoo.json changed by ``edit`` (a function of the parsed document)."""
    import json
    import zipfile

    with zipfile.ZipFile(model) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "kzoo.json":
                doc = json.loads(data)
                edit(doc)
                data = json.dumps(doc).encode()
            zout.writestr(item, data)
    return out


def test_a_kzoo_json_without_its_data_section_is_refused_not_shaped_twice(tmp_path, penguins) -> None:
    table, model = penguins
    bare = edited_copy(model, tmp_path / "bare.keras", lambda doc: doc.pop("data"))
    for extra in ((), ("--target", "species")):
        command = "evaluate" if extra else "predict"
        one_line_error(run(command, bare, "--data", table, *extra), "bare.keras", "no data.plan")


def test_a_plan_naming_an_input_the_network_lacks_is_one_line(tmp_path, penguins) -> None:
    table, model = penguins

    def rename(doc) -> None:
        doc["data"]["plan"]["categorical"][0]["input"] = "atoll"

    edited = edited_copy(model, tmp_path / "edited.keras", rename)
    one_line_error(run("predict", edited, "--data", table), "input 'atoll'", "which the network lacks")


# -- 4. .tsv and compressed tables, wherever a .csv is read -----------------------------------------
def packed(table: Path, folder: Path) -> dict[str, Path]:
    """``table`` as a .tsv and compressed as pandas reads it: suffix -> file."""
    import gzip
    import zipfile

    text = table.read_text()
    tsv = text.replace(",", "\t")
    files = {".tsv": folder / "t.tsv", ".csv.gz": folder / "t.csv.gz", ".tsv.gz": folder / "t.tsv.gz",
             ".csv.zip": folder / "t.csv.zip"}
    files[".tsv"].write_text(tsv)
    files[".csv.gz"].write_bytes(gzip.compress(text.encode()))
    files[".tsv.gz"].write_bytes(gzip.compress(tsv.encode()))
    with zipfile.ZipFile(files[".csv.zip"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("penguins.csv", text)
    return files


def test_tsv_and_compressed_tables_read_as_their_csv(tmp_path, penguins) -> None:
    import warnings

    from kzoo.datasets.files import read_csv

    table, model = penguins
    expected = run("predict", model, "--data", table)
    assert expected.exit_code == 0, expected.output
    plain = read_csv(str(table), target=["species"])
    for suffix, path in packed(table, tmp_path).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a .tsv is tab-separated without a note
            read = read_csv(str(path), target=["species"])
        assert read.feature_names == plain.feature_names and (read.features == plain.features).all(), suffix
        assert list(read.text["island"]) == list(plain.text["island"]) and read.class_names == plain.class_names
        predicted = run("predict", model, "--data", path)
        assert predicted.exit_code == 0 and predicted.stdout == expected.stdout, (suffix, predicted.output)


def test_a_compression_bomb_and_a_zip_of_two_tables_are_one_line(tmp_path, monkeypatch, penguins) -> None:
    import gzip
    import zipfile

    table, model = penguins
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"a,y\n" + b"1,0\n" * 100_000))  # 400 KB unpacked
    monkeypatch.setenv("KZOO_MAX_ARRAY_BYTES", "100k")
    one_line_error(run("train", "mlp", "--data", bomb, "--target", "y", "--epochs", "1"),
                   "decompresses to more than 100.0 KiB", "KZOO_MAX_ARRAY_BYTES")
    monkeypatch.delenv("KZOO_MAX_ARRAY_BYTES")
    two = tmp_path / "two.csv.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", table.read_text())
        archive.writestr("b.csv", table.read_text())
    one_line_error(run("predict", model, "--data", two), "holds 2 files", "exactly one")
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"not gzip")
    one_line_error(run("predict", model, "--data", broken), "could not read", "broken.csv.gz")


# -- 5. messages --------------------------------------------------------------------------------------
_NO_TORCH = """
import sys
sys.modules["torch"] = None  # torch made unimportable, as on a machine without it
from click.testing import CliRunner
from kzoo.cli import main
result = CliRunner().invoke(main, ["--backend", "torch", "train", "mlp", "--data", "iris", "--epochs", "1"])
sys.stderr.write(result.stderr)
print(result.exit_code, "keras" in sys.modules)
"""


def test_backend_torch_without_torch_says_how_to_install_it_before_keras() -> None:
    import subprocess
    import sys

    from tests.conftest import fresh_env

    done = subprocess.run([sys.executable, "-c", _NO_TORCH], capture_output=True, text=True, env=fresh_env(), timeout=300)
    assert done.stdout.split() == ["1", "False"], done.stdout + done.stderr  # refused, keras never imported
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "kzoo[torch]"' in lines[0] and "'torch'" in lines[0], done.stderr


def test_manifest_of_a_package_with_a_syntax_error_is_one_line(tmp_path) -> None:
    package = tmp_path / "kzoo_h4_broken"
    package.mkdir()
    (package / "__init__.py").write_text("from . import models\n")
    (package / "models.py").write_text("def build(:\n    pass\n")
    one_line_error(run("manifest", package), "kzoo_h4_broken", "SyntaxError", "models.py, line 1")


@pytest.fixture
def odd_model():
    """A model whose plugin wrote a description with a right-to-left override and a newline, and
    a default config with NaN and infinity."""
    import kzoo
    from tests.conftest import ModelsPlugin

    spec = kzoo.ModelSpec(
        name="odd_net", description="harmless\u202egpj.exe\nsecond line", api="functional",
        inputs=(kzoo.TensorSpec("input", (3,), description="cells\u2066 hidden\u2069"),),
        outputs=(kzoo.TensorSpec("output", (2,), loss="sparse_categorical_crossentropy"),),
        default_config={"eps": float("nan"), "clip": float("inf"), "floor": float("-inf")}, params=8)
    builder = type("OddBuilder", (kzoo.ModelBuilder,), {"spec": spec})()
    kzoo.register_plugin(ModelsPlugin(builder), "odd")
    return "odd_net"


def test_info_json_is_strict_json(odd_model) -> None:
    import json

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    result = run("info", odd_model, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_constant=refuse)
    assert data["default_config"] == {"eps": None, "clip": "Infinity", "floor": "-Infinity"}


def test_info_and_list_escape_control_and_bidi_characters(odd_model) -> None:
    for args in (("info", odd_model), ("list", odd_model)):
        result = run(*args)
        assert result.exit_code == 0, result.output
        for char in ("\u202e", "\u2066", "\u2069"):
            assert char not in result.stdout, args
        assert "harmless\\u202egpj.exe\\nsecond line" in result.stdout and "second line" not in result.stdout.replace(
            "\\nsecond line", ""), result.stdout
    assert "cells\\u2066 hidden\\u2069" in run("info", odd_model).stdout


def test_an_allow_list_naming_a_plugin_that_does_not_exist_warns_once(monkeypatch) -> None:
    monkeypatch.setenv("KZOO_LOAD_PLUGINS", "mlp,no_such_plugin")
    result = run("list")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "no_such_plugin" in line]
    assert len(warned) == 1 and "KZOO_LOAD_PLUGINS" in warned[0] and "mlp" in result.stdout, result.stderr


def test_info_of_a_regressor_shows_one_output_unit_not_ten_classes(tmp_path, penguins) -> None:
    table, _ = penguins
    model = tmp_path / "mass.keras"
    trained = run("train", "mlp", "--data", table, "--target", "body_mass_g", "--drop", "species", "--epochs", "1",
                  "--quiet", "--out", model)
    assert trained.exit_code == 0, trained.output
    shown = run("info", model).stdout
    assert "regression" in shown and "num_classes =" not in shown and "one output unit" in shown, shown


def test_the_weights_table_fits_in_100_columns() -> None:
    result = run("weights")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("mlp.iris ") for line in lines) and "LICENSE" in lines[0]
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)


def test_kzoo_list_piped_shows_whole_descriptions() -> None:
    """On a terminal a description is cut to its width; a script or a log reading a pipe gets it whole."""
    import kzoo

    spec = kzoo.get_spec("convnext_tiny")
    assert len(spec.description) > 70
    result = run("list", "convnext_tiny")
    assert result.exit_code == 0 and spec.description in result.stdout, result.output


_KERAS_BACKEND_WITHOUT_TORCH = """
import sys


class NoTorch:  # torch absent, as on a machine without it
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NoTorch())
from click.testing import CliRunner
from kzoo.cli import main
for args in (["list", "mlp"], ["train", "mlp", "--data", "iris", "--epochs", "1"]):
    result = CliRunner().invoke(main, args)
    sys.stderr.write(result.stderr)
    print(result.exit_code)
"""


def test_keras_backend_naming_a_missing_package_says_how_to_install_it_not_which_model_failed() -> None:
    import subprocess
    import sys

    from tests.conftest import fresh_env

    done = subprocess.run([sys.executable, "-c", _KERAS_BACKEND_WITHOUT_TORCH], capture_output=True, text=True,
                          env=dict(fresh_env(), KERAS_BACKEND="torch"), timeout=300)
    assert done.stdout.split() == ["0", "1"], done.stdout + done.stderr  # listing needs no backend
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "kzoo[torch]"' in lines[0] and "KERAS_BACKEND is 'torch'" in lines[0], done.stderr
    assert "failed to build" not in lines[0]


# -- 6. files that cross backends ---------------------------------------------------------------------
def test_a_file_naming_another_backends_optimizer_loads_without_importing_that_backend(tmp_path, penguins) -> None:
    """PyTorch saves its optimizer as keras.src.backend.torch.optimizers.torch_adam.Adam; loading
    that under TensorFlow imported torch into the process (a segmentation fault with CUDA builds).
    tests/test_backends.py trains on torch itself (slow); here the file says what torch writes."""
    import json
    import sys
    import zipfile

    import kzoo

    table, model = penguins
    if "keras.src.backend.torch" in sys.modules:
        pytest.skip("this process imported Keras's torch backend already")
    torch_made = tmp_path / "torch_made.keras"
    with zipfile.ZipFile(model) as zin, zipfile.ZipFile(torch_made, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["compile_config"]["optimizer"]["module"] = "keras.src.backend.torch.optimizers.torch_adam"
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    assert kzoo.predict(torch_made, table) == kzoo.predict(model, table)
    assert kzoo.evaluate(torch_made, table) == pytest.approx(kzoo.evaluate(model, table))
    assert "keras.src.backend.torch" not in sys.modules and kzoo.load(torch_made).optimizer is not None


def test_a_note_from_python_points_at_the_callers_line_not_kzoos_source() -> None:
    """A CsvNote raised deep in loading is shown with the user's own line (pandas's find_stack_level)."""
    import warnings

    import kzoo

    rows = {"a": [0.1 * i for i in range(12)], "y": ["p", "q", None] * 4}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kzoo.train("mlp", rows, {"hidden_units": (4,)}, target="y", epochs=1, verbose=0)
    notes = [w for w in caught if issubclass(w.category, kzoo.CsvNote)]
    assert notes and "left out 4 row(s)" in str(notes[0].message)
    assert {w.filename for w in notes} == {__file__}, [(w.filename, w.lineno) for w in notes]


def test_a_predictions_table_too_large_for_memory_is_one_line(monkeypatch) -> None:
    """60,000 classes: each row a Python list of 60,001 cells, gigabytes for the digits' rows."""
    import numpy as np

    import kzoo
    from kzoo._meta.spec import TensorSpec
    from kzoo._system import limits
    from kzoo._workflow.inference import prediction_table

    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)
    many = TensorSpec("label", (60_000,), loss="sparse_categorical_crossentropy")
    with pytest.raises(kzoo.DataError, match=r"a predictions table of 1,797 rows and 60,002 columns would need about "
                                             r".*kzoo.load\(MODEL\).predict"):
        prediction_table({"label": np.zeros((1797, 60_000), "float32")}, [many], None)
    header, rows = prediction_table({"label": np.eye(3, dtype="float32")}, [TensorSpec("label", (3,),
                                    loss="sparse_categorical_crossentropy")], ["a", "b", "c"])
    assert header == ["row", "label", "label_p_a", "label_p_b", "label_p_c"] and rows[1][1] == "b"


def test_a_saved_weightless_encoding_too_wide_for_memory_is_refused_from_its_text(tmp_path) -> None:
    """CategoryEncoding(num_tokens=100_000_000) has no weights to count: loaded and run, 9 GB for 30 rows."""
    import json
    import zipfile

    import kzoo
    from kzoo._store.saving import check_network_size

    def saved(num_tokens: int, mode: str = "one_hot", kind: str = "CategoryEncoding"):
        config = {"class_name": "Functional", "config": {"layers": [
            {"module": "keras.layers", "class_name": kind,
             "config": {"name": "codes", "num_tokens": num_tokens, "output_mode": mode}}]}}
        path = tmp_path / f"{kind}{num_tokens}{mode}.keras"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", json.dumps(config))
            archive.writestr("model.weights.h5", b"\0" * 1000)
        return str(path)

    with pytest.raises(kzoo.DataError, match=r"its layer 'codes', which encodes each row into 100,000,000 values, "
                                             r"for a batch of 256 rows would need about .*Not loaded"):
        check_network_size(saved(100_000_000))
    check_network_size(saved(1_000))  # an ordinary one-hot of a thousand categories
    check_network_size(saved(100_000_000, mode="int", kind="IntegerLookup"))  # one integer a row: not wide


# -- 3. one memory budget: activations, evaluation, prediction tables, long text cells ------------------
def wide_cnn(input_shape=(128, 128, 3), num_classes=2):
    """A CNN whose activations (128x128x16 a sample) far outweigh its 450 parameters."""
    import keras

    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(x))


def test_a_training_batch_whose_activations_exceed_the_budget_is_one_line(monkeypatch) -> None:
    """The parameter check passed MobileNetV3Small at input_shape=3000,3000,3: its batch of 8 grew past 24 GB."""
    import kzoo

    builder = kzoo.model(wide_cnn, name="wide_cnn")
    monkeypatch.setenv("KZOO_MAX_MEMORY", "64M")
    values = 128 * 128 * 3 + 128 * 128 * 16 + 16 + 2  # every layer's output: input, conv, pooled, dense
    with pytest.raises(kzoo.DataError, match=rf"training 'functional\w*' on batches of 128 at input 128x128x3 "
                                             rf"\({values:,} activation values a sample\) would need about 152\.0 MiB, "
                                             r"but the 64\.0 MiB KZOO_MAX_MEMORY allows; use a smaller batch_size"):
        kzoo.train(builder, "synthetic", samples=4, epochs=1, batch_size=128)
    result = kzoo.train(builder, "synthetic", samples=4, epochs=1, batch_size=4)  # 4 x 0.5M values: 8 MiB
    assert len(result.history["loss"]) == 1


def test_inference_lowers_its_batch_to_the_budget_and_refuses_one_sample_that_cannot_fit(monkeypatch) -> None:
    import numpy as np

    import kzoo
    from kzoo._engine import activations, fitting

    net = wide_cnn()
    x = np.random.default_rng(0).random((6, 128, 128, 3), dtype="float32")
    whole = fitting.predict(net, x)
    _, peak = activations.values_per_sample(net)
    monkeypatch.setenv("KZOO_MAX_MEMORY", str(2 * peak * 4 * 2))  # two samples' largest layer, in and out
    assert activations.inference_batch(net, 1024) == 2
    np.testing.assert_allclose(fitting.predict(net, x), whole, rtol=1e-5, atol=1e-6)
    monkeypatch.setenv("KZOO_MAX_MEMORY", "1M")
    with pytest.raises(kzoo.DataError, match=r"running 'functional\w*' on one sample at input 128x128x3 .*1\.0 MiB "
                                             r"KZOO_MAX_MEMORY allows"):
        fitting.predict(net, x)


def test_the_memory_budget_variable_is_checked_like_every_other(monkeypatch) -> None:
    import kzoo
    from kzoo._system import limits

    monkeypatch.setenv("KZOO_MAX_MEMORY", "lots")
    with pytest.raises(kzoo.ConfigError, match="KZOO_MAX_MEMORY='lots' is not a size"):
        limits.memory_budget()
    monkeypatch.setenv("KZOO_MAX_MEMORY", "2G")
    assert limits.memory_budget() == (2 * 2**30, "KZOO_MAX_MEMORY")


def test_evaluation_reads_predictions_in_chunks_with_the_same_metrics(monkeypatch, penguins) -> None:
    """60,000 classes x 60,000 rows of probabilities were 14 GB at once: evaluate grew past 9 GB."""
    import kzoo
    from kzoo._engine import wrapping
    from kzoo._workflow import inference

    table, model = penguins
    whole = kzoo.evaluate(model, table, target="species")
    calls = []
    predict = wrapping.predict
    monkeypatch.setattr(wrapping, "predict", lambda *a, **k: calls.append(len(a[2])) or predict(*a, **k))
    monkeypatch.setattr(inference, "EVALUATE_CHUNK_BYTES", 8 * 2 * 4)  # 8 rows of two probabilities
    chunked = kzoo.evaluate(model, table, target="species")
    assert calls == [8] * 5 and chunked == pytest.approx(whole, rel=1e-5)


def test_a_predictions_table_too_large_is_refused_before_the_model_predicts(monkeypatch, penguins) -> None:
    from kzoo._engine import wrapping

    table, model = penguins
    monkeypatch.setattr(wrapping, "predict", lambda *a, **k: pytest.fail("predicted before the size check"))
    monkeypatch.setenv("KZOO_MAX_MEMORY", "4K")
    one_line_error(run("predict", model, "--data", table), "a predictions table of 40 rows and 4 columns",
                   "KZOO_MAX_MEMORY")


def test_one_very_long_text_cell_costs_its_own_size_not_the_columns(tmp_path) -> None:
    """numpy's str dtype pads every cell to the longest: one 131,000-character cell cost 2 GB."""
    import kzoo
    from kzoo.datasets.files import read_csv

    rows = 400
    notes = [" ".join("xy"[(i + j) % 2] for j in range(i % 7 + 1)) for i in range(rows)]
    notes[5] = "w " * 65_500
    data = write_table(tmp_path / "notes.csv", {"a": [i / rows for i in range(rows)], "note": notes,
                                                 "y": [i % 2 for i in range(rows)]})
    column = read_csv(str(data), target=("y",)).text["note"]
    assert column.nbytes < 100_000, f"{column.nbytes:,} bytes for {rows} references"  # str dtype: 210 MB
    assert column[5] == notes[5].strip() and column[6] == notes[6]
    model = tmp_path / "m.keras"
    trained = run("train", "mlp", "--data", data, "--target", "y", "--epochs", "1", "--quiet", "--out", model)
    assert trained.exit_code == 0, trained.output
    header, predicted = kzoo.predict(model, data)
    assert len(predicted) == rows and header[:2] == ["row", "output"]
