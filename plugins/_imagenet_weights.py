"""keras.applications' ImageNet weights, as data: where Keras downloads each file from, the hash
Keras checks it against (md5 for most, sha256 for ConvNeXt: the algorithm follows from the
length, as in ``keras.utils.get_file(hash_algorithm="auto")``), and the name Keras caches it
under. Read from Keras 3.15's own code (each application's ``weights="imagenet"`` branch, the
``include_top=True`` file); ``tests/test_imagenet_weights.py`` checks every row against it.

Keras publishes no hash for MobileNet and MobileNetV2 (its ``get_file`` calls pass none), so kzoo,
which never loads a file it cannot check, registers no ImageNet weights for them (:data:`UNHASHED`).
"""

from __future__ import annotations

BASE_URL = "https://storage.googleapis.com/"

IMAGENET: dict[str, tuple[str, str]] = {
    "ConvNeXtBase": ("tensorflow/keras-applications/convnext/convnext_base.h5",
                    "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6"),
    "ConvNeXtLarge": ("tensorflow/keras-applications/convnext/convnext_large.h5",
                     "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6"),
    "ConvNeXtSmall": ("tensorflow/keras-applications/convnext/convnext_small.h5",
                     "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c"),
    "ConvNeXtTiny": ("tensorflow/keras-applications/convnext/convnext_tiny.h5",
                    "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff"),
    "ConvNeXtXLarge": ("tensorflow/keras-applications/convnext/convnext_xlarge.h5",
                      "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee"),
    "DenseNet121": ("tensorflow/keras-applications/densenet/densenet121_weights_tf_dim_ordering_tf_kernels.h5",
                   "9d60b8095a5708f2dcce2bca79d332c7"),
    "DenseNet169": ("tensorflow/keras-applications/densenet/densenet169_weights_tf_dim_ordering_tf_kernels.h5",
                   "d699b8f76981ab1b30698df4c175e90b"),
    "DenseNet201": ("tensorflow/keras-applications/densenet/densenet201_weights_tf_dim_ordering_tf_kernels.h5",
                   "1ceb130c1ea1b78c3bf6114dbdfd8807"),
    "EfficientNetB0": ("keras-applications/efficientnetb0.h5", "902e53a9f72be733fc0bcb005b3ebbac"),
    "EfficientNetB1": ("keras-applications/efficientnetb1.h5", "1d254153d4ab51201f1646940f018540"),
    "EfficientNetB2": ("keras-applications/efficientnetb2.h5", "b15cce36ff4dcbd00b6dd88e7857a6ad"),
    "EfficientNetB3": ("keras-applications/efficientnetb3.h5", "ffd1fdc53d0ce67064dc6a9c7960ede0"),
    "EfficientNetB4": ("keras-applications/efficientnetb4.h5", "18c95ad55216b8f92d7e70b3a046e2fc"),
    "EfficientNetB5": ("keras-applications/efficientnetb5.h5", "ace28f2a6363774853a83a0b21b9421a"),
    "EfficientNetB6": ("keras-applications/efficientnetb6.h5", "165f6e37dce68623721b423839de8be5"),
    "EfficientNetB7": ("keras-applications/efficientnetb7.h5", "8c03f828fec3ef71311cd463b6759d99"),
    "EfficientNetV2B0": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-b0.h5",
                        "21ecbf6da12460d5c40bb2f29ceb2188"),
    "EfficientNetV2B1": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-b1.h5",
                        "069f0534ff22adf035c89e2d9547a9dc"),
    "EfficientNetV2B2": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-b2.h5",
                        "424e49f28180edbde1e94797771950a7"),
    "EfficientNetV2B3": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-b3.h5",
                        "1f1fc43bd98a6e4fd8fdfd551e02c7a0"),
    "EfficientNetV2L": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-l.h5",
                       "27e6d408b53c7ebc868fefa357689935"),
    "EfficientNetV2M": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-m.h5",
                       "a3bf6aa3276309f4fc6a34aa114c95cd"),
    "EfficientNetV2S": ("tensorflow/keras-applications/efficientnet_v2/efficientnetv2-s.h5",
                       "e1d88a8495beba45748fedd0cecbe016"),
    "InceptionResNetV2": ("tensorflow/keras-applications/inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
                         "e693bd0210a403b3192acc6073ad2e96"),
    "InceptionV3": ("tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                   "9a0d58056eeedaa3f26cb7ebd46da564"),
    "MobileNetV3Large": ("tensorflow/keras-applications/mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float.h5",
                        "59e551e166be033d707958cf9e29a6a7"),
    "MobileNetV3Small": ("tensorflow/keras-applications/mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float.h5",
                        "8768d4c2e7dee89b9d02b2d03d65d862"),
    "NASNetLarge": ("tensorflow/keras-applications/nasnet/NASNet-large.h5", "11577c9a518f0070763c2b964a382f17"),
    "NASNetMobile": ("tensorflow/keras-applications/nasnet/NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
    "ResNet101": ("tensorflow/keras-applications/resnet/resnet101_weights_tf_dim_ordering_tf_kernels.h5",
                 "f1aeb4b969a6efcfb50fad2f0c20cfc5"),
    "ResNet101V2": ("tensorflow/keras-applications/resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels.h5",
                   "6343647c601c52e1368623803854d971"),
    "ResNet152": ("tensorflow/keras-applications/resnet/resnet152_weights_tf_dim_ordering_tf_kernels.h5",
                 "100835be76be38e30d865e96f2aaae62"),
    "ResNet152V2": ("tensorflow/keras-applications/resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels.h5",
                   "a49b44d1979771252814e80f8ec446f9"),
    "ResNet50": ("tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                "2cb95161c43110f7111970584f804107"),
    "ResNet50V2": ("tensorflow/keras-applications/resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
                  "3ef43a0b657b3be2300d5770ece849e0"),
    "VGG16": ("tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
             "64373286793e3c8b2b4e3219cbf3544b"),
    "VGG19": ("tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5",
             "cbe5617147190e668d6c5d5026f83318"),
    "Xception": ("tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
                "0a58e3b7378bc2990ea3b43d5981f1f6"),
}
"""keras.applications builder -> (URL path under :data:`BASE_URL`, the hash Keras checks)."""

CACHE_NAMES: dict[str, str] = {
    "NASNetLarge": "nasnet_large.h5",
    "NASNetMobile": "nasnet_mobile.h5",
}
"""The builders whose file Keras caches under a name other than the URL's last part."""

UNHASHED = ("MobileNet", "MobileNetV2")
"""Builders with ImageNet weights that Keras downloads unchecked: no kzoo card."""

LICENSE = "unstated by Keras; see keras.io/api/applications, ImageNet terms"
"""Keras's code and docs give no licence for the weights files themselves; kzoo claims none."""

CACHE_SUBDIR = "models"  # under Keras's cache folder, as keras.applications passes it


def keras_file(builder: str) -> str:
    """``models/NAME.h5``: where in Keras's cache the file of ``builder`` lives."""
    return f"{CACHE_SUBDIR}/{CACHE_NAMES.get(builder) or IMAGENET[builder][0].rsplit('/', 1)[1]}"
