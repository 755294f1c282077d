"""Keras's ImageNet weights as zoo weights (``NAME.imagenet``): every card equals what Keras's own
code downloads and checks; listing them needs no keras; fetching (kzoo's own bounded download) goes
into Keras's cache (a local HTTP server and a tiny MobileNetV3Small file of our own stand in for
Google's), a file failing its md5 or sha256 is refused and removed, KZOO_OFFLINE=1 never touches
the network, and a file that would leave a layer at random is refused."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo import Weights, WeightsError
from kzoo._weights import cache, finetune, pretrained

from ._cli import one_line_error, run
from .weights_server import Routes, serve

pytestmark = pytest.mark.usefixtures("release_models")  # full-size builds: free them after each test

TINY = {"input_shape": (32, 32, 3), "num_classes": 3, "alpha": 0.75, "minimalistic": True}
TINY_FILE = "models/kzoo_test_mobilenet_v3_small_tiny.h5"


def save_legacy_h5(model, path: Path) -> None:
    """``model``'s weights in the legacy HDF5 layout of Keras's published files."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The bytes of a tiny MobileNetV3Small's weights as Keras publishes them, built by Keras itself
    (not by kzoo), some raw images and Keras's predictions for them."""
    import keras

    source = keras.applications.MobileNetV3Small(
        weights=None, input_shape=TINY["input_shape"], classes=TINY["num_classes"], alpha=TINY["alpha"],
        minimalistic=TINY["minimalistic"], include_preprocessing=True, classifier_activation="softmax")
    for variable in source.weights:  # away from initial values, so a layer left unloaded shows
        variable.assign(np.random.default_rng(len(variable.path)).normal(0.0, 0.1, variable.shape).astype("float32"))
    path = tmp_path_factory.mktemp("tiny") / "tiny.h5"
    save_legacy_h5(source, path)
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    return path.read_bytes(), images, np.asarray(source.predict(images, verbose=0))


