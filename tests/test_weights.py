"""Registered weights: cards without keras, lookups, plugin isolation, sha256 before every load,
the download cache (local HTTP server), offline mode, and every bad input as one line."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo import Weights, WeightsError
from kzoo._weights import cache

from ._cli import one_line_error, run
from .weights_server import Routes, serve

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = {"mlp.iris", "mlp.digits", "two_input_mlp.digits", "siamese_mlp.digits", "multi_output_mlp.iris"}
CONFIG = {"input_dim": 3, "hidden_units": (4,), "num_classes": 2}


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> tuple[bytes, str]:
    """The bytes and sha256 of a tiny mlp's .weights.h5 (what the test server serves)."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.weights.h5"
    kzoo.build("mlp", **CONFIG).save_weights(path)
    body = path.read_bytes()
    return body, hashlib.sha256(body).hexdigest()


@pytest.fixture
def routes():
    with serve(Routes()) as r:
        yield r


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("KZOO_CACHE_DIR", str(folder))
    monkeypatch.delenv("KZOO_OFFLINE", raising=False)
    monkeypatch.setenv("KZOO_DOWNLOAD_TIMEOUT", "0.5")
    return folder


class WeightsPlugin:
    def __init__(self, *weights: object, fail: bool = False) -> None:
        self.weights, self.fail = weights, fail

    @kzoo.hookimpl
    def kzoo_register_weights(self, register):
        for w in self.weights:
            register(w)
        if self.fail:
            raise RuntimeError("boom")


def tiny(source: str, sha: str, name: str = "tiny") -> Weights:
    return Weights(model="mlp", name=name, source=source, sha256=sha, config=CONFIG,
                   data={"source": "synthetic"}, metrics={}, license="MIT")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# -- cards and lookups ----------------------------------------------------------------------------
def test_models_list_their_builtin_weights_as_plain_data():
    assert {"iris", "digits"} <= set(kzoo.get("mlp").weights)
    iris = kzoo.get("mlp").weights["iris"]
    assert isinstance(iris, Weights) and iris.full_name == "mlp.iris" and iris.plugin == "weights"
    assert iris.dataset == "iris" and iris.metrics["accuracy"] > 0.9 and iris.config["num_classes"] == 3
    assert kzoo.get("mlp").weights["digits"].config["input_dim"] == 64
    assert BUILTIN <= set(kzoo.list_weights())
    assert "two_input_mlp.digits" in kzoo.list_weights("two_input_mlp")
    assert "mlp.iris" not in kzoo.list_weights("two_input_mlp")


