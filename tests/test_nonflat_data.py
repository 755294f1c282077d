"""Data that is not a flat row: a decorated plugin installed as a real distribution trains on
digits reshaped to images; image folders; text columns."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo import datasets

from .conftest import run_kzoo
from .distributions import pip_install
from .test_declared import TINY_PLUGIN, tiny_params

keras = pytest.importorskip("keras")

LIST_PROBE = """
import json, sys
from kzoo.cli import main
try:
    main(["list", "--json"])
except SystemExit:
    pass
print("HEAVY:", json.dumps([m for m in ("keras", "tensorflow") if m in sys.modules]), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's ``kzoo_tiny`` plugin: one decorated function, its manifest as package data,
    pip-installed (not editable) into a folder of its own."""
    root = tmp_path_factory.mktemp("tiny")
    project = root / "kzoo-tiny"
    (project / "kzoo_tiny").mkdir(parents=True)
    (project / "kzoo_tiny/__init__.py").write_text(textwrap.dedent(TINY_PLUGIN.format(name="tiny_cnn")))
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "kzoo-tiny"
        version = "0.1.0"

        [project.entry-points.kzoo]
        tiny = "kzoo_tiny"

        [tool.setuptools]
        packages = ["kzoo_tiny"]

        [tool.setuptools.package-data]
        kzoo_tiny = ["kzoo-manifest.json"]
        """))
    written = run_kzoo("manifest", str(project / "kzoo_tiny"), env={"PYTHONPATH": str(project)})
    assert written.returncode == 0, written.stderr
    site = root / "site"
    pip_install(project, site)
    assert (site / "kzoo_tiny/kzoo-manifest.json").is_file(), "the manifest ships as package data"
    return site


def test_installed_decorated_plugin_lists_its_size_without_keras(tiny_site: Path) -> None:
    env = {"PYTHONPATH": str(tiny_site), "TF_CPP_MIN_LOG_LEVEL": "2"}
    import os

    out = subprocess.run([sys.executable, "-c", LIST_PROBE], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    models = {m["name"]: m for m in json.loads(out.stdout)}
    tiny = models["tiny_cnn"]
    assert (tiny["plugin"], tiny["params"], tiny["api"]) == ("tiny", tiny_params(), ["functional"])
    assert tiny["inputs"][0]["shape"] == [8, 8, 1] and tiny["outputs"][0]["loss"] == "sparse_categorical_crossentropy"
    assert "HEAVY: []" in out.stderr


def test_installed_decorated_plugin_trains_on_digits_as_images(tiny_site: Path, tmp_path: Path) -> None:
    model = tmp_path / "cnn.keras"
    env = {"PYTHONPATH": str(tiny_site)}
    trained = run_kzoo("train", "tiny_cnn", "--data", "digits", "--epochs", "2", "--quiet", "--out", str(model), env=env)
    assert trained.returncode == 0, trained.stderr
    evaluated = run_kzoo("evaluate", str(model), "--data", "digits", "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert set(json.loads(evaluated.stdout)) == {"accuracy", "loss"}


# -- reshape ------------------------------------------------------------------------------------
@kzoo.model
def grid_cnn(input_shape=(8, 8, 1), num_classes=10):
    """Conv2D over an image-shaped input."""
    image = keras.Input(input_shape, name="image")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))


@kzoo.model
def review_model(vocab_size=40, num_classes=2):
    """Averaged word embeddings of one text."""
    ids = keras.Input((None,), dtype="int32", name="review")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocab_size, 8)(ids))
    return keras.Model(ids, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))


class Models:
    @kzoo.hookimpl
    def kzoo_register_models(self, register):
        register(grid_cnn)
        register(review_model)


@pytest.fixture
def models() -> None:
    kzoo.register_plugin(Models(), "nonflat")


def test_table_features_fill_an_input_of_the_same_size(models) -> None:
    data = datasets.load("digits", "grid_cnn")
    assert data.x["image"].shape == (1797, 8, 8, 1)
    mlp = datasets.load("digits", "mlp")  # the same features, flat
    # Row-major: pixel (row 2, column 3) is feature 2 * 8 + 3.
    assert data.x["image"][5, 2, 3, 0] == mlp.x["input"][5, 19]
    np.testing.assert_array_equal(data.x["image"].reshape(1797, -1), mlp.x["input"])


