"""Hardening round 3 (issue 21): outputs never over inputs, bounded downloads and waits, sizes
before allocation, other people's broken packages. Each case ends in one kzoo error line (or a
correct success), and a refusal comes before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kzoo.cli import main


def kzoo_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def one_error_line(output: str) -> str:
    """The CLI's ``kzoo: error:`` line, asserting it is the only error and no traceback."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("kzoo: error:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "f.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    return path


# -- 5. no output over an input -----------------------------------------------------------------
def test_predict_out_over_its_data_is_refused(tmp_path, csv_file) -> None:
    before = csv_file.read_bytes()
    model = tmp_path / "m.keras"
    model.write_bytes(b"not even read: the refusal comes first")
    code, output = kzoo_cli("predict", model, "--data", csv_file, "--out", csv_file)
    assert code == 1
    assert "--out" in one_error_line(output) and "same file as the input --data" in output
    assert csv_file.read_bytes() == before


def test_predict_out_over_its_model_is_refused(tmp_path) -> None:
    model = tmp_path / "m.keras"
    model.write_bytes(b"model bytes")
    (tmp_path / "sub").mkdir()
    code, output = kzoo_cli("predict", model, "--data", "iris", "--out", tmp_path / "sub" / ".." / "m.keras")
    assert code == 1 and "same file as the input model" in one_error_line(output)
    assert model.read_bytes() == b"model bytes"


def test_an_output_reached_through_a_link_is_still_the_input(tmp_path, csv_file) -> None:
    link, hard = tmp_path / "link.csv", tmp_path / "hard.csv"
    link.symlink_to(csv_file)
    os.link(csv_file, hard)
    for alias in (link, hard):
        code, output = kzoo_cli("predict", tmp_path / "m.keras", "--data", csv_file, "--out", alias)
        assert code == 1 and "same file as the input --data" in one_error_line(output)


def test_train_metrics_over_the_data_is_refused_before_reading_it(csv_file) -> None:
    before = csv_file.read_bytes()
    code, output = kzoo_cli("train", "mlp", "--data", csv_file, "--target", "y", "--epochs", "1",
                            "--metrics-out", csv_file)
    assert code == 1 and "--metrics-out" in one_error_line(output) and "--data" in output
    assert csv_file.read_bytes() == before


def test_two_outputs_of_one_run_cannot_share_a_path(tmp_path) -> None:
    out = tmp_path / "m.keras"
    code, output = kzoo_cli("train", "mlp", "--data", "iris", "--epochs", "1", "--out", out, "--metrics-out", out)
    assert code == 1 and "same file as the output --out" in one_error_line(output)
    assert not out.exists()


def test_the_model_cannot_be_written_over_the_checkpoint(tmp_path) -> None:
    ckpt = tmp_path / "ckpt"
    code, output = kzoo_cli("train", "mlp", "--data", "iris", "--epochs", "1", "--checkpoint-dir", ckpt,
                            "--out", ckpt / "checkpoint.keras")
    assert code == 1 and "--checkpoint-dir" in one_error_line(output)


def test_the_python_api_refuses_too(tmp_path, csv_file) -> None:
    import kzoo

    with pytest.raises(kzoo.ConfigError, match="metrics_out .* same file as the input data"):
        kzoo.train("mlp", csv_file, target="y", epochs=1, metrics_out=csv_file)


# -- 4/9/10. output paths that are not plain files in existing folders --------------------------------
def test_predict_out_into_a_missing_folder_is_refused_and_creates_nothing(tmp_path, csv_file) -> None:
    out = tmp_path / "nonexistent" / "dir" / "p.csv"
    code, output = kzoo_cli("predict", tmp_path / "m.keras", "--data", csv_file, "--out", out)
    assert code == 1 and "does not exist" in one_error_line(output)
    assert not (tmp_path / "nonexistent").exists()


def test_an_output_that_is_a_device_or_pipe_is_refused(tmp_path, csv_file) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (fifo, Path(os.devnull)):
        code, output = kzoo_cli("predict", tmp_path / "m.keras", "--data", csv_file, "--out", target)
        assert code == 1 and "not a regular file" in one_error_line(output)
    assert fifo.exists() and not fifo.is_file()


