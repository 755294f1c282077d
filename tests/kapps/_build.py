"""The build functions the ``kapps`` table names: imported only when a model is built."""

import keras


def classifier(arch, input_shape, num_classes, **knobs):
    """The whole classifier: ``keras.applications.<arch>`` with its top, softmax over ``num_classes``."""
    top = {"include_top": True, "classes": num_classes, "classifier_activation": "softmax"}
    return _application(arch, input_shape, top, knobs)


def features(arch, input_shape, num_classes, **knobs):
    """The backbone: the same network without its top, average-pooled to one feature vector."""
    return _application(arch, input_shape, {"include_top": False, "pooling": "avg"}, knobs)


def _application(arch, input_shape, head, knobs):
    image = keras.Input(tuple(input_shape), name="image")
    return getattr(keras.applications, arch)(weights=None, input_tensor=image, input_shape=tuple(input_shape),
                                             **head, **knobs)