# -- image folders --------------------------------------------------------------------------------
@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Digits written as PNG files, one sub-folder per class (three classes)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = tmp_path / "images"
    for i in np.flatnonzero(digits.target < 3)[:45]:
        folder = root / f"class_{digits.target[i]}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((digits.images[i] * 15).astype("uint8")).resize((16, 16)).save(folder / f"{i}.png")
    return root


def test_image_folder_trains_evaluates_and_predicts_from_the_cli(models, image_folder: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kzoo.cli import main

    out = tmp_path / "cnn.keras"
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "grid_cnn", "--data", str(image_folder), "--epochs", "2", "--quiet",
                                   "--out", str(out)])
    assert trained.exit_code == 0, trained.output
    from kzoo._store.saving import read_metadata

    meta = read_metadata(out)
    assert meta["config"]["num_classes"] == 3, "the class count comes from the sub-folders"
    assert meta["data"]["class_names"] == ["class_0", "class_1", "class_2"]
    evaluated = runner.invoke(main, ["evaluate", str(out), "--data", str(image_folder), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    predicted = runner.invoke(main, ["predict", str(out), "--data", str(image_folder / "class_1")])
    assert predicted.exit_code == 0, predicted.output
    assert "16x16, resized to the model's 8x8 input" in predicted.stderr, "said, not silent"
    rows = list(csv.reader(predicted.stdout.splitlines()))
    assert rows[0][:3] == ["row", "path", "label"]
    assert len(rows) == 1 + len(list((image_folder / "class_1").iterdir()))
    assert all(row[1].endswith(".png") and row[2].startswith("class_") for row in rows[1:])


def test_an_image_models_export_answers_image_files_as_kzoo_predict_does(models, image_folder: Path,
                                                                          tmp_path: Path) -> None:
    """Issue 35: 16x16 files silently became the export's 8x8 input; the side file now says how."""
    pytest.importorskip("tf2onnx")
    import onnxruntime
    from PIL import Image

    model, target = tmp_path / "cnn.keras", tmp_path / "cnn.onnx"
    kzoo.train("grid_cnn", image_folder, epochs=2, out=model)
    result = kzoo.export_model(model, "onnx", target)
    assert result.checked_on == "image files, decoded and resized by kzoo" and result.max_abs_diff <= 1e-4
    side = json.loads(Path(result.inputs_file).read_text())["inputs"]["image"]
    assert side["shape"] == [8, 8, 1] and side["channels"] == "grey" and side["resize"].startswith("bilinear")

    files = sorted((image_folder / "class_1").iterdir())
    header, rows = kzoo.predict(model, image_folder / "class_1")
    resized = [np.asarray(Image.open(f).convert("L").resize((8, 8), Image.BILINEAR), "float32") for f in files]
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(None, {session.get_inputs()[0].name: np.stack(resized)[..., None]})
    np.testing.assert_allclose(probabilities, [row[3:6] for row in rows], atol=1e-4)


def test_images_are_resized_and_converted_to_the_input(models, image_folder: Path) -> None:
    # The folder's images are all 16x16: resizing them is said, with the setting that keeps their size.
    with pytest.warns(kzoo.CsvNote, match=r"45 image\(s\) are 16x16, resized to the model's 10x12 input .*"
                                          r"input_shape=16,16,3"):
        data = datasets.load(str(image_folder), "grid_cnn", {"input_shape": (12, 10, 3)})
    assert data.x["image"].shape == (45, 12, 10, 3)
    assert data.x["image"].max() <= 255 and data.x["image"].max() > 16, "pixels stay 0..255"
    assert len(data.paths) == 45


def test_a_bad_image_file_is_one_line_or_skipped(models, image_folder: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kzoo.cli import main

    bad = image_folder / "class_0" / "notes.png"
    bad.write_text("not an image")
    out = tmp_path / "m.keras"
    failed = CliRunner().invoke(main, ["train", "grid_cnn", "--data", str(image_folder), "--epochs", "1", "--quiet",
                                       "--out", str(out)])
    assert failed.exit_code == 1
    (line,) = failed.output.strip().splitlines()
    assert line.startswith(f"kzoo: error: {bad}: not a readable image") and "--skip-bad-files" in line
    assert not out.exists()
    with pytest.warns(UserWarning, match="skipped 1 file"):
        data = datasets.load(str(image_folder), "grid_cnn", skip_bad_files=True)
    assert data.num_samples == 45


def test_images_need_a_model_with_one_image_input(image_folder: Path) -> None:
    with pytest.raises(kzoo.DataError, match="image folders feed models with one image input"):
        datasets.load(str(image_folder), "mlp")


# -- text -----------------------------------------------------------------------------------------
GOOD = ["great", "lovely", "superb", "fun", "moving"]
BAD = ["dull", "awful", "boring", "weak", "messy"]


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    """A small generated review corpus: positive reviews use positive words."""
    rng = np.random.default_rng(0)
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "stars", "label"])
        for i in range(120):
            good = i % 2 == 0
            words = rng.choice(GOOD if good else BAD, size=rng.integers(3, 9))
            writer.writerow([" ".join(["the", "film", "was", *words]), 4 if good else 2, "pos" if good else "neg"])
    return path


def test_a_text_column_trains_and_its_vocabulary_is_reused(models, reviews: Path, tmp_path: Path) -> None:
    out = tmp_path / "text.keras"
    result = kzoo.train("review_model", reviews, target="label", inputs={"review": ["review"]}, epochs=30,
                        learning_rate=0.05, out=out)
    assert result.metrics["accuracy"] > 0.9
    text = result.metadata["data"]["text"]["review"]
    assert text["vocabulary"][:2] == ["", "[UNK]"] and set(GOOD + BAD) <= set(text["vocabulary"])
    assert text["length"] == 11, "the longest review: 3 + 8 words"
    from kzoo._workflow.inference import evaluate_file, predict_file

    assert evaluate_file(out, reviews)["accuracy"] == pytest.approx(result.metrics["accuracy"], abs=0.02)
    header, rows = predict_file(out, reviews)
    assert header[:2] == ["row", "label"] and {row[1] for row in rows} <= {"pos", "neg"}


def tokenize_by_the_side_file(text: str, rule: dict) -> list[int]:
    """What an ONNX user does with ``<export>.inputs.json``, in plain Python: its stated rule."""
    import re
    import string

    assert rule["tokenize"].startswith("lowercase, strip punctuation")
    index = {word: i for i, word in enumerate(rule["vocabulary"]) if i >= 2}
    words = re.sub(f"[{re.escape(string.punctuation)}]", "", text.lower()).split()
    ids = [index.get(word, 1) for word in words][:rule["length"]]
    return ids + [0] * (rule["length"] - len(ids))


def test_a_text_models_export_answers_raw_text_as_kzoo_predict_does(models, reviews: Path, tmp_path: Path) -> None:
    """Issue 35: the ONNX export of a text model took token ids with no vocabulary beside it, and
    was checked on generated ids, not on text."""
    pytest.importorskip("tf2onnx")
    import onnxruntime

    model, target = tmp_path / "text.keras", tmp_path / "text.onnx"
    kzoo.train("review_model", reviews, target="label", inputs={"review": ["review"]}, epochs=30,
               learning_rate=0.05, out=model)
    result = kzoo.export_model(model, "onnx", target)
    assert result.checked_on == "raw texts, tokenized by kzoo" and result.encode == ("review",)
    assert result.encoding == "token ids" and result.max_abs_diff <= 1e-4
    side = json.loads(Path(result.inputs_file).read_text())
    saved = kzoo._store.saving.read_metadata(model)["data"]["text"]["review"]
    assert side["inputs"]["review"]["vocabulary"] == saved["vocabulary"] and side["class_names"] == ["neg", "pos"]

    texts = ["The film was GREAT, lovely; superb!", "the film was dull... awful, and boring", "Fun? Moving. unheardof"]
    raw = tmp_path / "raw.csv"
    with open(raw, "w", newline="") as f:
        csv.writer(f).writerows([["review"], *[[t] for t in texts]])
    header, rows = kzoo.predict(model, raw)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    ids = np.array([tokenize_by_the_side_file(t, side["inputs"]["review"]) for t in texts], dtype="int32")
    (probabilities,) = session.run(None, {session.get_inputs()[0].name: ids})
    assert [side["class_names"][i] for i in probabilities.argmax(axis=1)] == [row[1] for row in rows]
    np.testing.assert_allclose(probabilities, [row[2:4] for row in rows], atol=1e-4)


def test_the_vocabulary_is_learnt_from_training_rows_only(models, reviews: Path, tmp_path: Path) -> None:
    rows = list(csv.reader(reviews.open()))
    rows = rows[:1] + [[f"{r[0]} unique{i}", r[1], r[2]] for i, r in enumerate(rows[1:])]
    path = tmp_path / "marked.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    data = datasets.load(str(path), "review_model", target="label", inputs={"review": ["review"]},
                         val_split=0.25, seed=3)
    from kzoo.datasets.splits import class_labels, split_rows

    train, val = split_rows(data.num_samples, class_labels(data.y), 0.25, 3)
    vocabulary = set(data.meta["text"]["review"]["vocabulary"])
    assert {f"unique{i}" for i in val}.isdisjoint(vocabulary), "no validation word leaks into the vocabulary"
    assert data.x["review"].dtype == np.int32 and data.x["review"].max() < 40


