"""Saving and loading: .keras round trips for every built-in model and api style, kzoo metadata,
atomic writes, and clear errors for missing or corrupted files."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import kzoo
from kzoo import DataError
from kzoo._store import saving
from kzoo._system.files import atomic_output, write_text
from kzoo.datasets import load as load_data

from .conftest import everyday_models

CASES = [(name, api) for name in everyday_models() for api in kzoo.get_spec(name).apis]


@pytest.mark.parametrize("name, api", CASES)
def test_round_trip_gives_identical_predictions(tmp_path, name, api):
    builder = kzoo.get(name)
    data = load_data("synthetic", name, samples=32)
    overrides = {"api": api} if "api" in builder.spec.default_config else {}
    model = builder.compile(builder.build(**overrides))
    builder.train(model, data.x, data.y, epochs=1)
    path = saving.save(model, tmp_path / f"{name}.keras", saving.model_metadata(name, builder.config(**overrides)))
    loaded = kzoo.load(path)
    before, after = builder.predict(model, data.x), builder.predict(loaded, data.x)
    for key in before if isinstance(before, dict) else [None]:
        a = before[key] if key else before
        b = after[key] if key else after
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0
    # Holds for any conforming model, built-in or from a plugin installed next to kzoo.
    assert saving.read_metadata(path)["config"] == saving.jsonable(builder.config(**overrides))


def test_metadata_rides_inside_the_keras_zip(tmp_path):
    model = kzoo.build("mlp")
    path = saving.save(model, tmp_path / "m.keras", {"model": "mlp", "note": (1, 2)})
    with zipfile.ZipFile(path) as archive:
        assert saving.METADATA_ENTRY in archive.namelist()
    assert saving.read_metadata(path) == {"model": "mlp", "note": [1, 2]}
    assert [p for p in os.listdir(tmp_path)] == ["m.keras"]  # no temporary file left


def test_load_does_not_override_the_users_plugin_choice(tmp_path, monkeypatch):
    name = "siamese_mlp"
    model = kzoo.build(name)
    path = saving.save(model, tmp_path / "s.keras", saving.model_metadata(name, kzoo.get(name).config()))
    monkeypatch.setenv("KZOO_LOAD_PLUGINS", "mlp")  # conftest resets plugins after the test
    kzoo._zoo.plugins.reset()
    with pytest.raises(kzoo.PluginError, match="plugin 'shared_layers' is disabled"):
        kzoo.load(path)
    assert name not in kzoo.list_models()


def test_missing_and_corrupted_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no model file"):
        kzoo.load(tmp_path / "none.keras")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable .keras file"):
        kzoo.load(broken)


def test_save_refuses_other_extensions(tmp_path):
    with pytest.raises(kzoo.ConfigError, match=r"end in \.keras"):
        saving.save(kzoo.build("mlp"), tmp_path / "m.h5")


def test_a_failed_write_leaves_the_old_file_alone(tmp_path):
    target = tmp_path / "out.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]