def test_builtin_cards_record_how_they_were_made():
    """Each card's command is the script's recipe, so rerunning the script remakes that file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_weights", ROOT / "scripts" / "make_weights.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert set(script.RECIPES) == BUILTIN
    folder = Path(kzoo.get_weights("mlp.iris").base_dir) / "weights"
    for name in BUILTIN:
        card = json.loads((folder / f"{name}.json").read_text())
        assert card["training"]["command"] == " ".join(["kzoo", "train", *script.RECIPES[name][0], *script.COMMON])
        assert card["training"]["command"].startswith(f"kzoo train {card['model']} --data {card['data']['source']}")
        assert (folder / f"{name}.md").is_file()
        assert card["size"] == (folder / card["file"]).stat().st_size < 200_000


def test_build_with_weights_is_build_of_the_full_name():
    a = kzoo.build("two_input_mlp", weights="digits")
    b = kzoo.build("two_input_mlp.digits")
    fresh = kzoo.build("two_input_mlp", input_dims=(32, 32))
    for x, y, z in zip(a.get_weights(), b.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, z) for x, z in zip(a.get_weights(), fresh.get_weights()))


def test_unknown_weights_suggest_close_names():
    with pytest.raises(kzoo.UnknownWeightsError, match="Did you mean mlp.iris"):
        kzoo.build("mlp.irs")
    with pytest.raises(kzoo.UnknownWeightsError, match="Did you mean iris"):
        kzoo.build("mlp", weights="irs")
    one_line_error(run("evaluate", "mlp.irs", "--data", "iris"), "unknown weights 'mlp.irs'", "Did you mean mlp.iris")
    one_line_error(run("weights", "fetch", "mlp.irs"), "Did you mean mlp.iris")


def test_weights_for_another_model_or_config_are_refused():
    with pytest.raises(WeightsError, match="are for model 'two_input_mlp', not 'mlp'"):
        kzoo.build("mlp", weights="two_input_mlp.digits")
    with pytest.raises(WeightsError, match=r"do not fit model 'mlp' with config \{'num_classes': '5'\}"):
        kzoo.build("mlp.iris", num_classes=5)
    one_line_error(run("train", "mlp", "--weights", "two_input_mlp.digits", "--data", "iris", "--epochs", 1),
                   "not 'mlp'")


# -- plugins ---------------------------------------------------------------------------------------
def test_a_failing_weights_plugin_is_isolated(tiny_file):
    body, sha = tiny_file
    with pytest.warns(kzoo.PluginWarning, match="kzoo_register_weights raised RuntimeError: boom"):
        kzoo.register_plugin(WeightsPlugin(tiny("x.weights.h5", sha), fail=True), "broken_weights")
        names = kzoo.list_weights()
    assert "mlp.tiny" not in names and BUILTIN <= set(names)
    info = {i.name: i for i in kzoo.plugin_infos()}["broken_weights"]
    assert info.status == "failed"


@pytest.mark.parametrize("bad, why", [
    ("not weights", "expected a kzoo.Weights"),
    (tiny("x.weights.h5", "abc"), "sha256 'abc'"),
    (tiny("x.bin", "0" * 64), "expected a .weights.h5 file"),
    (Weights(model="mlp", name="iris", source="x.weights.h5", sha256="0" * 64), "plugin 'weights' already registered"),
])
def test_bad_registrations_fail_only_their_plugin(bad, why):
    with pytest.warns(kzoo.PluginWarning, match=why):
        kzoo.register_plugin(WeightsPlugin(bad), "bad_weights")
        names = kzoo.list_weights()
    assert BUILTIN <= set(names) and kzoo.get_weights("mlp.iris").plugin == "weights"


def test_weights_for_a_model_nobody_registered_fail_when_used(tiny_file):
    _, sha = tiny_file
    ghost = Weights(model="ghost", name="w", source="/nowhere/g.weights.h5", sha256=sha)
    kzoo.register_plugin(WeightsPlugin(ghost), "ghost_weights")
    assert "ghost.w" in kzoo.list_weights()
    with pytest.raises(WeightsError, match="model 'ghost', which no loaded plugin registers"):
        kzoo.get_weights("ghost.w")


# -- files, checksums, cache ----------------------------------------------------------------------------
def test_tampered_local_file_is_refused_and_left_alone(tmp_path, tiny_file):
    body, sha = tiny_file
    path = tmp_path / "mine.weights.h5"
    path.write_bytes(body[:-10] + b"0123456789")
    kzoo.register_plugin(WeightsPlugin(tiny(str(path), sha)), "local_weights")
    with pytest.raises(WeightsError) as caught:
        kzoo.build("mlp.tiny")
    message = str(caught.value)
    assert f"expected sha256 {sha}, got {hashlib.sha256(path.read_bytes()).hexdigest()}" in message
    assert path.exists(), "a file kzoo did not download is not kzoo's to delete"


def test_download_goes_through_the_cache_once(routes, tiny_file, cache_dir, capsys):
    body, sha = tiny_file
    routes.files["/tiny.weights.h5"] = body
    kzoo.register_plugin(WeightsPlugin(tiny(routes.url("/tiny.weights.h5"), sha)), "remote")
    path = cache.fetch(kzoo.get_weights("mlp.tiny"), progress=True)
    assert "downloading mlp.tiny" in capsys.readouterr().err
    assert path.parent == cache_dir / "weights" and path.read_bytes() == body
    assert leftovers(cache_dir) == [path.name]
    model = kzoo.build("mlp", weights="tiny")
    assert model.count_params() == kzoo.build("mlp", **CONFIG).count_params()
    assert routes.requests == ["/tiny.weights.h5"], "the second use reads the cache"
    result = run("weights", "verify", "mlp.tiny")
    assert result.exit_code == 0 and "ok" in result.output


def test_offline_never_touches_the_network(routes, tiny_file, cache_dir, monkeypatch):
    body, sha = tiny_file
    routes.files["/tiny.weights.h5"] = body
    kzoo.register_plugin(WeightsPlugin(tiny(routes.url("/tiny.weights.h5"), sha)), "remote")
    monkeypatch.setenv("KZOO_OFFLINE", "1")
    expected = cache.cached_path(kzoo.get_weights("mlp.tiny"))
    one_line_error(run("weights", "fetch", "mlp.tiny"), "KZOO_OFFLINE is set", str(expected))
    assert routes.requests == [] and leftovers(cache_dir) == []
    kzoo.build("mlp.iris")  # bundled files need no network
    monkeypatch.delenv("KZOO_OFFLINE")
    assert run("weights", "fetch", "mlp.tiny").exit_code == 0
    monkeypatch.setenv("KZOO_OFFLINE", "1")
    kzoo.build("mlp.tiny")  # cached: fine offline
    assert routes.requests == ["/tiny.weights.h5"]


def test_tampered_cached_file_is_removed(routes, tiny_file, cache_dir):
    body, sha = tiny_file
    routes.files["/tiny.weights.h5"] = body
    kzoo.register_plugin(WeightsPlugin(tiny(routes.url("/tiny.weights.h5"), sha)), "remote")
    path = cache.fetch(kzoo.get_weights("mlp.tiny"))
    path.write_bytes(body + b"tampered")
    actual = hashlib.sha256(body + b"tampered").hexdigest()
    result = run("weights", "verify")
    one_line_error(result, "1 of", "failed verification", f"expected sha256 {sha}, got {actual}")
    assert not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body[: len(body) // 2])  # truncated
    with pytest.raises(WeightsError, match="failed their checksum"):
        kzoo.build("mlp.tiny")
    assert not path.exists()


@pytest.mark.parametrize("route, served, message", [
    ("/missing.weights.h5", None, "HTTP 404"),
    ("/slow.weights.h5", "body", "timed out"),
    ("/short.weights.h5", "truncated", "failed their checksum"),
    ("/loop.weights.h5", "loop", "the server redirects in a loop (HTTP 302"),  # urllib says it in three lines
])
def test_failed_downloads_are_one_line_and_leave_nothing(routes, tiny_file, cache_dir, route, served, message):
    body, sha = tiny_file
    if served == "body":
        routes.files[route] = body
    elif served == "truncated":
        routes.files[route] = body[:100]
    elif served == "loop":
        routes.redirects[route] = route
    kzoo.register_plugin(WeightsPlugin(tiny(routes.url(route), sha)), "remote")
    one_line_error(run("weights", "fetch", "mlp.tiny"), "mlp.tiny", message)
    one_line_error(run("evaluate", "mlp.tiny", "--data", "synthetic"), message)
    assert leftovers(cache_dir) == []


def test_a_full_disk_during_download_is_one_line(routes, tiny_file, cache_dir, monkeypatch):
    body, sha = tiny_file
    routes.files["/tiny.weights.h5"] = body
    kzoo.register_plugin(WeightsPlugin(tiny(routes.url("/tiny.weights.h5"), sha)), "remote")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(cache.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    one_line_error(run("weights", "fetch", "mlp.tiny"), "No space left on device", "KZOO_CACHE_DIR")
    assert leftovers(cache_dir) == []


# -- the CLI ------------------------------------------------------------------------------------------
def test_weights_table_and_json():
    result = run("weights")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:3] == ["NAME", "DATA", "SET"]
    for name in BUILTIN:
        weights = kzoo.get_weights(name)
        row = next(r for r in rows if r.startswith(name + " "))
        assert weights.dataset in row and "KiB" in row and "Apache-2.0" in row  # the digest: --json (100 columns)
    cards = {c["name"]: c for c in json.loads(run("weights", "--json").output)}
    assert BUILTIN <= set(cards) and cards["mlp.iris"]["sha256"] == kzoo.get_weights("mlp.iris").sha256
    only = run("weights", "--model", "mlp").output
    assert "mlp.iris" in only and "two_input_mlp" not in only


def test_verify_and_fetch_bundled_files():
    result = run("weights", "verify")
    assert result.exit_code == 0, result.output
    assert all(f"{name} " in result.output for name in BUILTIN) and "failed" not in result.output
    fetched = run("weights", "fetch", "mlp.iris")
    assert fetched.exit_code == 0 and "verified" in fetched.output


def test_a_weights_name_works_where_a_keras_file_does(tmp_path):
    result = run("evaluate", "two_input_mlp.digits", "--data", "digits", "--json")
    assert result.exit_code == 0, result.output
    recorded = kzoo.get_weights("two_input_mlp.digits").metrics["accuracy"]
    assert abs(json.loads(result.output)["accuracy"] - recorded) <= 0.01
    out = tmp_path / "p.csv"
    assert run("predict", "mlp.iris", "--data", "iris", "--out", out).exit_code == 0
    header, first = out.read_text().splitlines()[:2]
    assert header.startswith("row,output,output_p_setosa") and first.split(",")[1] == "setosa"
