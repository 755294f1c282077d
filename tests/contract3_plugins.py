"""Two third-party plugins as issue 20 met them, as source text for ``tests/distributions.py``.

``c3_text``: keras-io style models written against the docs (custom layers in a module only the
build function imports). ``c3_legacy``: plugins written for kzoo 0.1, with hand-written
``ModelSpec``s (a subclassed model with a named input, several inputs, int32 inputs), whose
contract every release must keep: ``tests/test_contract3.py`` runs the kit on them.
"""

TEXT_INIT = '''
"""keras-io examples as kzoo models; the Keras code lives in modules only build functions import."""

import kzoo


@kzoo.model(tags=("text",), inputs={"tokens": "token ids of a review"})
def c3_transformer(maxlen=16, vocab_size=200, embed_dim=8, num_classes=2):
    """A tiny text classifier with a custom token-and-position embedding."""
    import keras

    from ._layers import TokenAndPositionEmbedding

    tokens = keras.Input((maxlen,), dtype="int32", name="tokens")
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(tokens)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(tokens, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))


@kzoo.model(tags=("broken",))
def c3_late(units=3):
    """A layer registered only when the build function runs: no other process can find it."""
    import keras

    from ._late import Late, register

    register()
    x = keras.Input((4,), name="x")
    return keras.Model(x, keras.layers.Dense(units, name="y")(Late()(x)))


@kzoo.hookimpl
def kzoo_register_models(register):
    register(c3_transformer)
    register(c3_late)
'''

TEXT_LAYERS = '''
import keras


@keras.saving.register_keras_serializable(package="c3_text")
class TokenAndPositionEmbedding(keras.layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab_size, self.embed_dim = maxlen, vocab_size, embed_dim
        self.token_emb = keras.layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = keras.layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = keras.ops.arange(0, keras.ops.shape(x)[-1], 1)
        return self.token_emb(x) + self.pos_emb(positions)

    def get_config(self):
        return {**super().get_config(), "maxlen": self.maxlen, "vocab_size": self.vocab_size,
                "embed_dim": self.embed_dim}
'''

TEXT_LATE = '''
import keras


class Late(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def register():
    keras.saving.register_keras_serializable(package="c3_text")(Late)
'''

LEGACY_INIT = '''
"""A plugin written for kzoo 0.1: hand-written specs, Keras code in _nets.py."""

from kzoo import ModelBuilder, ModelSpec, TensorSpec, hookimpl

SPARSE = "sparse_categorical_crossentropy"


class LegacyCNN(ModelBuilder):
    spec = ModelSpec(name="legacy_cnn", description="A Conv2D classifier, 0.1 style.", api="functional",
                     inputs=(TensorSpec("image", (8, 8, 1)),), outputs=(TensorSpec("label", (10,), loss=SPARSE),),
                     default_config={"filters": 4}, params=90)

    def build_model(self, config):
        from ._nets import cnn

        return cnn(config["filters"])


class LegacyResMLP(ModelBuilder):
    spec = ModelSpec(name="legacy_resmlp", description="A subclassed residual MLP whose input is 'features'.",
                     api="subclass", inputs=(TensorSpec("features", (4,), description="four measurements"),),
                     outputs=(TensorSpec("label", (3,), loss=SPARSE, metrics=("accuracy",)),),
                     default_config={"units": 8}, params=139)

    def build_model(self, config):
        from ._nets import ResMLP

        model = ResMLP(config["units"], 3)
        model.build((None, 4))
        return model

    def custom_objects(self):
        from ._nets import ResMLP

        return {"c3_legacy>ResMLP": ResMLP}


class LegacyTwo(ModelBuilder):
    spec = ModelSpec(name="legacy_two", description="Embedding/LSTM text plus a float feature, two outputs.",
                     api="functional",
                     inputs=(TensorSpec("tokens", (6,), dtype="int32", range=(0, 50)), TensorSpec("extra", (2,))),
                     outputs=(TensorSpec("label", (2,), loss=SPARSE, metrics=("accuracy",)),
                              TensorSpec("score", (1,), loss="mse", metrics=("mae",))),
                     default_config={"units": 4}, params=365)

    def build_model(self, config):
        from ._nets import two

        return two(config["units"])


class LegacyIntSub(ModelBuilder):
    spec = ModelSpec(name="legacy_intsub", description="A subclassed model on int32 token ids.", api="subclass",
                     inputs=(TensorSpec("ids", (5,), dtype="int32", range=(0, 30)),),
                     outputs=(TensorSpec("label", (2,), loss=SPARSE, metrics=("accuracy",)),),
                     default_config={"vocab": 30}, params=130)

    def build_model(self, config):
        from ._nets import IntSub

        model = IntSub(config["vocab"])
        model.build((None, 5))
        return model


class LegacyMultiSub(ModelBuilder):
    spec = ModelSpec(name="legacy_multisub", description="A subclassed model with two named inputs.", api="subclass",
                     inputs=(TensorSpec("a", (3,)), TensorSpec("b", (2,))),
                     outputs=(TensorSpec("label", (2,), loss=SPARSE, metrics=("accuracy",)),),
                     default_config={"units": 4}, params=34)

    def build_model(self, config):
        from ._nets import MultiSub

        model = MultiSub(config["units"])
        model.build({"a": (None, 3), "b": (None, 2)})
        return model


@hookimpl
def kzoo_register_models(register):
    for builder in (LegacyCNN(), LegacyResMLP(), LegacyTwo(), LegacyIntSub(), LegacyMultiSub()):
        register(builder)
'''