@pytest.fixture
def routes():
    with serve(Routes()) as r:
        yield r


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch) -> Path:
    """Keras's cache in a temporary folder: the real ~/.keras is never read or written."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("KZOO_CACHE_DIR", str(tmp_path / "kzoo"))
    monkeypatch.delenv("KZOO_OFFLINE", raising=False)
    return tmp_path / "keras"


class WeightsPlugin:
    def __init__(self, *weights: Weights) -> None:
        self.weights = weights

    @kzoo.hookimpl
    def kzoo_register_weights(self, register):
        for w in self.weights:
            register(w)


def card(url: str, body: bytes, algorithm: str = "md5") -> Weights:
    digest = {algorithm: hashlib.new(algorithm, body).hexdigest()}
    return Weights(model="mobilenet_v3_small", name="tiny", source=url, config=TINY, data={"source": "synthetic"},
                   keras_file=TINY_FILE, license="MIT", **digest)


def register(weights: Weights) -> Weights:
    kzoo.register_plugin(WeightsPlugin(weights), "tiny_imagenet")
    return kzoo.get_weights("mobilenet_v3_small.tiny")


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# -- fetching through Keras's cache ---------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_download_through_keras_then_build_predicts_as_the_source_model(routes, tiny, keras_home, algorithm):
    body, images, expected = tiny
    routes.files["/tiny.h5"] = body
    weights = register(card(routes.url("/tiny.h5"), body, algorithm))
    path = cache.fetch(weights, progress=False)
    assert path == keras_home / TINY_FILE and path.read_bytes() == body
    net = kzoo.build("mobilenet_v3_small.tiny")
    np.testing.assert_allclose(net.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert routes.requests == ["/tiny.h5"], "the second use reads Keras's cache"
    assert run("weights", "verify", "mobilenet_v3_small.tiny").exit_code == 0
    fetched = run("weights", "fetch", "mobilenet_v3_small.tiny")
    assert fetched.exit_code == 0 and f"({algorithm} {weights.digest[:12]}… verified)" in fetched.output


def test_a_tampered_file_in_keras_cache_is_refused_and_removed(routes, tiny, keras_home):
    body, _, _ = tiny
    routes.files["/tiny.h5"] = body
    weights = register(card(routes.url("/tiny.h5"), body))
    target = keras_home / TINY_FILE
    target.parent.mkdir(parents=True)
    target.write_bytes(body[:-10] + b"tampered!!")
    actual = hashlib.md5(target.read_bytes()).hexdigest()
    with pytest.raises(WeightsError, match=f"expected md5 {weights.md5}, got {actual}") as caught:
        kzoo.build("mobilenet_v3_small.tiny")
    assert "\n" not in str(caught.value) and "mobilenet_v3_small.tiny" in str(caught.value)
    assert not target.exists() and routes.requests == [], "refused, not silently downloaded again"


@pytest.mark.parametrize("served, message", [
    ("wrong", "failed their checksum: expected md5"),
    ("truncated", "failed their checksum: expected md5"),
    (None, "404"),
])
def test_a_bad_download_is_refused_and_leaves_nothing(routes, tiny, keras_home, served, message):
    body, _, _ = tiny
    if served == "wrong":
        routes.files["/tiny.h5"] = body[:-10] + b"other body"
    elif served == "truncated":
        routes.files["/tiny.h5"] = body[:1000]
    weights = register(card(routes.url("/tiny.h5"), body))
    one_line_error(run("weights", "fetch", weights.full_name), weights.full_name, message)
    if served is not None:
        actual = hashlib.md5(routes.files["/tiny.h5"]).hexdigest()
        one_line_error(run("weights", "fetch", weights.full_name), f"expected md5 {weights.md5}, got {actual}")
    assert files(keras_home) == [] and len(routes.requests) == (1 if served is None else 2)


def test_a_keras_file_is_downloaded_within_kzoos_size_cap(routes, tiny, keras_home, monkeypatch):
    """keras.utils.get_file, used before, had no bound: a server streaming zeros filled 910 MiB in 25 s."""
    body, _, _ = tiny
    routes.files["/tiny.h5"] = body
    weights = register(card(routes.url("/tiny.h5"), body))
    monkeypatch.setenv("KZOO_MAX_DOWNLOAD_BYTES", str(len(body) // 2))
    one_line_error(run("weights", "fetch", weights.full_name), weights.full_name, "KZOO_MAX_DOWNLOAD_BYTES")
    assert files(keras_home) == [], "nothing half-written in Keras's cache"


def test_offline_never_downloads_and_names_the_file_and_its_url(routes, tiny, keras_home, monkeypatch):
    body, images, expected = tiny
    routes.files["/tiny.h5"] = body
    weights = register(card(routes.url("/tiny.h5"), body))
    monkeypatch.setenv("KZOO_OFFLINE", "1")
    one_line_error(run("weights", "fetch", weights.full_name), "KZOO_OFFLINE is set",
                   str(keras_home / TINY_FILE), routes.url("/tiny.h5"))
    with pytest.raises(WeightsError, match="KZOO_OFFLINE"):
        kzoo.build("mobilenet_v3_small.tiny")
    assert routes.requests == [] and files(keras_home) == []
    (keras_home / TINY_FILE).parent.mkdir(parents=True)
    (keras_home / TINY_FILE).write_bytes(body)  # a seeded cache: what Keras would have left there
    net = kzoo.build("mobilenet_v3_small.tiny")
    np.testing.assert_allclose(net.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert routes.requests == []


# -- loading: every layer of the architecture, or an error ---------------------------------------
def dense_stack(*layers):
    import keras

    inputs = keras.Input((4,), name="x")
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def test_only_kzoo_constant_layers_may_be_missing_from_a_keras_file(tmp_path):
    import keras

    source = dense_stack(keras.layers.Dense(5, name="a"), keras.layers.Dense(2, name="b"))
    path = tmp_path / "source.h5"
    save_legacy_h5(source, path)
    constant = keras.layers.Dense(4, name="preprocess", trainable=False, kernel_initializer="identity")
    target = dense_stack(constant, keras.layers.Dense(5, name="a_1"), keras.layers.Dense(2, name="b_1"))
    kept = [w.copy() for w in constant.get_weights()]
    pretrained.load_keras_file(target, str(path))  # in order, as Keras loads: names need not match
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(target.predict(x, verbose=0), source.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(kept, constant.get_weights()))
    trainable = dense_stack(keras.layers.Dense(4, name="extra"), keras.layers.Dense(5), keras.layers.Dense(2))
    with pytest.raises(WeightsError, match="the file holds weights for 2 layers, the model has 3 .*none for extra"):
        pretrained.load_keras_file(trainable, str(path))
    fewer = dense_stack(keras.layers.Dense(2))
    with pytest.raises(WeightsError, match="the file holds weights for 2 layers, the model has 1"):
        pretrained.load_keras_file(fewer, str(path))


def test_a_keras_file_for_another_config_is_one_line(routes, tiny, keras_home):
    body, _, _ = tiny
    routes.files["/tiny.h5"] = body
    register(card(routes.url("/tiny.h5"), body))
    with pytest.raises(WeightsError) as caught:
        kzoo.build("mobilenet_v3_small.tiny", num_classes=4)
    message = str(caught.value)
    assert "\n" not in message and "do not fit model 'mobilenet_v3_small' with config" in message
    assert "num_classes" in message and "needs shape" in message


# -- cards ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, why", [
    (dict(sha256="0" * 64, md5="0" * 32), "expected exactly one of sha256= or md5="),
    (dict(), "digest (none given"),
    (dict(md5="0" * 64), "md5 '" + "0" * 64 + "' (expected 32 lowercase hex digits)"),
    (dict(md5="0" * 32, keras_file="models/x.weights.h5"), "keras_file 'models/x.weights.h5'"),
    (dict(md5="0" * 32, keras_file="/abs/x.h5"), "keras_file '/abs/x.h5'"),
])
def test_bad_digests_and_keras_files_fail_only_their_plugin(bad, why):
    weights = Weights(model="mobilenet_v3_small", name="bad", source="https://example.invalid/x.h5", **bad)
    with pytest.warns(kzoo.PluginWarning, match=why.replace("(", r"\(").replace(")", r"\)")):
        kzoo.register_plugin(WeightsPlugin(weights), "bad_weights")
        names = kzoo.list_weights()
    assert "mobilenet_v3_small.bad" not in names and "resnet50.imagenet" in names


def test_imagenet_cards_are_listed_with_their_algorithm_without_importing_keras():
    probe = ("import io, sys, contextlib\nfrom kzoo.cli import main\nout = io.StringIO()\n"
             "with contextlib.redirect_stdout(out):\n    try:\n        main(['weights', '--json'])\n"
             "    except SystemExit:\n        pass\n"
             "print(out.getvalue())\nprint('keras' in sys.modules, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    *listing, imports = done.stdout.strip().splitlines()
    assert imports.split() == ["False", "False"], done.stderr
    cards = {c["name"]: c for c in json.loads("\n".join(listing)) if c["name"].endswith(".imagenet")}
    from kzoo_plugins import _imagenet_weights as data
    from kzoo_plugins.applications import ARCHITECTURES

    assert len(cards) == len(ARCHITECTURES) - len(data.UNHASHED) == 38
    for a in ARCHITECTURES:
        c = cards.get(f"{a.name}.imagenet")
        if a.builder in data.UNHASHED:
            assert c is None
            continue
        assert c["hash_algorithm"] == ("sha256" if a.family == "convnext" else "md5")
        assert c[c["hash_algorithm"]] == c["hash"] and len(c["hash"]) == (64 if a.family == "convnext" else 32)
        assert c["sha256" if c["hash_algorithm"] == "md5" else "md5"] is None, "no digest kzoo never had"
        assert c["source"].startswith("https://storage.googleapis.com/") and c["license"] == data.LICENSE
        assert c["config"] == {"input_shape": [a.size, a.size, 3], "num_classes": 1000}
    table = run("weights", "--model", "resnet50").output
    assert "md5:2cb95161c431" in table and "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in table


def keras_builders() -> list[str]:
    from kzoo_plugins.applications import ARCHITECTURES

    return [a.builder for a in ARCHITECTURES]


class Fetched(Exception):
    """Raised by the stand-in for get_file: Keras got as far as asking for its weights file."""


@pytest.mark.parametrize("builder", keras_builders())
@pytest.mark.slow
def test_each_card_is_what_keras_own_code_downloads_and_checks(builder, monkeypatch):
    """Keras's application is built with ``weights="imagenet"`` and its call to ``get_file``
    caught: the URL, file name, cache folder and hash it asks for are the card's."""
    import keras
    from keras.src.utils import file_utils
    from kzoo_plugins.applications import ARCHITECTURES, imagenet_weights

    asked = {}

    def get_file(fname=None, origin=None, file_hash=None, cache_subdir="datasets", hash_algorithm="auto", **_):
        asked.update(fname=fname, origin=origin, file_hash=file_hash, cache_subdir=cache_subdir,
                     algorithm=hash_algorithm)
        raise Fetched

    monkeypatch.setattr(file_utils, "get_file", get_file)
    with pytest.raises(Fetched):
        getattr(keras.applications, builder)(weights="imagenet")
    keras.backend.clear_session()
    (architecture,) = [a for a in ARCHITECTURES if a.builder == builder]
    weights = imagenet_weights(architecture)
    if asked["file_hash"] is None:
        assert weights is None, f"Keras checks no hash for {builder}: kzoo must not register its file"
        return
    keras_algorithm = file_utils.resolve_hasher(asked["algorithm"], asked["file_hash"]).name
    assert (weights.source, weights.keras_file, weights.digest, weights.hash_algorithm) == \
        (asked["origin"], f"{asked['cache_subdir']}/{asked['fname']}", asked["file_hash"], keras_algorithm)
    registered = kzoo.get_weights(f"{architecture.name}.imagenet")
    assert (registered.source, registered.digest, registered.keras_file) == (weights.source, weights.digest,
                                                                             weights.keras_file)


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "efficientnet_b0", "inception_v3"])
def test_kzoo_model_takes_a_file_of_keras_own_application_layer_for_layer(name, tmp_path):
    """One architecture per preprocessing mode and family: the file of Keras's own application
    (as Keras publishes it) fills kzoo's model, whose preprocessing layers come first, completely;
    both then give the same answers on raw pixels (kzoo preprocesses inside, Keras's input is
    preprocessed as ``preprocess_input`` does)."""
    import keras
    from kzoo_plugins.applications import ARCHITECTURES, ApplicationBuilder

    (a,) = [a for a in ARCHITECTURES if a.name == name]
    shape = (a.min_size, a.min_size, 3)
    build = getattr(keras.applications, a.builder)
    extra = {"include_preprocessing": True} if "include_preprocessing" in inspect.signature(build).parameters else {}
    source = getattr(keras.applications, a.builder)(weights=None, input_shape=shape, classes=3,
                                                    classifier_activation="softmax", **extra)
    for variable in source.weights:
        variable.assign(np.random.default_rng(len(variable.path)).normal(0.0, 0.05, variable.shape).astype("float32"))
    save_legacy_h5(source, tmp_path / "keras.h5")
    net = ApplicationBuilder(a).build_model({"input_shape": shape, "num_classes": 3, **a.knobs})
    pretrained.load_keras_file(net, str(tmp_path / "keras.h5"))
    images = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    mode = a.preprocessing
    keras_input = images if mode == "included" else \
        keras.applications.imagenet_utils.preprocess_input(images.copy(), mode=mode)
    np.testing.assert_allclose(net.predict(images, verbose=0), source.predict(keras_input, verbose=0),
                               rtol=1e-4, atol=1e-5)


