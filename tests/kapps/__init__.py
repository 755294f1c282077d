"""A test adapter plugin: ten keras.applications architectures, prefixed ``kapps/``, from one
table, at 32x32 so the suite can build them (tests/test_adapters.py). Listing imports neither
keras nor :mod:`._build`."""

import kzoo

MODELS = kzoo.model_table(
    {
        "resnet50": {"arch": "ResNet50"},
        "resnet50_v2": {"arch": "ResNet50V2"},
        "mobilenet": {"arch": "MobileNet", "config": {"alpha": 0.25}},
        "mobilenet_v2": {"arch": "MobileNetV2", "config": {"alpha": 0.35}},
        "mobilenet_v3_small": {"arch": "MobileNetV3Small", "config": {"alpha": 0.75}},
        "densenet121": {"arch": "DenseNet121"},
        "efficientnet_b0": {"arch": "EfficientNetB0"},
        "efficientnet_v2_b0": {"arch": "EfficientNetV2B0"},
        "convnext_tiny": {"arch": "ConvNeXtTiny"},
        "vgg16": {"arch": "VGG16"},
    },
    prefix="kapps",
    build="tests.kapps._build:classifier",
    backbone="tests.kapps._build:features",
    config={"input_shape": (32, 32, 3), "num_classes": 10},
    description="{arch} from keras.applications (random weights) on raw RGB images",
    tags=("vision", "adapter-test"),
    validate=lambda config: min(config["input_shape"][:2]) < 32 and "input_shape needs a height and width >= 32",
)


@kzoo.hookimpl
def kzoo_register_models(register):
    for builder in MODELS:
        register(builder)
