"""kzoo._workflow.curves.plot_history: real, non-blank pictures with one subplot per quantity, written atomically."""

from __future__ import annotations

import pytest

import kzoo
from kzoo._workflow import curves

from ._images import assert_png, assert_svg

HISTORY = {
    "loss": [1.2, 0.8, 0.5, 0.4],
    "accuracy": [0.4, 0.6, 0.8, 0.85],
    "val_loss": [1.3, 0.9, 0.7, 0.65],
    "val_accuracy": [0.35, 0.55, 0.7, 0.75],
}


def _axes_ids(root):
    return [el.get("id") for el in root.iter() if (el.get("id") or "").startswith("axes_")]


def test_png_is_a_real_image(tmp_path):
    path = curves.plot_history(HISTORY, tmp_path / "curves.png")
    assert path == tmp_path / "curves.png"
    width, height = assert_png(path, min_width=400, min_height=200)
    assert width > height  # two panels side by side


def test_one_subplot_per_quantity_with_training_and_validation(tmp_path):
    root = assert_svg(curves.plot_history({**HISTORY, "mae": [3, 2, 1, 1]}, tmp_path / "curves.svg"))
    assert len(_axes_ids(root)) == 3  # loss, accuracy, mae
    svg = (tmp_path / "curves.svg").read_text()
    assert svg.count("<!-- training -->") == 3  # matplotlib keeps each text as an SVG comment
    assert svg.count("<!-- validation -->") == 2  # mae has no val_mae


def test_validation_only_and_single_epoch_histories_draw(tmp_path):
    assert_png(curves.plot_history({"loss": [0.7], "val_loss": [0.9]}, tmp_path / "one.png"))
    root = assert_svg(curves.plot_history({"val_loss": [0.9, 0.8]}, tmp_path / "val.svg"))
    assert len(_axes_ids(root)) == 1


def test_a_keras_history_draws(tmp_path):
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    builder = kzoo.get("mlp")
    model = builder.compile(builder.build(input_dim=4, num_classes=3))
    history = builder.train(model, x.astype("float32"), y, epochs=3, validation_split=0.2)
    assert_png(curves.plot_history(history, tmp_path / "fit.png"))


@pytest.mark.parametrize("history", [{}, {"loss": []}, [0.1, 0.2]])
def test_nothing_to_plot_is_a_data_error(tmp_path, history):
    with pytest.raises(kzoo.DataError, match="no training history"):
        curves.plot_history(history, tmp_path / "c.png")
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_is_a_config_error(tmp_path):
    with pytest.raises(kzoo.ConfigError, match=r"\.png, \.svg or \.pdf"):
        curves.plot_history(HISTORY, tmp_path / "curves.gif")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    path = tmp_path / "curves.png"
    path.write_bytes(b"old picture")

    def half_write(self, fname, **kwargs):
        open(fname, "wb").write(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_write)
    with pytest.raises(OSError, match="disk full"):
        curves.plot_history(HISTORY, path)
    assert path.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