@pytest.mark.parametrize("command", ["predict", "train"])
def test_a_file_name_too_long_is_one_line(tmp_path, csv_file, command) -> None:
    out = tmp_path / ("x" * 300 + ".keras")
    args = (["predict", tmp_path / "m.keras", "--data", csv_file] if command == "predict"
            else ["train", "mlp", "--data", "iris", "--epochs", "1"])
    code, output = kzoo_cli(*args, "--out", out)
    assert code == 1 and "too long" in one_error_line(output)


# -- 4. small things ------------------------------------------------------------------------------
def test_a_non_image_file_in_a_class_folder_is_left_out_with_a_note(tmp_path) -> None:
    import numpy as np
    from PIL import Image

    import kzoo
    from kzoo.datasets.images import read_images

    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(np.full((4, 4), 40 * i, "uint8")).save(tmp_path / label / f"{i}.png")
    (tmp_path / "cat" / "notes.txt").write_text("where these came from")
    with pytest.warns(kzoo.CsvNote, match=r"left out 1 file.*notes\.txt"):
        table = read_images(str(tmp_path), kzoo.TensorSpec("image", (4, 4, 1)))
    assert table.num_samples == 4 and table.class_names == ["cat", "dog"]
    assert not any(p.endswith(".txt") for p in table.paths)


def test_the_not_numeric_advice_on_predict_does_not_say_target() -> None:
    import numpy as np

    import kzoo
    from kzoo.datasets.shaping import text_assignments
    from kzoo.datasets.table import Table

    def table(target):
        return Table(features=np.zeros((2, 0), "float32"), feature_names=[], source="d.csv",
                     text={"note": np.array(["a", "b"])}, target=target)

    inputs = [kzoo.TensorSpec("input", (3,))]
    with pytest.raises(kzoo.DataError, match="not numeric") as predicting:
        text_assignments(inputs, table(None))
    assert "target" not in str(predicting.value) and "remove the column" in str(predicting.value)
    with pytest.raises(kzoo.DataError, match="make it the target"):
        text_assignments(inputs, table(np.array([0, 1])))


def test_a_train_result_prints_as_a_summary() -> None:
    from kzoo._workflow.training import TrainResult

    history = {"loss": [0.5] * 1000, "accuracy": [0.9] * 1000}
    result = TrainResult(model=None, history=history, metrics={"loss": 0.5, "accuracy": 0.9}, initial_epoch=0,
                         epochs=1000, metadata={"history": history}, stop_reason="trained all 1000 epochs")
    text = repr(result)
    assert len(text) < 300 and "epochs=1000" in text and "accuracy=0.9" in text and "trained all" in text


def test_every_public_name_is_in_dir_of_kzoo() -> None:
    import kzoo

    names = dir(kzoo)
    assert {"train", "export_model", "predict", "evaluate", "load", "datasets"} <= set(names)
    assert set(kzoo.__all__) <= set(names)


@pytest.mark.parametrize("args, words", [
    (["evaluate", "m.keras"], "missing option '-d' / '--data'"),
    (["train"], "missing argument 'MODEL'"),
    (["train", "mlp", "--data", "iris", "--epoch", "3"], "no such option '--epoch'"),
])
def test_usage_errors_are_one_line_and_exit_2(args, words) -> None:
    code, output = kzoo_cli(*args)
    assert code == 2
    assert output.strip() == one_error_line(output) and words in output and "--help" in output


# -- 3. the builder/guard cycle stays broken ------------------------------------------------------
def test_the_guard_does_not_import_the_builder_even_inside_functions() -> None:
    from .test_layers import import_graph

    graph = import_graph()
    assert "kzoo._zoo.guard" in graph["kzoo._zoo.builder"]
    assert "kzoo._zoo.builder" not in graph["kzoo._zoo.guard"]


