"""The built-in models: the seed's exact architectures, parameter counts, shared weights."""

from __future__ import annotations

import numpy as np
import pytest

import kzoo
from kzoo.datasets.synthetic import synthetic_data

from .conftest import everyday_models

keras = pytest.importorskip("keras")


def all_builds() -> list[tuple[str, dict]]:
    """Every registered model in every api style it offers (the ImageNet architectures are
    built, and their parameters checked, in tests/test_applications.py)."""
    out = []
    for name in everyday_models():
        apis = kzoo.get_spec(name).apis
        out += [(name, {"api": api}) for api in apis] if len(apis) > 1 else [(name, {})]
    return out


@pytest.mark.parametrize(("name", "config"), all_builds(), ids=lambda v: v if isinstance(v, str) else "-".join(v.values()))
def test_params_match_spec_and_io_match_specs(name: str, config: dict) -> None:
    builder = kzoo.get(name)
    model = builder.build(**config)
    assert isinstance(model, keras.Model)
    assert model.count_params() == builder.spec.params
    defaults = builder.config()
    assert builder.input_specs(defaults) == builder.spec.inputs
    assert builder.output_specs(defaults) == builder.spec.outputs


def test_seed_parameter_counts() -> None:
    # The seed's own figures (shared/seed/README.md), measured with Keras 3.
    assert kzoo.get_spec("mlp").params == 1058
    assert kzoo.get_spec("two_input_mlp").params == 902


def test_three_mlp_styles_are_the_same_model() -> None:
    models = {api: kzoo.build("mlp", api=api) for api in ("sequential", "functional", "subclass")}
    reference = models["sequential"].get_weights()
    x = np.random.default_rng(0).standard_normal((16, 4)).astype("float32")
    for model in models.values():
        model.set_weights(reference)
    predictions = {api: model.predict(x, verbose=0) for api, model in models.items()}
    np.testing.assert_array_equal(predictions["sequential"], predictions["functional"])
    np.testing.assert_array_equal(predictions["sequential"], predictions["subclass"])
    assert type(models["subclass"]).__name__ == "SubclassMLP"


def test_subclass_config_round_trips_its_arguments() -> None:
    model = kzoo.build("mlp", api="subclass", input_dim=6, hidden_units=(5, 7), num_classes=3)
    config = model.get_config()
    assert (config["input_dim"], config["hidden_units"], config["num_classes"]) == (6, [5, 7], 3)
    clone = type(model).from_config(config)
    clone.build((None, 6))
    assert clone.count_params() == model.count_params()
    assert keras.saving.get_registered_object("kzoo>SubclassMLP") is type(model)


def test_two_input_mlp_matches_the_seed_layer_by_layer() -> None:
    model = kzoo.build("two_input_mlp")
    assert [i.name for i in model.inputs] == ["input_1", "input_2"]
    dense = {l.name: (l.units, l.activation.__name__) for l in model.layers if isinstance(l, keras.layers.Dense)}
    assert dense == {
        "branch_1_dense_1": (8, "relu"), "branch_1_dense_2": (16, "relu"),
        "branch_2_dense_1": (8, "relu"), "branch_2_dense_2": (12, "relu"), "branch_2_dense_3": (16, "relu"),
        "output": (10, "softmax"),
    }
    assert model.get_layer("concatenate").output.shape[-1] == 32


def test_siamese_tower_is_shared() -> None:
    model = kzoo.build("siamese_mlp")
    tower = model.get_layer("tower")
    assert len(tower._inbound_nodes) == 2, "one tower layer object serves both inputs"
    tower_params = tower.count_params()
    assert model.count_params() < 2 * tower_params, "shared weights are counted once"
    unshared_equivalent = 2 * tower_params + model.get_layer("same").count_params()
    assert kzoo.get_spec("siamese_mlp").params == unshared_equivalent - tower_params


def test_one_gradient_step_moves_both_siamese_paths() -> None:
    builder = kzoo.get("siamese_mlp")
    model = builder.compile(builder.build(), optimizer=keras.optimizers.SGD(0.5))
    x, y = synthetic_data(builder.spec.inputs, builder.spec.outputs, n=32)
    probe = np.random.default_rng(1).standard_normal((4, 4)).astype("float32")
    embed = model.get_layer("tower")
    before_left = embed(probe).numpy()
    before_weights = [w.numpy().copy() for w in embed.weights]
    model.train_on_batch(x, y["same"])
    after = embed(probe).numpy()
    assert not np.allclose(before_left, after)
    # Both paths run through these weights, so the left and right embeddings of the same sample move together.
    left_path = keras.Model(model.inputs[0], embed(model.inputs[0]))
    right_path = keras.Model(model.inputs[1], embed(model.inputs[1]))
    np.testing.assert_array_equal(left_path(probe).numpy(), right_path(probe).numpy())
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(before_weights, embed.weights))


def test_multi_output_heads_have_their_own_losses() -> None:
    builder = kzoo.get("multi_output_mlp")
    model = builder.compile(builder.build())
    assert sorted(model.output_names) == ["label", "value"]
    x, y = synthetic_data(builder.spec.inputs, builder.spec.outputs, n=32)
    result = builder.evaluate(model, x, y)
    assert {"label_loss", "value_loss", "label_accuracy", "value_mae"} <= set(result)
    trunk = model.get_layer("trunk")
    assert len(trunk._outbound_nodes) == 2, "both heads read the one shared trunk"


@pytest.mark.parametrize("name", ["mlp", "two_input_mlp", "siamese_mlp", "multi_output_mlp"])
def test_uniform_workflow(name: str) -> None:
    builder = kzoo.get(name)
    model = builder.compile(builder.build())
    x, y = synthetic_data(builder.spec.inputs, builder.spec.outputs, n=32)
    history = builder.train(model, x, y, epochs=2, batch_size=16)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert np.isfinite(builder.evaluate(model, x, y)["loss"])
    predictions = builder.predict(model, x)
    if len(builder.spec.outputs) == 1:
        assert predictions.shape == (32, *builder.spec.outputs[0].shape)
    else:
        assert {k: v.shape[1:] for k, v in predictions.items()} == {o.name: o.shape for o in builder.spec.outputs}


def test_compile_defaults_are_overridable() -> None:
    builder = kzoo.get("mlp")
    model = builder.compile(builder.build(), optimizer="sgd", metrics=["mae"])
    assert type(model.optimizer).__name__ == "SGD"
