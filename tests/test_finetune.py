"""Fine-tuning from registered weights: a backbone kept under a new head, rebuilt layers, --freeze,
--unfreeze-top, --freeze-until, a second stage from a saved model, the starting weights recorded in
the saved model, and bad options rejected before any work."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import kzoo
from kzoo import ConfigError
from kzoo._store import saving
from kzoo._weights.finetune import weighted_layers
from kzoo.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def two_class_csv(tmp_path_factory):
    """Iris measurements with a two-class target: the output layer must be rebuilt."""
    from sklearn.datasets import load_iris

    bunch = load_iris()
    lines = ["sl,sw,pl,pw,kind"] + [",".join([*(f"{v:.1f}" for v in x), "virginica" if y == 2 else "other"])
                                    for x, y in zip(bunch.data, bunch.target)]
    path = tmp_path_factory.mktemp("ft") / "two.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def pretrained():
    """Layer name -> weights of mlp.iris as published."""
    return {layer.name: layer.get_weights() for layer in weighted_layers(kzoo.build("mlp.iris"))}


def layer_weights(model):
    return {layer.name: layer.get_weights() for layer in weighted_layers(model)}


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_freeze_trains_only_the_new_head(two_class_csv, pretrained, tmp_path):
    out = tmp_path / "ft.keras"
    result = kzoo.train("mlp", two_class_csv, target="kind", weights="iris", freeze=True, epochs=2, out=out)
    after = layer_weights(result.model)
    assert result.metadata["weights"]["head"] == ["output"] and result.metadata["weights"]["new_head"]
    assert result.metadata["weights"]["rebuilt"] == []
    assert result.metadata["weights"]["frozen"] == ["hidden_1", "hidden_2", "hidden_3"]
    assert all(same(after[n], pretrained[n]) for n in ("hidden_1", "hidden_2", "hidden_3"))
    assert after["output"][0].shape == (32, 2)
    recorded = saving.read_metadata(out)["weights"]
    assert recorded["name"] == "mlp.iris" and recorded["sha256"] == kzoo.get_weights("mlp.iris").sha256


def test_unfrozen_fine_tuning_keeps_the_backbone_and_trains_everything(pretrained):
    result = kzoo.train("mlp", "iris", weights="mlp.iris", epochs=1, learning_rate=0.001)
    after = layer_weights(result.model)
    recorded = result.metadata["weights"]
    assert recorded["rebuilt"] == [] and recorded["frozen"] == [] and recorded["head"] == ["output"]
    assert all(not same(after[n], pretrained[n]) for n in after)
    hidden = [n for n in after if n != "output"]
    assert all(np.allclose(after[n][0], pretrained[n][0], atol=0.05) for n in hidden), "started from the weights"
    assert not np.allclose(after["output"][0], pretrained["output"][0], atol=0.05), "a new head, not the old one"


def test_freeze_with_nothing_rebuilt_trains_the_output_layers():
    result = kzoo.train("multi_output_mlp", "iris", weights="iris", freeze=True, epochs=1)
    assert result.metadata["weights"]["frozen"] == ["trunk_dense_1", "trunk_dense_2"]
    trainable = {layer.name for layer in weighted_layers(result.model) if layer.trainable}
    assert trainable == {"label", "value"}


def test_freeze_until_a_layer(pretrained):
    result = kzoo.train("mlp", "iris", weights="iris", freeze_until="hidden_2", epochs=1)
    after = layer_weights(result.model)
    assert same(after["hidden_1"], pretrained["hidden_1"]) and same(after["hidden_2"], pretrained["hidden_2"])
    assert not same(after["hidden_3"], pretrained["hidden_3"])


def test_cli_names_the_rebuilt_layers_in_one_line(two_class_csv, tmp_path):
    out = tmp_path / "ft.keras"
    result = run("train", "mlp", "--weights", "iris", "--data", two_class_csv, "--target", "kind", "--freeze",
                 "--epochs", 1, "--out", out)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "fine-tuning" in line]
    assert lines == ["kzoo: fine-tuning from mlp.iris: kept 3 layers, new head: output; "
                     "frozen: hidden_1, hidden_2, hidden_3"]
    assert out.is_file()


@pytest.mark.parametrize("args, message", [
    (["--freeze"], "--freeze (expected weights to fine-tune from"),
    (["--weights", "iris", "--freeze", "--freeze-until", "hidden_1"], "not both"),
    (["--weights", "iris", "--freeze-until", "hiden_2"], "Did you mean hidden_2"),
    (["--weights", "irsi"], "Did you mean iris"),
])
def test_bad_fine_tuning_options_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "m.keras"
    result = run("train", "mlp", "--data", "iris", "--epochs", 1, "--out", out, *args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_python_api_rejects_freeze_without_weights():
    with pytest.raises(ConfigError, match=r"freeze=True \(expected weights to fine-tune from"):
        kzoo.train("mlp", "iris", freeze=True, epochs=1)


# -- pairing layers between two builds ----------------------------------------------------------
K, B = ((3, 4), (4,)), ((4, 2), (2,))


def test_layers_pair_by_name_when_both_builds_name_them_alike() -> None:
    from kzoo._weights.finetune import match_layers

    # a renamed head and a layer moved: names decide, and a head of other shapes pairs with nothing
    assert match_layers([("a", K), ("b", K), ("out", B)], [("b", K), ("a", K), ("out", ((4, 3), (3,)))]) == {0: 1, 1: 0}


def test_layers_keras_numbered_pair_by_position() -> None:
    """The second build of a library that leaves names to Keras: conv2d_94 where the first had conv2d."""
    from kzoo._weights.finetune import match_layers

    first = [("conv2d", K), ("conv2d_1", K), ("predictions", B)]
    second = [("conv2d_94", K), ("conv2d_95", K), ("predictions", ((4, 3), (3,)))]
    assert match_layers(second, first) == {0: 0, 1: 1}
    assert match_layers(second[:2], second) == {0: 0, 1: 1}  # a backbone of the same build, by name