# -- 1 and 7. other people's broken packages ------------------------------------------------------
def plugin_site(root: Path, modules: dict[str, str], metadata: str = "Name: kzoo-broken\nVersion: 0.1\n",
                dist: str = "kzoo_broken-0.1") -> Path:
    """A folder that, on sys.path, holds an installed distribution with kzoo plugins
    ``{entry-point name: module source}``, its METADATA as given."""
    info = root / f"{dist}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\n" + metadata)
    lines = ["[kzoo]"]
    for name, source in modules.items():
        (root / f"kzoo_h3_{name}.py").write_text(source)
        lines.append(f"{name} = kzoo_h3_{name}")
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return root


def kzoo_process(site: Path, *args: str, **env: str):
    from .conftest import run_kzoo

    root = Path(__file__).resolve().parents[1]
    return run_kzoo(*args, env={"PYTHONPATH": os.pathsep.join([str(site), str(root)]), **env})


HANGS = """
import threading
import kzoo

@kzoo.hookimpl
def kzoo_register_models(register):
    threading.Event().wait()  # never returns
"""

NEVER_ENDING_THREAD = """
import threading
import kzoo

threading.Thread(target=threading.Event().wait, name="forever").start()  # not a daemon

@kzoo.hookimpl
def kzoo_register_models(register):
    pass
"""


def test_a_hook_that_never_returns_is_abandoned_and_the_command_ends(tmp_path) -> None:
    site = plugin_site(tmp_path, {"sloth": HANGS})
    done = kzoo_process(site, "list", KZOO_PLUGIN_TIMEOUT="0.2", KZOO_PLUGIN_ABANDON="1")
    assert done.returncode == 0, done.stderr
    assert "mlp" in done.stdout
    assert "'sloth'" in done.stderr and "abandoned" in done.stderr and "Traceback" not in done.stderr
    plugins_json = kzoo_process(site, "plugins", "--json", KZOO_PLUGIN_ABANDON="1")
    import json

    (sloth,) = [p for p in json.loads(plugins_json.stdout) if p["name"] == "sloth"]
    assert sloth["status"] == "failed" and "KZOO_PLUGIN_ABANDON" in sloth["error"]


def test_a_plugin_thread_that_never_ends_does_not_keep_kzoo_from_exiting(tmp_path) -> None:
    site = plugin_site(tmp_path, {"spinner": NEVER_ENDING_THREAD})
    done = kzoo_process(site, "list")  # imported in kzoo's daemon thread: its threads are daemons too
    assert done.returncode == 0 and "mlp" in done.stdout
    inline = kzoo_process(site, "list", KZOO_PLUGIN_ABANDON="0")  # imported in the main thread
    assert inline.returncode == 0 and "mlp" in inline.stdout
    assert "not waiting for thread(s) forever" in inline.stderr


def test_broken_metadata_of_other_packages_is_a_warning_naming_them(tmp_path) -> None:
    plugin_site(tmp_path, {"noname": "import kzoo\n"}, metadata="Version: 0.1\n", dist="noname-0.1")
    plugin_site(tmp_path, {"badreq": "import kzoo\n"}, dist="badreq-0.1",
                metadata="Name: badreq\nVersion: 0.1\nRequires-Dist: kzoo (>=broken\n")
    done = kzoo_process(tmp_path, "list")
    assert done.returncode == 0 and "mlp" in done.stdout and "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("kzoo: warning:")]
    assert any("noname-0.1.dist-info" in w and "no Name" in w for w in warnings), done.stderr
    assert any("'badreq'" in w and "cannot be read" in w for w in warnings), done.stderr
    assert len(done.stderr.strip().splitlines()) == len(warnings)  # each warning is one line


def test_a_third_party_plugin_named_like_a_built_in_is_reported(tmp_path, monkeypatch) -> None:
    import kzoo

    from .test_hardening import fake_plugins

    fake_plugins(tmp_path, monkeypatch, {"mlp": "raise RuntimeError('never imported')\n"})
    with pytest.warns(kzoo.PluginWarning, match=r"'mlp' .*name of the built-in plugin 'mlp'.*not loaded"):
        infos = {i.name: i for i in kzoo.plugin_infos()}
    assert infos["mlp"].distribution == "kzoo" and infos["mlp"].status == "ok"


class RaisingDir:
    def __dir__(self):
        raise RuntimeError("no listing for you")


