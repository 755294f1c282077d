"""Hardening round 3 (issue 21): outputs never over inputs, bounded downloads and waits, sizes
before allocation, other people's broken packages. Each case ends in one kzoo error line (or a
correct success), and a refusal comes before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kzoo.cli import main


def kzoo_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def one_error_line(output: str) -> str:
    """The CLI's ``kzoo: error:`` line, asserting it is the only error and no traceback."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("kzoo: error:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "f.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    return path


# -- 5. no output over an input -----------------------------------------------------------------
def test_predict_out_over_its_data_is_refused(tmp_path, csv_file) -> None:
    before = csv_file.read_bytes()
    model = tmp_path / "m.keras"
    model.write_bytes(b"not even read: the refusal comes first")
    code, output = kzoo_cli("predict", model, "--data", csv_file, "--out", csv_file)
    assert code == 1
    assert "--out" in one_error_line(output) and "same file as the input --data" in output
    assert csv_file.read_bytes() == before


def test_predict_out_over_its_model_is_refused(tmp_path) -> None:
    model = tmp_path / "m.keras"
    model.write_bytes(b"model bytes")
    (tmp_path / "sub").mkdir()
    code, output = kzoo_cli("predict", model, "--data", "iris", "--out", tmp_path / "sub" / ".." / "m.keras")
    assert code == 1 and "same file as the input model" in one_error_line(output)
    assert model.read_bytes() == b"model bytes"


def test_an_output_reached_through_a_link_is_still_the_input(tmp_path, csv_file) -> None:
    link, hard = tmp_path / "link.csv", tmp_path / "hard.csv"
    link.symlink_to(csv_file)
    os.link(csv_file, hard)
    for alias in (link, hard):
        code, output = kzoo_cli("predict", tmp_path / "m.keras", "--data", csv_file, "--out", alias)
        assert code == 1 and "same file as the input --data" in one_error_line(output)


def test_train_metrics_over_the_data_is_refused_before_reading_it(csv_file) -> None:
    before = csv_file.read_bytes()
    code, output = kzoo_cli("train", "mlp", "--data", csv_file, "--target", "y", "--epochs", "1",
                            "--metrics-out", csv_file)
    assert code == 1 and "--metrics-out" in one_error_line(output) and "--data" in output
    assert csv_file.read_bytes() == before


def test_two_outputs_of_one_run_cannot_share_a_path(tmp_path) -> None:
    out = tmp_path / "m.keras"
    code, output = kzoo_cli("train", "mlp", "--data", "iris", "--epochs", "1", "--out", out, "--metrics-out", out)
    assert code == 1 and "same file as the output --out" in one_error_line(output)
    assert not out.exists()


def test_the_model_cannot_be_written_over_the_checkpoint(tmp_path) -> None:
    ckpt = tmp_path / "ckpt"
    code, output = kzoo_cli("train", "mlp", "--data", "iris", "--epochs", "1", "--checkpoint-dir", ckpt,
                            "--out", ckpt / "checkpoint.keras")
    assert code == 1 and "--checkpoint-dir" in one_error_line(output)


def test_the_python_api_refuses_too(tmp_path, csv_file) -> None:
    import kzoo

    with pytest.raises(kzoo.ConfigError, match="metrics_out .* same file as the input data"):
        kzoo.train("mlp", csv_file, target="y", epochs=1, metrics_out=csv_file)


# -- 4/9/10. output paths that are not plain files in existing folders --------------------------------
def test_predict_out_into_a_missing_folder_is_refused_and_creates_nothing(tmp_path, csv_file) -> None:
    out = tmp_path / "nonexistent" / "dir" / "p.csv"
    code, output = kzoo_cli("predict", tmp_path / "m.keras", "--data", csv_file, "--out", out)
    assert code == 1 and "does not exist" in one_error_line(output)
    assert not (tmp_path / "nonexistent").exists()


def test_an_output_that_is_a_device_or_pipe_is_refused(tmp_path, csv_file) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (fifo, Path(os.devnull)):
        code, output = kzoo_cli("predict", tmp_path / "m.keras", "--data", csv_file, "--out", target)
        assert code == 1 and "not a regular file" in one_error_line(output)
    assert fifo.exists() and not fifo.is_file()


@pytest.mark.parametrize("command", ["predict", "train"])
def test_a_file_name_too_long_is_one_line(tmp_path, csv_file, command) -> None:
    out = tmp_path / ("x" * 300 + ".keras")
    args = (["predict", tmp_path / "m.keras", "--data", csv_file] if command == "predict"
            else ["train", "mlp", "--data", "iris", "--epochs", "1"])
    code, output = kzoo_cli(*args, "--out", out)
    assert code == 1 and "too long" in one_error_line(output)


# -- 4. small things ------------------------------------------------------------------------------
def test_a_non_image_file_in_a_class_folder_is_left_out_with_a_note(tmp_path) -> None:
    import numpy as np
    from PIL import Image

    import kzoo
    from kzoo.datasets.images import read_images

    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(np.full((4, 4), 40 * i, "uint8")).save(tmp_path / label / f"{i}.png")
    (tmp_path / "cat" / "notes.txt").write_text("where these came from")
    with pytest.warns(kzoo.CsvNote, match=r"left out 1 file.*notes\.txt"):
        table = read_images(str(tmp_path), kzoo.TensorSpec("image", (4, 4, 1)))
    assert table.num_samples == 4 and table.class_names == ["cat", "dog"]
    assert not any(p.endswith(".txt") for p in table.paths)


def test_the_not_numeric_advice_on_predict_does_not_say_target() -> None:
    import numpy as np

    import kzoo
    from kzoo.datasets.shaping import text_assignments
    from kzoo.datasets.table import Table

    def table(target):
        return Table(features=np.zeros((2, 0), "float32"), feature_names=[], source="d.csv",
                     text={"note": np.array(["a", "b"])}, target=target)

    inputs = [kzoo.TensorSpec("input", (3,))]
    with pytest.raises(kzoo.DataError, match="not numeric") as predicting:
        text_assignments(inputs, table(None))
    assert "target" not in str(predicting.value) and "remove the column" in str(predicting.value)
    with pytest.raises(kzoo.DataError, match="make it the target"):
        text_assignments(inputs, table(np.array([0, 1])))


def test_a_train_result_prints_as_a_summary() -> None:
    from kzoo._workflow.training import TrainResult

    history = {"loss": [0.5] * 1000, "accuracy": [0.9] * 1000}
    result = TrainResult(model=None, history=history, metrics={"loss": 0.5, "accuracy": 0.9}, initial_epoch=0,
                         epochs=1000, metadata={"history": history}, stop_reason="trained all 1000 epochs")
    text = repr(result)
    assert len(text) < 300 and "epochs=1000" in text and "accuracy=0.9" in text and "trained all" in text


def test_every_public_name_is_in_dir_of_kzoo() -> None:
    import kzoo

    names = dir(kzoo)
    assert {"train", "export_model", "predict", "evaluate", "load", "datasets"} <= set(names)
    assert set(kzoo.__all__) <= set(names)


@pytest.mark.parametrize("args, words", [
    (["evaluate", "m.keras"], "missing option '-d' / '--data'"),
    (["train"], "missing argument 'MODEL'"),
    (["train", "mlp", "--data", "iris", "--epoch", "3"], "no such option '--epoch'"),
])
def test_usage_errors_are_one_line_and_exit_2(args, words) -> None:
    code, output = kzoo_cli(*args)
    assert code == 2
    assert output.strip() == one_error_line(output) and words in output and "--help" in output