def test_a_text_column_without_a_sequence_input_is_a_category(reviews: Path) -> None:
    # The mlp has no sequence input to tokenize for: text is a category, and these reviews all
    # differ, so the column is an identifier, left out with a note saying how to keep it.
    with pytest.warns(kzoo.CsvNote, match="column 'review' left out: a per-row identifier.*--input|inputs"):
        data = datasets.load(str(reviews), "mlp", target="label")
    assert data.meta["plan"]["numeric"] == ["stars"] and data.meta["plan"]["categorical"] == []
    kept = datasets.load(str(reviews), "mlp", target="label", inputs={"input": ["stars", "review"]})
    (review,) = kept.meta["plan"]["categorical"]
    assert review["column"] == "review" and len(review["vocabulary"]) == 31  # the 31 most frequent, one-hot
    assert kept.config["input_dim"] == 1 + 1 + 31  # stars, the "other" slot, the values


def with_title(reviews: Path, folder: Path, names: tuple[str, str]) -> Path:
    """The reviews with a short text column (a title) before them; the columns named ``names``."""
    rows = list(csv.reader(reviews.open()))
    path = folder / "titled.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([[names[0], names[1], *rows[0][1:]]] +
                                [[f"t{i % 7}", *row] for i, row in enumerate(rows[1:])])
    return path


