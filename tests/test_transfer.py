"""Transfer learning, start to end, on an ImageNet architecture and a folder of photos.

Nothing may be downloaded here, so the "pretrained" weights are a small mobilenet_v3_small of our
own, registered as weights like any plugin's, and the photos are scikit-learn's digits written as
class sub-folders by ``scripts/digits_photos.py``. Stage one puts a new head on the frozen
backbone; stage two unfreezes the backbone's top from the saved stage-one model; the model then
predicts raw images the same way through ``kzoo predict``, ``kzoo.load`` and ONNX.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kzoo
from kzoo._store.saving import read_metadata
from kzoo._weights.digest import digest_of
from kzoo._weights.finetune import weighted_layers
from kzoo.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from digits_photos import write_digits_photos  # noqa: E402

MODEL = "mobilenet_v3_small"
TINY = {"input_shape": (32, 32, 3), "alpha": 0.75, "minimalistic": True}
SET = ["--set", "input_shape=32,32,3", "--set", "alpha=0.75", "--set", "minimalistic=true"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Three classes of ten 40x40 photos each: the reader resizes them to the model's 32x32."""
    return write_digits_photos(tmp_path_factory.mktemp("photos") / "photos", (0, 1, 7), per_class=10, size=40)


@pytest.fixture(scope="module")
def source_file(tmp_path_factory, photos) -> tuple[Path, dict]:
    """"ImageNet" weights of our own: the model at TINY with a five-class head, as a weights file,
    and every layer's weights by name. Its BatchNorm statistics are those of the photos (a
    random network's defaults, mean 0 and variance 1, fade every image to the same features)."""
    import keras

    keras.utils.set_random_seed(7)
    net = kzoo.build(MODEL, **TINY, num_classes=5)
    norms = [layer for layer in weighted_layers(net) if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0  # one pass in training mode sets the statistics to the batch's
    net({"image": decoded(photos / "digit_0")[1].astype("float32")}, training=True)
    path = tmp_path_factory.mktemp("source") / "tiny.weights.h5"
    net.save_weights(path)
    return path, {layer.name: layer.get_weights() for layer in weighted_layers(net)}


class WeightsPlugin:
    def __init__(self, card: kzoo.Weights) -> None:
        self.card = card

    @kzoo.hookimpl
    def kzoo_register_weights(self, register):
        register(self.card)


@pytest.fixture
def pretrained(source_file) -> dict:
    """``mobilenet_v3_small.tiny`` registered (the conftest unregisters it after each test)."""
    path, layers = source_file
    kzoo.register_plugin(WeightsPlugin(kzoo.Weights(
        model=MODEL, name="tiny", source=str(path), sha256=digest_of(path), config={**TINY, "num_classes": 5},
        license="CC0-1.0", description="random weights standing in for ImageNet's")), "tiny_weights")
    return layers


@pytest.fixture(scope="module")
def stages(tmp_path_factory, photos, source_file) -> dict:
    """Both stages run once from the CLI for the tests below: their outputs and logs."""
    path, _ = source_file
    folder = tmp_path_factory.mktemp("stages")
    logs = {}
    for stage, extra in (("s1", ["--weights", "tiny", "--freeze"]),
                         ("s2", ["--weights", folder / "s1.keras", "--unfreeze-top", 6, "--learning-rate", 1e-4])):
        kzoo._zoo.plugins.reset()
        kzoo.register_plugin(WeightsPlugin(kzoo.Weights(
            model=MODEL, name="tiny", source=str(path), sha256=digest_of(path), config={**TINY, "num_classes": 5})),
            "tiny_weights")
        result = run("train", MODEL, "--data", photos, *SET, *extra, "--epochs", 2, "--batch-size", 8,
                     "--out", folder / f"{stage}.keras")
        assert result.exit_code == 0, result.output
        logs[stage] = result.stderr
    kzoo._zoo.plugins.reset()
    return {"folder": folder, "logs": logs}


def layers_of(path: Path) -> dict:
    return {layer.name: layer for layer in weighted_layers(kzoo.load(path))}


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_stage_one_puts_a_new_head_on_the_frozen_backbone(stages, source_file):
    _, source = source_file
    meta = read_metadata(stages["folder"] / "s1.keras")
    recorded = meta["weights"]
    assert meta["config"]["num_classes"] == 3 and meta["data"]["class_names"] == ["digit_0", "digit_1", "digit_7"]
    assert recorded["name"] == f"{MODEL}.tiny" and recorded["new_head"] and recorded["rebuilt"] == []
    head = set(recorded["head"])
    assert head and head.isdisjoint(recorded["frozen"])
    assert set(recorded["frozen"]) | head == set(source) | head  # everything else is frozen backbone
    trained = layers_of(stages["folder"] / "s1.keras")
    for name in recorded["frozen"]:  # kernels and BatchNorm statistics alike: untouched
        assert same(trained[name].get_weights(), source[name]), name
    for name in head:  # fresh, then trained: nothing of the source's five-class head is left
        assert name not in source or not same(trained[name].get_weights(), source[name]), name
    line = next(line for line in stages["logs"]["s1"].splitlines() if "fine-tuning" in line)
    assert line.startswith(f"kzoo: fine-tuning from {MODEL}.tiny: kept ") and "new head: " in line


def test_stage_two_unfreezes_the_top_and_keeps_batch_norm_in_inference_mode(stages):
    import keras

    s1 = layers_of(stages["folder"] / "s1.keras")
    meta = read_metadata(stages["folder"] / "s2.keras")
    recorded = meta["weights"]
    assert recorded["name"] == str(stages["folder"] / "s1.keras") and not recorded["new_head"]
    assert recorded["rebuilt"] == [] and recorded["kept"] == len(s1), "a second stage keeps everything, head too"
    order = list(s1)
    head = set(recorded["head"])
    backbone = [n for n in order if n not in head]
    unfrozen = [n for n in backbone if n not in recorded["frozen"]]
    top = backbone[-6:]
    assert unfrozen == [n for n in top if not isinstance(s1[n], keras.layers.BatchNormalization)]
    assert all(isinstance(s1[n], keras.layers.BatchNormalization) for n in top if n in recorded["frozen"])
    s2 = layers_of(stages["folder"] / "s2.keras")
    for name in recorded["frozen"]:
        assert same(s2[name].get_weights(), s1[name].get_weights()), name
    assert any(not same(s2[n].get_weights(), s1[n].get_weights()) for n in unfrozen), "the top trained"


def decoded(folder: Path) -> tuple[list[str], np.ndarray]:
    """The folder's images as raw uint8 RGB arrays at the model's size, as a user would pass them."""
    from PIL import Image

    paths = sorted(str(p) for p in folder.iterdir())
    return paths, np.stack([np.asarray(Image.open(p).convert("RGB").resize((32, 32), Image.BILINEAR))
                            for p in paths])


def test_the_trained_model_predicts_raw_images_alike_everywhere(stages, photos, tmp_path):
    model = stages["folder"] / "s2.keras"
    predicted = run("predict", model, "--data", photos / "digit_7")
    assert predicted.exit_code == 0, predicted.output
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    paths, images = decoded(photos / "digit_7")
    assert [r["path"] for r in rows] == paths and images.dtype == np.uint8
    columns = [c for c in rows[0] if "_p_" in c]
    assert [c.split("_p_")[1] for c in columns] == ["digit_0", "digit_1", "digit_7"]
    cli = np.array([[float(r[c]) for c in columns] for r in rows])
    loaded = np.asarray(kzoo.load(model).predict(images, verbose=0))
    assert loaded.std(axis=0).max() > 1e-3, "the images get different answers"
    np.testing.assert_allclose(loaded, cli, atol=1e-5)
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tf2onnx") is None:
        pytest.skip("ONNX parity needs kzoo[export]")
    import onnxruntime

    onnx = tmp_path / "m.onnx"
    exported = run("export", model, "--format", "onnx", "--output", onnx)
    assert exported.exit_code == 0, exported.output
    session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: images.astype("float32")}
    np.testing.assert_allclose(session.run(None, feed)[0], loaded, atol=1e-4)