# -- transfer learning from Keras's file ------------------------------------------------------------
def test_fine_tuning_from_a_keras_file_keeps_its_backbone_under_a_new_head(tiny, routes, tmp_path):
    """``--weights NAME.imagenet --freeze`` end to end on a served md5 card: the backbone's
    layers are Keras's file's, frozen; the head is new; the run records the md5 it checked."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from digits_photos import write_digits_photos

    body, _, _ = tiny
    routes.files["/tiny.h5"] = body
    weights = register(card(routes.url("/tiny.h5"), body))
    source = {layer.name: layer.get_weights() for layer in finetune.weighted_layers(kzoo.build(weights.full_name))}
    photos = write_digits_photos(tmp_path / "photos", (3, 8), per_class=6, size=32)
    result = kzoo.train("mobilenet_v3_small", photos, config={k: v for k, v in TINY.items() if k != "num_classes"},
                        weights="tiny", freeze=True, epochs=1, batch_size=4)
    recorded = result.metadata["weights"]
    assert recorded["md5"] == weights.md5 and "sha256" not in recorded and recorded["new_head"]
    trained = {layer.name: layer.get_weights() for layer in finetune.weighted_layers(result.model)}
    assert recorded["frozen"] and set(recorded["frozen"]).isdisjoint(recorded["head"])
    for name in recorded["frozen"]:
        assert all(np.array_equal(a, b) for a, b in zip(trained[name], source[name])), name
    assert result.model.output_shape == (None, 2)
