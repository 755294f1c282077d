"""The keras.applications family: every ImageNet architecture Keras ships, as ordinary zoo models.

The architectures are a table of data (:data:`ARCHITECTURES`), not forty functions: each row says
which ``keras.applications`` builder makes it, its family, its default and smallest input size,
the preprocessing its ImageNet weights expect and its paper. Every model takes raw RGB pixels
(0..255, what kzoo's image reader and a decoded uint8 image give): the architecture's own
``preprocess_input`` runs inside the model as Keras layers, so the trained file, its reload in
plain Keras and its exports agree on raw images.

Where the backbone ends is part of each model (:meth:`ApplicationBuilder.build_backbone`):
Keras's ``include_top=False`` with global average pooling, the feature extractor that
``kzoo.build(name, head=False)`` returns and that fine-tuning puts a new head on.

Keras's own ImageNet weights are registered as zoo weights, ``NAME.imagenet`` (data in
:mod:`._imagenet_weights`): fetched into Keras's cache (by kzoo, within its download limits) and checked
against the hash Keras checks, then loaded as Keras loads them into its own application.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kzoo import ModelBuilder, ModelSpec, Weights, hookimpl
from kzoo.config import require

from . import _imagenet_weights as imagenet

LICENSE = "Apache-2.0"
"""keras.applications' code; the ImageNet weights' terms are on each weights card."""


@dataclass(frozen=True)
class Architecture:
    """One row of the table: what kzoo needs to know of a ``keras.applications`` builder."""

    name: str  # kzoo's snake_case name
    builder: str  # the keras.applications function
    family: str
    size: int  # default input height and width (Keras's, and its ImageNet weights')
    min_size: int  # the smallest height and width the builder accepts
    preprocessing: str  # "caffe", "tf", "torch" (keras.applications.imagenet_utils modes) or "included"
    paper: str
    knobs: Mapping[str, Any] = field(default_factory=dict)  # the family's own arguments and defaults

    @property
    def description(self) -> str:
        return f"{self.builder} from keras.applications: an ImageNet classifier ({self.family} family) on raw RGB images."


CONVNEXT = "https://arxiv.org/abs/2201.03545"
DENSENET = "https://arxiv.org/abs/1608.06993"
EFFICIENTNET = "https://arxiv.org/abs/1905.11946"
EFFICIENTNET_V2 = "https://arxiv.org/abs/2104.00298"
MOBILENET = "https://arxiv.org/abs/1704.04861"
MOBILENET_V2 = "https://arxiv.org/abs/1801.04381"
MOBILENET_V3 = "https://arxiv.org/abs/1905.02244"
NASNET = "https://arxiv.org/abs/1707.07012"
RESNET = "https://arxiv.org/abs/1512.03385"
RESNET_V2 = "https://arxiv.org/abs/1603.05027"

ARCHITECTURES: tuple[Architecture, ...] = (
    *(Architecture(f"convnext_{s}", f"ConvNeXt{s.title().replace('Xl', 'XL')}", "convnext", 224, 32, "included",
                   CONVNEXT) for s in ("tiny", "small", "base", "large", "xlarge")),
    *(Architecture(f"densenet{d}", f"DenseNet{d}", "densenet", 224, 32, "torch", DENSENET) for d in (121, 169, 201)),
    *(Architecture(f"efficientnet_b{i}", f"EfficientNetB{i}", "efficientnet", size, 32, "included", EFFICIENTNET)
      for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))),
    *(Architecture(f"efficientnet_v2_{v.lower()}", f"EfficientNetV2{v}", "efficientnet_v2", size, 32, "included",
                   EFFICIENTNET_V2)
      for v, size in (("B0", 224), ("B1", 240), ("B2", 260), ("B3", 300), ("S", 384), ("M", 480), ("L", 480))),
    Architecture("inception_v3", "InceptionV3", "inception", 299, 75, "tf", "https://arxiv.org/abs/1512.00567"),
    Architecture("inception_resnet_v2", "InceptionResNetV2", "inception", 299, 75, "tf",
                 "https://arxiv.org/abs/1602.07261"),
    Architecture("mobilenet", "MobileNet", "mobilenet", 224, 32, "tf", MOBILENET, {"alpha": 1.0, "depth_multiplier": 1}),
    Architecture("mobilenet_v2", "MobileNetV2", "mobilenet", 224, 32, "tf", MOBILENET_V2, {"alpha": 1.0}),
    Architecture("mobilenet_v3_small", "MobileNetV3Small", "mobilenet", 224, 32, "included", MOBILENET_V3,
                 {"alpha": 1.0, "minimalistic": False}),
    Architecture("mobilenet_v3_large", "MobileNetV3Large", "mobilenet", 224, 32, "included", MOBILENET_V3,
                 {"alpha": 1.0, "minimalistic": False}),
    Architecture("nasnet_mobile", "NASNetMobile", "nasnet", 224, 32, "tf", NASNET),
    Architecture("nasnet_large", "NASNetLarge", "nasnet", 331, 32, "tf", NASNET),
    *(Architecture(f"resnet{d}", f"ResNet{d}", "resnet", 224, 32, "caffe", RESNET) for d in (50, 101, 152)),
    *(Architecture(f"resnet{d}_v2", f"ResNet{d}V2", "resnet", 224, 32, "tf", RESNET_V2) for d in (50, 101, 152)),
    Architecture("vgg16", "VGG16", "vgg", 224, 32, "caffe", "https://arxiv.org/abs/1409.1556"),
    Architecture("vgg19", "VGG19", "vgg", 224, 32, "caffe", "https://arxiv.org/abs/1409.1556"),
    Architecture("xception", "Xception", "xception", 299, 71, "tf", "https://arxiv.org/abs/1610.02357"),
)

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def preprocessing_layers(mode: str) -> list[Any]:
    """``keras.applications.imagenet_utils.preprocess_input(x, mode=mode)`` as Keras layers on
    raw RGB pixels (0..255), so the saved model needs no Python of its own to run."""
    import keras

    if mode == "included":
        return []
    if mode == "tf":  # scale to -1..1
        return [keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")]
    if mode == "torch":  # 0..1, then per-channel ImageNet mean and standard deviation
        return [keras.layers.Rescaling(1 / 255.0, name="preprocess_scale"),
                keras.layers.Normalization(mean=TORCH_MEAN, variance=[s * s for s in TORCH_STD], name="preprocess")]
    # caffe: RGB -> BGR, then the ImageNet mean of each BGR channel subtracted (no scaling)
    flip = keras.layers.Conv2D(3, 1, use_bias=True, trainable=False, name="preprocess",
                               kernel_initializer=keras.initializers.Constant(_bgr_kernel()),
                               bias_initializer=keras.initializers.Constant([-m for m in CAFFE_MEAN_BGR]))
    return [flip]


def _bgr_kernel() -> list[list[list[list[float]]]]:
    """A 1x1 convolution kernel that swaps the red and blue channels."""
    return [[[[1.0 if out == 2 - inp else 0.0 for out in range(3)] for inp in range(3)]]]


class ApplicationBuilder(ModelBuilder):
    """One keras.applications architecture: raw pixels in, class probabilities out; its backbone
    (``include_top=False``, average pooling) is what fine-tuning keeps."""

    def __init__(self, architecture: Architecture) -> None:
        self.architecture = architecture
        a = architecture
        self.spec = ModelSpec(
            name=a.name, description=a.description, api="functional",
            tags=("vision", "imagenet", a.family, "classification"),
            default_config={"input_shape": (a.size, a.size, 3), "num_classes": 1000, **a.knobs},
            paper=a.paper, license=LICENSE,
        )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        a, name = self.architecture, self.spec.name
        shape = tuple(config["input_shape"])
        require(name, len(shape) == 3 and shape[2] == 3 and all(isinstance(d, int) for d in shape), "input_shape",
                config["input_shape"], "height,width,3 (RGB images)")
        require(name, min(shape[:2]) >= a.min_size, "input_shape", config["input_shape"],
                f"a height and width of at least {a.min_size}")
        require(name, config["num_classes"] >= 2, "num_classes", config["num_classes"], "an integer >= 2")
        if "alpha" in config:
            require(name, 0 < config["alpha"] <= 2, "alpha", config["alpha"], "a width multiplier in (0, 2], e.g. 0.75")

    def _application(self, config: Mapping[str, Any], include_top: bool) -> Any:
        """The Keras application on an input named ``image`` behind its preprocessing layers: one
        flat functional model (Keras builds on ``input_tensor``), its layers named as Keras names
        them, so Keras's ImageNet weights files fit them by name."""
        import keras

        a = self.architecture
        inputs = keras.Input(tuple(config["input_shape"]), name="image")
        x = inputs
        for layer in preprocessing_layers(a.preprocessing):
            x = layer(x)
        knobs = {k: config[k] for k in a.knobs}
        build = getattr(keras.applications, a.builder)
        extra = {"include_preprocessing": True} if "include_preprocessing" in inspect.signature(build).parameters else {}
        head = ({"include_top": True, "classes": config["num_classes"], "classifier_activation": "softmax"}
                if include_top else {"include_top": False, "pooling": "avg"})
        return build(weights=None, input_tensor=x, input_shape=tuple(config["input_shape"]), **head, **knobs, **extra)

    def build_model(self, config: Mapping[str, Any]) -> Any:
        return self._application(config, include_top=True)

    def build_backbone(self, config: Mapping[str, Any]) -> Any:
        """Raw pixels in, one pooled feature vector out (Keras's ``include_top=False, pooling="avg"``)."""
        return self._application(config, include_top=False)


@hookimpl
def kzoo_register_models(register):
    for architecture in ARCHITECTURES:
        register(ApplicationBuilder(architecture))


def imagenet_weights(architecture: Architecture) -> Weights | None:
    """The card of Keras's ImageNet weights for ``architecture`` (its default input, 1,000 classes,
    the ``include_top=True`` file), or None where Keras checks no hash for them."""
    if architecture.builder not in imagenet.IMAGENET:
        return None
    path, digest = imagenet.IMAGENET[architecture.builder]
    a = architecture
    return Weights(
        model=a.name, name="imagenet", source=imagenet.BASE_URL + path,
        **{"sha256" if len(digest) == 64 else "md5": digest},
        config={"input_shape": (a.size, a.size, 3), "num_classes": 1000},
        data={"source": "imagenet"}, license=imagenet.LICENSE, keras_file=imagenet.keras_file(a.builder),
        description=f"Keras's ImageNet weights for {a.builder} (keras.applications, weights='imagenet', "
                    f"include_top=True), downloaded into Keras's cache and hash-checked as Keras checks it.",
    )


@hookimpl
def kzoo_register_weights(register):
    for architecture in ARCHITECTURES:
        card = imagenet_weights(architecture)
        if card is not None:
            register(card)