def test_a_plugin_object_whose_dir_raises_is_marked_failed() -> None:
    import kzoo

    with pytest.warns(kzoo.PluginWarning, match="no listing for you"):
        info = kzoo.register_plugin(RaisingDir(), "dirless")
    assert info.status == "failed" and "mlp" in kzoo.list_models()


def declared_plugin(**parts):
    """A plugin with one small declared model ``odd_net`` whose pieces misbehave as asked."""
    import kzoo

    def odd_net(input_dim: int = 3, num_classes: int = 2):
        if parts.get("exit_in_build"):
            raise SystemExit(5)
        import keras

        inputs = keras.Input((input_dim,), name="input")
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(inputs))

    builder = kzoo.model(validate=parts.get("validate"))(odd_net)
    if "estimate" in parts:
        builder.estimate_params = parts["estimate"]

    class Plugin:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            register(builder)

    return Plugin()


def test_sys_exit_in_a_build_is_one_line_naming_the_plugin() -> None:
    import kzoo

    kzoo.register_plugin(declared_plugin(exit_in_build=True), "quitter")
    with pytest.raises(kzoo.PluginError, match=r"'odd_net' of plugin 'quitter' failed to build: SystemExit\(5\)"):
        kzoo.build("odd_net")


@pytest.mark.parametrize("estimate, words", [
    (lambda config: 1 // 0, "ZeroDivisionError"),
    (lambda config: "lots", "returned 'lots'"),
    (lambda config: sys_exit(3), "SystemExit(3)"),
])
def test_a_broken_estimate_params_names_the_plugin(estimate, words) -> None:
    import kzoo

    kzoo.register_plugin(declared_plugin(estimate=estimate), "estimator")
    with pytest.raises(kzoo.PluginError, match=r"estimate_params of model 'odd_net' \(plugin 'estimator'\)") as caught:
        kzoo.build("odd_net")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def sys_exit(code: int):
    raise SystemExit(code)


def test_a_raising_validate_names_the_plugin() -> None:
    import kzoo

    kzoo.register_plugin(declared_plugin(validate=lambda config: {}["missing"]), "strict")
    with pytest.raises(kzoo.PluginError, match=r"validate_config of model 'odd_net' \(plugin 'strict'\).*KeyError"):
        kzoo.build("odd_net")


@pytest.mark.parametrize("loader, words", [
    (lambda: 1 // 0, "ZeroDivisionError"),
    (lambda: {"x": [1, 2]}, "returned dict, not a kzoo.datasets.Table"),
    (lambda: sys_exit(3), "SystemExit(3)"),
])
def test_a_broken_data_set_loader_is_one_line_naming_the_plugin(loader, words) -> None:
    import kzoo
    from kzoo.datasets import Dataset

    class Plugin:
        @kzoo.hookimpl
        def kzoo_register_datasets(self, register):
            register(Dataset(name="odd_data", description="breaks", load=loader))

    kzoo.register_plugin(Plugin(), "odd_data_plugin")
    code, output = kzoo_cli("train", "mlp", "--data", "odd_data", "--epochs", "1")
    assert code == 1
    line = one_error_line(output)
    assert "data set 'odd_data' (plugin 'odd_data_plugin')" in line and words in line


# -- 6. bounded downloads and waits -----------------------------------------------------------------
@pytest.fixture
def streams():
    """A local HTTP server whose routes stream forever: ``/zeros`` as fast as it can, ``/drip``
    one byte every 0.1 s, ``/liar`` announcing a huge Content-Length; ``/file`` serves FILE_BODY."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server names it so
            self.send_response(200)
            if self.path == "/file":
                self.send_header("Content-Length", str(len(FILE_BODY)))
                self.end_headers()
                self.wfile.write(FILE_BODY)
                return
            if self.path == "/liar":
                self.send_header("Content-Length", str(10**12))
            self.end_headers()
            try:
                while True:
                    if self.path == "/drip":
                        self.wfile.write(b"\0")
                        self.wfile.flush()
                        time.sleep(0.1)
                    else:
                        self.wfile.write(bytes(65536))
            except OSError:
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


FILE_BODY = b"weights bytes " * 100


def remote(url: str, size: int | None = None):
    import hashlib

    import kzoo

    return kzoo.Weights(model="mlp", name="remote", source=url, sha256=hashlib.sha256(FILE_BODY).hexdigest(),
                        size=size).registered("test", None)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("KZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KZOO_OFFLINE", raising=False)
    monkeypatch.delenv("KZOO_DOWNLOAD_TIMEOUT", raising=False)
    monkeypatch.delenv("KZOO_MAX_DOWNLOAD_BYTES", raising=False)
    return tmp_path / "cache"


def cached_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("route, size, env, words", [
    ("/zeros", 5000, {}, "the server sent"),
    ("/zeros", None, {"KZOO_MAX_DOWNLOAD_BYTES": "200K"}, "more than the 200.0 KiB expected"),
    ("/liar", 5000, {}, "the server announces"),
])
def test_a_download_stops_at_the_expected_size(streams, cache_dir, monkeypatch, route, size, env, words) -> None:
    import kzoo
    from kzoo._weights import cache

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(kzoo.WeightsError, match=words) as caught:
        cache.fetch(remote(streams + route, size), progress=False)
    assert "\n" not in str(caught.value)
    assert cached_files(cache_dir) == []


def test_a_server_that_drips_trips_the_deadline(streams, cache_dir, monkeypatch) -> None:
    import kzoo
    from kzoo._weights import cache

    monkeypatch.setenv("KZOO_DOWNLOAD_TIMEOUT", "0.4")  # every single read comes within it
    with pytest.raises(kzoo.WeightsError, match=r"too slow: .* behind the deadline of 0.4 s"):
        cache.fetch(remote(streams + "/drip", 10**6), progress=False)
    assert cached_files(cache_dir) == []


def test_a_temp_file_of_a_killed_download_is_removed_by_the_next(streams, cache_dir) -> None:
    from kzoo._system.files import TEMP_TAG
    from kzoo._weights import cache

    weights = remote(streams + "/file", len(FILE_BODY))
    target = cache.cached_path(weights)
    target.parent.mkdir(parents=True)
    dead = target.parent / f".{target.stem}{TEMP_TAG}999999999-abcd{target.suffix}"  # no such process
    alive = target.parent / f".{target.stem}{TEMP_TAG}{os.getpid()}-efgh{target.suffix}"  # a download going on
    dead.write_bytes(b"half")
    alive.write_bytes(b"half")
    assert cache.fetch(weights, progress=False) == target and target.read_bytes() == FILE_BODY
    assert not dead.exists() and alive.exists()


@pytest.mark.parametrize("variable, value, command", [
    ("KZOO_DOWNLOAD_TIMEOUT", "nan", ("weights", "fetch", "mlp.iris")),
    ("KZOO_DOWNLOAD_TIMEOUT", "-1", ("weights", "fetch", "mlp.iris")),
    ("KZOO_DOWNLOAD_TIMEOUT", "1e308", ("weights", "fetch", "mlp.iris")),
    ("KZOO_PLUGIN_TIMEOUT", "1e308", ("list",)),
    ("KZOO_PLUGIN_TIMEOUT", "soon", ("list",)),
    ("KZOO_PLUGIN_ABANDON", "-5", ("list",)),
    ("KZOO_MAX_DOWNLOAD_BYTES", "lots", ("weights", "fetch", "mlp.iris")),
])
def test_numeric_environment_variables_are_checked_in_one_line(tmp_path, monkeypatch, variable, value, command) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("KZOO_CACHE_DIR", str(tmp_path))
    if "weights" in command:  # a cached-nowhere, remote card, so that fetch must download
        import kzoo

        class Remote:
            @kzoo.hookimpl
            def kzoo_register_weights(self, register):
                register(kzoo.Weights(model="mlp", name="far", source="http://127.0.0.1:9/x.weights.h5",
                                      sha256="0" * 64))

        kzoo.register_plugin(Remote(), "far_away")
        command = ("weights", "fetch", "mlp.far")
    code, output = kzoo_cli(*command)
    assert code == 1
    assert f"{variable}={value!r}" in one_error_line(output)
