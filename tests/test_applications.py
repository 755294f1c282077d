"""The keras.applications plugin: every ImageNet architecture of Keras as a zoo model, listed
without keras, each building with the parameter count its manifest says; its preprocessing as
layers equal to Keras's ``preprocess_input``; the backbone (``head=False``) of a model that
declares one; the full conformance kit on one architecture of each family at its smallest input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import kzoo
from kzoo.testing import MODEL_CHECKS, check_model

from .conftest import run_kzoo

pytestmark = pytest.mark.usefixtures("release_models")  # full-size builds: free them after each test

APPLICATIONS = "applications"


def application_names() -> list[str]:
    return sorted(n for n in kzoo.list_models() if kzoo.get_spec(n).plugin == APPLICATIONS)


def test_every_keras_application_is_listed_with_its_parameters_without_importing_keras():
    import keras

    keras_builders = {n for n in dir(keras.applications) if n[0].isupper()}
    done = run_kzoo("list", "--tag", "imagenet", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == len(keras_builders) == 40
    assert all(isinstance(r["params"], int) and r["params"] > 1_000_000 for r in rows)
    assert {r["name"] for r in rows} == set(application_names())
    probe = "import sys\nfrom kzoo.cli import main\ntry:\n    main(['list', '--tag', 'vision'])\nexcept SystemExit:\n    pass\n" \
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    quiet = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert quiet.stdout.split()[-2:] == ["False", "False"], quiet.stderr


@pytest.mark.parametrize("name", application_names())
@pytest.mark.slow
def test_each_architecture_builds_with_the_parameter_count_its_manifest_says(name):
    results = check_model(name, checks=("spec", "builds", "params", "manifest"))
    assert all(r.ok for r in results), "\n".join(map(str, results))
    assert [r.status for r in results if r.check in ("params", "manifest")] == ["passed", "passed"]


ONE_PER_FAMILY = ["convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_b0", "inception_v3",
                  "mobilenet_v3_small", "mobilenet_v2", "nasnet_mobile", "resnet50", "resnet50_v2", "vgg16",
                  "xception"]


# Compiled into a graph, one training step of these networks costs up to minutes (NASNetMobile: 200 s
# under coverage); step by step, seconds. One family trains compiled, as kzoo train runs it.
COMPILED = "mobilenet_v3_small"


@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_one_architecture_of_each_family_passes_the_whole_kit_at_its_smallest_input(name):
    from kzoo_plugins.applications import ARCHITECTURES

    (architecture,) = [a for a in ARCHITECTURES if a.name == name]
    side = architecture.min_size
    results = check_model(name, {"input_shape": (side, side, 3), "num_classes": 3}, eager=name != COMPILED)
    assert [r.check for r in results] == list(MODEL_CHECKS)
    assert all(r.ok for r in results), "\n".join(map(str, results))


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2"])
def test_an_architecture_exports_to_onnx_and_answers_as_keras(name, tmp_path):
    """The kit has no export check, so the export of the family: caffe- and tf-mode preprocessing
    layers here, Keras's included mode in test_transfer (mobilenet_v3_small)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from kzoo._workflow.export import export_keras
    from kzoo_plugins.applications import ARCHITECTURES

    (architecture,) = [a for a in ARCHITECTURES if a.name == name]
    builder = kzoo.get(name)
    config = builder.config(input_shape=(architecture.min_size, architecture.min_size, 3), num_classes=3)
    model = kzoo.build(name, **config)
    result = export_keras(model, builder.input_specs(config), builder.output_specs(config), "onnx",
                          tmp_path / f"{name}.onnx", samples=4)
    assert (tmp_path / f"{name}.onnx").is_file() and result.samples == 4
    assert result.max_abs_diff <= 1e-4


@pytest.mark.parametrize("mode, module", [("caffe", "resnet"), ("tf", "mobilenet_v2"), ("torch", "densenet")])
def test_preprocessing_layers_compute_keras_preprocess_input(mode, module):
    import keras
    from kzoo_plugins.applications import preprocessing_layers

    raw = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3)).astype("float32")
    x = raw
    for layer in preprocessing_layers(mode):
        x = layer(x)
    expected = getattr(keras.applications, module).preprocess_input(raw.copy())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(x), expected, rtol=1e-5, atol=1e-4)


def test_the_backbone_is_the_model_without_its_head():
    features = kzoo.build("mobilenet_v3_small", head=False, input_shape=(32, 32, 3))
    whole = kzoo.build("mobilenet_v3_small", input_shape=(32, 32, 3), num_classes=5)
    assert features.outputs[0].shape == (None, 576) and whole.outputs[0].shape == (None, 5)
    hidden = kzoo.build("mlp", head=False, input_dim=4)
    assert hidden.outputs[0].shape == (None, 32) and len(hidden.layers) == 4  # input + 3 hidden layers
    assert kzoo.get("resnet50").has_backbone and not kzoo.get("two_input_mlp").has_backbone
    with pytest.raises(kzoo.ConfigError, match="'two_input_mlp' declares no backbone"):
        kzoo.build("two_input_mlp", head=False)
    with pytest.raises(kzoo.ConfigError, match="head=False builds a fresh backbone"):
        kzoo.build("mlp.iris", head=False)