def test_evaluate_on_the_folder_scores_what_predict_answers(stages, photos):
    """``kzoo evaluate`` reads the class folders as training did: its accuracy is the share of
    pictures whose most probable class in ``kzoo predict``'s table is their folder."""
    model = stages["folder"] / "s2.keras"
    evaluated = run("evaluate", model, "--data", photos, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout)
    assert set(metrics) == {"loss", "accuracy"} and np.isfinite(metrics["loss"])
    predicted = run("predict", model, "--data", photos)
    assert predicted.exit_code == 0, predicted.output
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    assert len(rows) == 30
    columns = [c for c in rows[0] if "_p_" in c]
    right = [Path(r["path"]).parent.name == columns[int(np.argmax([float(r[c]) for c in columns]))].split("_p_")[1]
             for r in rows]
    assert metrics["accuracy"] == pytest.approx(np.mean(right), abs=1e-6)


def test_python_api_runs_the_same_two_stages(photos, pretrained, tmp_path):
    stage1 = kzoo.train(MODEL, photos, config=TINY, weights="tiny", freeze=True, epochs=1, batch_size=8,
                        out=tmp_path / "s1.keras")
    assert stage1.metadata["weights"]["new_head"]
    stage2 = kzoo.train(MODEL, photos, config=TINY, weights=tmp_path / "s1.keras", unfreeze_top=3, epochs=1,
                        learning_rate=1e-4, batch_size=8)
    assert stage2.metadata["weights"]["kept"] == len(weighted_layers(stage1.model))


@pytest.mark.parametrize("args, message", [
    (["--unfreeze-top", 3], "--unfreeze-top 3 (expected weights to fine-tune from"),
    (["--weights", "tiny", "--unfreeze-top", 0], "--unfreeze-top 0 (expected a number of layers >= 1"),
    (["--weights", "tiny", "--unfreeze-top", 2, "--freeze-until", "conv"], "unfreeze_top or freeze_until, not both"),
    (["--weights", "missing.keras"], "no such file"),
])
def test_bad_transfer_options_are_one_line_and_write_nothing(photos, pretrained, tmp_path, args, message):
    out = tmp_path / "m.keras"
    result = run("train", MODEL, "--data", photos, *SET, "--epochs", 1, "--out", out, *args)
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message.replace("_", "-") in lines[0].replace("_", "-"), result.stderr
    assert not out.exists()


def test_a_saved_model_of_another_architecture_is_refused(photos, tmp_path):
    other = tmp_path / "mlp.keras"
    assert run("train", "mlp", "--data", "iris", "--epochs", 1, "--quiet", "--out", other).exit_code == 0
    result = run("train", MODEL, "--data", photos, *SET, "--weights", other, "--epochs", 1)
    assert result.exit_code == 1 and "holds model 'mlp', not 'mobilenet_v3_small'" in result.stderr