LEGACY_NETS = '''
import keras


def cnn(filters):
    image = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(image)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(10, activation="softmax", name="label")(x))


@keras.saving.register_keras_serializable(package="c3_legacy")
class ResMLP(keras.Model):
    def __init__(self, units=8, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.units, self.classes = units, classes
        self.inner = keras.layers.Dense(units, activation="relu")
        self.residual = keras.layers.Dense(units, activation="relu")
        self.head = keras.layers.Dense(classes, activation="softmax")

    def call(self, features):
        h = self.inner(features)
        return self.head(h + self.residual(h))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "classes": self.classes}


def two(units):
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    extra = keras.Input((2,), name="extra")
    h = keras.layers.LSTM(units)(keras.layers.Embedding(50, 4)(tokens))
    h = keras.layers.Concatenate()([h, extra])
    return keras.Model([tokens, extra], [keras.layers.Dense(2, activation="softmax", name="label")(h),
                                         keras.layers.Dense(1, name="score")(h)])


@keras.saving.register_keras_serializable(package="c3_legacy")
class IntSub(keras.Model):
    def __init__(self, vocab=30, **kwargs):
        super().__init__(**kwargs)
        self.vocab = vocab
        self.embed = keras.layers.Embedding(vocab, 4)
        self.pool = keras.layers.GlobalAveragePooling1D()
        self.head = keras.layers.Dense(2, activation="softmax")

    def call(self, ids):
        return self.head(self.pool(self.embed(ids)))

    def get_config(self):
        return {**super().get_config(), "vocab": self.vocab}


@keras.saving.register_keras_serializable(package="c3_legacy")
class MultiSub(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.head = keras.layers.Dense(2, activation="softmax")

    def call(self, inputs):
        return self.head(self.hidden(keras.ops.concatenate([inputs["a"], inputs["b"]], axis=-1)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}
'''

FILES = {
    "c3_text/__init__.py": TEXT_INIT,
    "c3_text/_layers.py": TEXT_LAYERS,
    "c3_text/_late.py": TEXT_LATE,
    "c3_legacy/__init__.py": LEGACY_INIT,
    "c3_legacy/_nets.py": LEGACY_NETS,
}
ENTRY_POINTS = {"c3text": "c3_text", "c3legacy": "c3_legacy"}