def test_a_text_column_named_as_the_sequence_input_feeds_it_and_another_is_named_to_drop(
        models, reviews: Path, tmp_path: Path) -> None:
    titled = with_title(reviews, tmp_path, ("title", "review"))
    with pytest.raises(kzoo.DataError, match=r"column 'title' .*sequence inputs are fed \(review=review\); "
                                             r"drop it with (--)?drop title"):
        datasets.load(str(titled), "review_model", target="label")
    data = datasets.load(str(titled), "review_model", target="label", drop=["title"])
    assert data.meta["text"]["review"]["length"] == 11, "the column named review fed the input named review"


def test_several_text_columns_for_one_sequence_input_propose_the_longest(models, reviews: Path, tmp_path: Path) -> None:
    titled = with_title(reviews, tmp_path, ("summary", "body"))
    with pytest.raises(kzoo.DataError, match=r"columns 'summary', 'body' hold text.*(--input|inputs) review=body "
                                             r"\(the longest text here\).*drop summary"):
        datasets.load(str(titled), "review_model", target="label")


def test_an_input_shape_too_large_for_memory_is_refused_before_any_image_is_decoded(models, image_folder) -> None:
    """--set input_shape=100000,100000,1 grew past 9 GB resizing the first image."""
    with pytest.raises(kzoo.DataError, match=r"45 image\(s\) at the model's 100000x100000x1 input would need about "
                                             r".*input_shape=H,W,C"):
        datasets.load(str(image_folder), "grid_cnn", {"input_shape": (100000, 100000, 1)})
