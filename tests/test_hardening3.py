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
    (["train"], "missing option '-d' / '--data'"),
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


# -- 9. CSV files read as written ---------------------------------------------------------------------
def test_an_unterminated_quote_is_an_error_naming_its_line(tmp_path) -> None:
    import kzoo
    from kzoo.datasets.files import read_csv

    rows = ["a,b,label"] + [f"{i},{i * 2},{'x' if i % 2 else 'y'}" for i in range(150)]
    rows[10] = '9,18,"x'  # line 11: the quote never closes
    path = tmp_path / "open.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(kzoo.DataError, match=r"line 11: a quoted cell opens there and is never closed"):
        read_csv(str(path), target=["label"])


def test_a_number_with_a_quoted_line_break_is_refused(tmp_path) -> None:
    import kzoo
    from kzoo.datasets.files import read_csv

    path = tmp_path / "broken.csv"
    path.write_text('a,b,y\n1,2,0\n"3\n",4,1\n5,6,1\n')
    with pytest.raises(kzoo.DataError, match=r"line 3: column 'a' holds '3\\n', a quoted cell that spans lines"):
        read_csv(str(path), target=["y"])
    path.write_text('a,note,y\n1,"two\nlines",0\n2,one,1\n')  # text may hold line breaks
    assert read_csv(str(path), target=["y"]).num_samples == 2


def test_a_wide_header_is_read_and_its_duplicates_named(tmp_path) -> None:
    import kzoo
    from kzoo.datasets.csvread import read_columns

    names = [f"c{i}" for i in range(100_000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    assert read_columns(str(path)).header == names
    names[70_000] = names[99_999] = "c5"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    with pytest.raises(kzoo.DataError, match=r"names column\(s\) 'c5' more than once"):
        read_columns(str(path))


def test_endless_lines_and_countless_columns_are_refused(tmp_path) -> None:
    import kzoo
    from kzoo.datasets.csvread import MAX_COLUMNS, MAX_LINE_CHARS, read_columns

    long_line = tmp_path / "long.csv"
    long_line.write_text("a" * (MAX_LINE_CHARS + 1) + "\n1\n")
    with pytest.raises(kzoo.DataError, match="line 1 is longer than"):
        read_columns(str(long_line))
    wide = tmp_path / "wide.csv"
    wide.write_text("a," * MAX_COLUMNS + "a\n")
    with pytest.raises(kzoo.DataError, match="columns, more than the 1,000,000 kzoo reads"):
        read_columns(str(wide))



def test_a_header_of_countless_columns_is_refused_cheaply(tmp_path) -> None:
    from kzoo.datasets.csvread import MAX_LINE_CHARS

    header = tmp_path / "header.csv"
    with open(header, "w") as f:  # 4x the line cap: 33 million columns, no line end (the was 2 GB)
        for _ in range(4):
            f.write("a," * (MAX_LINE_CHARS // 2))
    assert "line 1 is longer than" in refused_cheaply("train", "mlp", "--data", header, "--target", "y")


# -- 8. sizes before allocation: classes, texts ---------------------------------------------------------
def test_one_stray_label_does_not_make_a_million_classes(tmp_path) -> None:
    rows = ["a,b,y"] + [f"{i},{i % 7},{i % 2}" for i in range(150)]
    rows[20] = "20,6,1000000"
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(rows) + "\n")
    line = refused_cheaply("train", "mlp", "--data", path, "--target", "y", "--epochs", "1")  # peak RSS, no keras
    assert "label 1,000,000, which makes 1,000,001 classes" in line and "--task regression" in line


def test_a_text_too_long_to_pad_every_row_to_is_refused() -> None:
    import numpy as np

    import kzoo
    from kzoo.datasets.text import MAX_SEQUENCE_LENGTH, check_lengths

    texts = np.array(["short review", "word " * (MAX_SEQUENCE_LENGTH + 1), "fine"])
    with pytest.raises(kzoo.DataError, match=r"holds 10,001 words in row 1 .* fixed length"):
        check_lengths("review", texts, kzoo.TensorSpec("review", (None,), dtype="int32"))
    check_lengths("review", texts, kzoo.TensorSpec("review", (200,), dtype="int32"))  # cut to 200: fine


LONG_TEXT = """
import sys
import kzoo

@kzoo.model
def reviews(vocab_size=50, num_classes=2):
    import keras
    ids = keras.Input((None,), dtype="int32", name="review")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocab_size, 4)(ids))
    return keras.Model(ids, keras.layers.Dense(num_classes, activation="softmax", name="label")(x))

class Reviews:
    @kzoo.hookimpl
    def kzoo_register_models(self, register):
        register(reviews)

kzoo.register_plugin(Reviews(), "long_texts")
code = 0
try:
    kzoo.train("reviews", sys.argv[1], target="label", inputs={"review": ["review"]}, epochs=1, quiet=True)
except kzoo.DataError as exc:
    print("kzoo: error:", exc, file=sys.stderr)
    code = 1
print("CODE", code, "PEAK_KIB", peak_kib(), "KERAS", "keras" in sys.modules)
"""


@pytest.mark.parametrize("lengths", [[131_000], [120_000] * 3], ids=["one 131,000-character cell", "three reviews"])
def test_a_text_too_long_to_pad_every_row_to_is_refused_cheaply(tmp_path, lengths) -> None:
    """The issue's cases end to end: a text column for an input of any length, refused in a fresh
    interpreter before any row is padded (3.0 and 3.7 GB before)."""
    import csv

    pytest.importorskip("tensorflow")  # text is tokenized on TensorFlow
    words = "good film bad plot fine cast dull end ".split()
    rows = [[" ".join(words[(i + j) % len(words)] for j in range(5)), i % 2] for i in range(60)]
    for at, length in enumerate(lengths):  # words of 3-4 characters: about 30,000 of them per 120,000
        rows[7 * at + 3][0] = " ".join(words[k % len(words)] for k in range(length // 4))[:length]
    path = tmp_path / "long.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["review", "label"], *rows])
    line = refused_cheaply(path, script=LONG_TEXT, before_keras=False)  # the model's facts come from a build
    assert "words in row" in line and "more than the 10,000 every row would be padded to" in line


# -- 10. options in range -------------------------------------------------------------------------------
@pytest.mark.parametrize("samples", ["0", "-1", "99999999999999999999"])
def test_export_samples_out_of_range_is_one_line(tmp_path, samples) -> None:
    code, output = kzoo_cli("export", "mlp.iris", "--format", "onnx", "-o", tmp_path / "m.onnx", "--samples", samples)
    assert code == 2 and "--samples" in one_error_line(output) and "1<=x<=100000" in output


def test_the_python_export_checks_samples_too(tmp_path) -> None:
    import kzoo

    with pytest.raises(kzoo.ConfigError, match="samples=0"):
        kzoo.export_model("mlp.iris", "onnx", tmp_path / "m.onnx", samples=0)


def test_a_learning_rate_too_large_for_adam_is_refused() -> None:
    code, output = kzoo_cli("train", "mlp", "--data", "iris", "--learning-rate", "1e308")
    assert code == 1 and "--learning-rate 1e+308 (expected a number above 0 and at most 10" in one_error_line(output)


@pytest.mark.parametrize("errno_name", ["EROFS", "ENOSPC"])
def test_new_plugin_on_a_read_only_or_full_file_system_is_one_line(tmp_path, monkeypatch, errno_name) -> None:
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        code = getattr(errno, errno_name)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    code, output = kzoo_cli("new-plugin", "kzoo-h3test", "--dir", tmp_path / "proj")
    assert code == 1 and os.strerror(getattr(errno, errno_name)) in one_error_line(output)
    assert not (tmp_path / "proj").exists()


# -- 8 and 2. bombs refused first and cheaply (peak RSS measured in a fresh interpreter) -----------------
PEAK = """
import sys
from kzoo.cli import main
code = 0
try:
    main(sys.argv[1:], prog_name="kzoo")
except SystemExit as exc:
    code = exc.code
print("CODE", code, "PEAK_KIB", peak_kib(), "KERAS", "keras" in sys.modules)
"""
PEAK_LIMIT = int(1.5 * 2**30)  # the goal: a refusal costs less than 1.5 GB


def refused_cheaply(*args: object, before_keras: bool = True, script: str = PEAK, code: int = 1) -> str:
    """Run ``kzoo ARGS`` (or ``script`` with ARGS) in a fresh interpreter; assert it exits with
    ``code`` (1: refused) with a peak RSS under PEAK_LIMIT, before importing keras when
    ``before_keras`` (a check of a saved network's own file may need Keras to read it); return
    its error line, if any."""
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", _memory_benchmark().PEAK_KIB + script, *map(str, args)],
                          capture_output=True, text=True, env=env, check=False)
    _, exit_code, _, peak, _, keras = done.stdout.split()[-6:]
    assert exit_code == str(code), done.stdout + done.stderr
    assert int(peak) * 1024 < PEAK_LIMIT, f"peak RSS {int(peak) // 1024} MiB"
    if before_keras:
        assert keras == "False"
    return one_error_line(done.stderr) if code else ""


def _memory_benchmark():
    """benchmarks/memory.py, whose sparse zips (gigabytes declared, no disk used) the tests share."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("kzoo_memory_benchmark",
                                                  Path(__file__).resolve().parents[1] / "benchmarks" / "memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sparse_zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """A zip of stored members ``(name, head, hole)``: ``head`` then ``hole`` zero bytes left as a
    hole in a sparse file, so a member of gigabytes costs no disk and no time to write."""
    return _memory_benchmark().sparse_zip(path, members)


def npy_head(shape: tuple[int, ...]) -> bytes:
    return _memory_benchmark().npy_head(shape)


def test_npz_arrays_of_different_lengths_are_refused_from_their_headers(tmp_path) -> None:
    rows, width = 190_000, 1_000  # 1.52 GB declared, and held (as holes), by each array
    bomb = sparse_zip(tmp_path / "two.npz", [("input.npy", npy_head((rows, width)), rows * width * 8),
                                             ("output.npy", npy_head((rows - 1, width)), (rows - 1) * width * 8)])
    line = refused_cheaply("train", "mlp", "--data", bomb, "--epochs", "1")
    assert "different numbers of samples (input: 190000, output: 189999, read from their headers)" in line


def test_a_big_member_that_is_no_array_is_never_read(tmp_path) -> None:
    import io

    import numpy as np

    import kzoo
    from kzoo.datasets.files import read_npz

    small = npy_head((3, 4))
    path = sparse_zip(tmp_path / "extra.npz", [("input.npy", small, 3 * 4 * 8), ("notes.txt", b"", 2_500_000_000)])
    assert read_npz(str(path), ["input", "output"])["input"].shape == (3, 4)
    rng = np.random.default_rng(0)  # and a whole training run on such a file stays small
    arrays = {"input": rng.normal(size=(40, 4)), "output": np.arange(40) % 2}
    members = []
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        members.append((f"{name}.npy", buffer.getvalue(), 0))
    trains = sparse_zip(tmp_path / "trains.npz", [*members, ("notes.txt", b"", 2_500_000_000)])
    refused_cheaply("train", "mlp", "--data", trains, "--epochs", "1", "--quiet", before_keras=False, code=0)
    np.savez(tmp_path / "plain.npz", x=np.zeros(2))
    with pytest.raises(kzoo.DataError, match="has no array 'input'; it holds x"):
        kzoo.datasets.load(str(tmp_path / "plain.npz"), "mlp")


def test_a_csv_of_one_endless_line_is_refused_cheaply(tmp_path) -> None:
    path = tmp_path / "endless.csv"
    with open(path, "wb") as f:
        f.truncate(2 * 2**30)  # a 2 GB field: one line without an end
    assert "line 1 is longer than" in refused_cheaply("train", "mlp", "--data", path, "--target", "y")


def test_a_keras_file_of_many_swelling_members_is_refused_before_keras(tmp_path) -> None:
    import struct
    import zipfile

    path = tmp_path / "swell.keras"
    noise = os.urandom(600_000)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(15):
            archive.writestr(f"assets/blob{i}", noise)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir
    at = start
    for _ in range(15):  # each member now claims 255 MB, 400-odd:1, under every per-member limit
        at = raw.index(b"PK\x01\x02", at)
        raw[at + 24:at + 28] = struct.pack("<I", 255 * 10**6)
        at += 4
    path.write_bytes(bytes(raw))
    line = refused_cheaply("predict", path, "--data", "iris")
    assert "members that expand more than 100:1 claim 3.6 GiB together" in line


def test_a_config_naming_a_huge_layer_is_refused_from_its_text(tmp_path) -> None:
    import json
    import zipfile

    import kzoo
    from kzoo._store.saving import check_network_size

    config = {"class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": 100_000_000},
         "build_config": {"input_shape": [None, 4]}}]}}
    path = tmp_path / "huge.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"\0" * 60_000)
    with pytest.raises(kzoo.DataError, match="at least 400,000,000 parameters, but its weights hold only 58.6 KiB"):
        check_network_size(str(path))
    config["config"]["layers"][0]["config"]["units"] = 1_000  # 4,000 parameters: plausible
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"\0" * 60_000)
    check_network_size(str(path))


def test_a_kzoo_json_integer_of_4001_digits_is_one_line(tmp_path) -> None:
    import json
    import zipfile

    import kzoo
    from kzoo._store.saving import read_metadata

    path = tmp_path / "digits.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("kzoo.json", json.dumps({"model": "mlp", "config": {"input_dim": int("9" * 4001)}}))
    with pytest.raises(kzoo.DataError, match="config.input_dim holds an integer of 4001 digits") as caught:
        read_metadata(path)
    assert len(str(caught.value)) < 300


def test_synthetic_data_for_a_huge_input_is_refused_before_building(tmp_path) -> None:
    line = refused_cheaply("train", "mlp", "--data", "synthetic", "--set", "input_dim=100000000", "--epochs", "1")
    assert "--samples" in line or "parameters" in line


# -- 7, 9, 10 with Keras: saved files, checkpoints, training that goes wrong ---------------------------
@pytest.fixture(scope="module")
def synthetic_model(tmp_path_factory) -> Path:
    """A small mlp trained on synthetic data: a .keras whose kzoo.json config shapes its network."""
    out = tmp_path_factory.mktemp("h3") / "s.keras"
    code, output = kzoo_cli("train", "mlp", "--data", "synthetic", "--epochs", "1", "--quiet", "--out", out)
    assert code == 0, output
    return out


def rewrite(source: Path, target: Path, change) -> Path:
    """A copy of the .keras zip ``source`` with ``change(name, bytes) -> bytes`` applied to each member."""
    import zipfile

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))
    return target


def test_a_kzoo_json_config_far_larger_than_the_network_is_refused_unbuilt(synthetic_model, tmp_path) -> None:
    import json

    def bigger(name, data):
        if name != "kzoo.json":
            return data
        doc = json.loads(data)
        doc["config"]["hidden_units"] = [20000, 20000]
        return json.dumps(doc).encode()

    tampered = rewrite(synthetic_model, tmp_path / "t.keras", bigger)
    code, output = kzoo_cli("predict", tampered, "--data", "synthetic")
    assert code == 1 and "about 400,3" in one_error_line(output) and "tampered" in output
    line = refused_cheaply("predict", tampered, "--data", "synthetic", before_keras=False)  # 5.6 GB before
    assert "about 400,3" in line and "tampered" in line


def test_a_saved_config_naming_a_huge_layer_is_refused_cheaply(synthetic_model, tmp_path) -> None:
    import json

    def huge(name, data):
        if name != "config.json":
            return data
        doc = json.loads(data)
        dense = next(layer for layer in doc["config"]["layers"] if layer.get("class_name") == "Dense")
        dense["config"]["units"] = 100_000_000
        return json.dumps(doc).encode()

    tampered = rewrite(synthetic_model, tmp_path / "dense.keras", huge)
    line = refused_cheaply("predict", tampered, "--data", "synthetic", before_keras=False)  # 5.6 GB before
    assert "parameters, but its weights hold only" in line and "tampered" in line


@pytest.mark.parametrize("module, name", [("os", "system"), ("subprocess", "Popen"), ("keras.layers", "LSTM2")],
                         ids=["os.system", "another module", "a layer Keras lacks"])
def test_a_tampered_config_naming_os_system_is_one_line(synthetic_model, tmp_path, module, name) -> None:
    dense = b'"module": "keras.layers", "class_name": "Dense"'

    def system(member, data):
        if member != "config.json":
            return data
        assert dense in data
        return data.replace(dense, b'"module": "%s", "class_name": "%s"' % (module.encode(), name.encode()))

    tampered = rewrite(synthetic_model, tmp_path / "os.keras", system)
    code, output = kzoo_cli("predict", tampered, "--data", "synthetic")
    line = one_error_line(output)
    assert code == 1 and "could not load" in line and name in line and module in line
    assert "Full object config" not in line and output.strip() == line  # no dump of the config around it


def test_a_raising_custom_objects_spoils_only_its_own_models(synthetic_model) -> None:
    import kzoo
    from kzoo._store import saving

    from .conftest import ModelsPlugin, make_builder

    broken = make_builder("spoiler_net")
    broken.custom_objects = lambda: 1 // 0
    kzoo.register_plugin(ModelsPlugin(broken), "spoiler")
    with pytest.warns(kzoo.PluginWarning, match=r"custom_objects\(\) of model 'spoiler_net' \(plugin 'spoiler'\)"):
        model = kzoo.load(synthetic_model)  # a built-in model's file still loads
    assert model.count_params() > 0
    with pytest.raises(kzoo.PluginError, match="plugin 'spoiler'.*ZeroDivisionError"):
        saving.custom_objects("spoiler_net")


def test_a_checkpoint_whose_best_weights_do_not_fit_is_refused(tmp_path) -> None:
    import io
    import zipfile

    import numpy as np

    ckpt = tmp_path / "ckpt"
    args = ["train", "mlp", "--data", "iris", "--epochs", "2", "--val-split", "0.3", "--checkpoint-dir", ckpt,
            "--quiet"]
    code, output = kzoo_cli(*args)
    assert code == 0, output
    path = ckpt / "checkpoint.keras"
    with zipfile.ZipFile(path) as archive:
        assert "kzoo_best_weights.npz" in archive.namelist()
    buffer = io.BytesIO()
    np.savez(buffer, *[np.zeros((7, 7), "float32")] * 2)  # two arrays of a shape no mlp has

    def swap(name, data):
        return buffer.getvalue() if name == "kzoo_best_weights.npz" else data

    rewrite(path, tmp_path / "c.keras", swap).replace(path)
    code, output = kzoo_cli(*args)
    assert code == 1 and "best weights do not fit the model" in one_error_line(output)


def exploding_plugin(spec_inputs=None):
    import kzoo

    def exploding_net(input_dim: int = 4, num_classes: int = 3):
        import keras

        inputs = keras.Input((input_dim,), name="input")
        huge = keras.layers.Dense(8, kernel_initializer=keras.initializers.Constant(1e38))(inputs)
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax", name="output")(huge))

    builder = kzoo.model(exploding_net)
    if spec_inputs is not None:  # a spec (or manifest) that lies about the input
        from dataclasses import replace

        builder.spec = replace(builder.spec, inputs=(kzoo.TensorSpec("input", spec_inputs),))

    class Plugin:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            register(builder)

    return Plugin()


def test_a_run_whose_loss_ends_nan_writes_nothing(tmp_path) -> None:
    import kzoo

    kzoo.register_plugin(exploding_plugin(), "exploding")
    out = tmp_path / "nan.keras"
    code, output = kzoo_cli("train", "exploding_net", "--data", "iris", "--epochs", "1", "--quiet", "--out", out)
    assert code == 1 and "training diverged: the loss is nan" in one_error_line(output)
    assert not out.exists()


def test_a_spec_that_lies_about_an_input_shape_is_one_line_naming_the_plugin(tmp_path) -> None:
    import kzoo

    kzoo.register_plugin(exploding_plugin(spec_inputs=(5,)), "liar")
    code, output = kzoo_cli("train", "exploding_net", "--data", "synthetic", "--epochs", "1", "--quiet")
    assert code == 1
    assert "plugin 'liar': its spec or manifest says it takes inputs [[5]], but the built model takes [[4]]" in \
        one_error_line(output)


def test_a_model_of_many_long_class_names_is_written_and_read_back(tmp_path) -> None:
    from kzoo._store.saving import read_metadata

    names = [f"class {i:05d} " + "x" * 110 for i in range(10_000)]  # kzoo.json above 1 MiB
    path = tmp_path / "classes.csv"
    path.write_text("a,label\n" + "".join(f"{i},{name}\n" for i, name in enumerate(names)))
    out = tmp_path / "m.keras"
    code, output = kzoo_cli("train", "mlp", "--data", path, "--target", "label", "--epochs", "1", "--batch-size",
                            "1024", "--quiet", "--out", out)
    assert code == 0, output
    assert out.stat().st_size > 2**20
    assert read_metadata(out)["data"]["class_names"] == names  # not refused as "tampered"


def test_a_kzoo_json_too_big_to_read_back_is_refused_before_training(tmp_path, monkeypatch) -> None:
    from kzoo._store import writing

    monkeypatch.setattr(writing, "METADATA_MAX_BYTES", 300_000)  # what 10,000 long class names exceed
    path = tmp_path / "classes.csv"
    path.write_text("a,label\n" + "".join(f"{i},class number {i} of many\n" for i in range(10_000)))
    out = tmp_path / "m.keras"
    code, output = kzoo_cli("train", "mlp", "--data", path, "--target", "label", "--epochs", "1", "--out", out)
    assert code == 1 and "metadata (kzoo.json) would take" in one_error_line(output) and "'data.class_names'" in output
    assert not out.exists()


def test_a_distribution_whose_entry_points_cannot_be_read_is_left_out_with_a_warning(monkeypatch) -> None:
    from importlib import metadata

    import kzoo
    from kzoo._zoo import plugins

    class Broken:
        _path = "/site/broken-1.0.dist-info"

        def __init__(self) -> None:
            self.metadata = {"Name": "broken"}

        @property
        def entry_points(self):
            raise ValueError("entry_points.txt is garbage")

    real = list(metadata.entry_points(group="kzoo"))

    class Fine:
        def __init__(self) -> None:
            self.metadata, self.entry_points = {"Name": "kzoo"}, real

    def refuse(**kwargs):
        raise ValueError("one bad distribution spoils the scan")

    monkeypatch.setattr(metadata, "entry_points", refuse)
    monkeypatch.setattr(metadata, "distributions", lambda: [Broken(), Fine()])
    with pytest.warns(kzoo.PluginWarning, match=r"broken-1.0.dist-info cannot be read \(ValueError"):
        found = plugins.discover()
    assert {ep.name for ep in found} == {ep.name for ep in real}


def test_a_checkpoint_temp_of_a_dead_run_is_removed_when_the_run_resumes(tmp_path) -> None:
    from kzoo._system.files import TEMP_TAG

    ckpt = tmp_path / "ckpt"
    args = ["train", "mlp", "--data", "iris", "--epochs", "1", "--checkpoint-dir", ckpt, "--quiet"]
    assert kzoo_cli(*args)[0] == 0
    dead = ckpt / f".checkpoint{TEMP_TAG}999999999-abcd.keras"  # a run killed inside its write
    dead.write_bytes(b"half a checkpoint")
    assert kzoo_cli(*args)[0] == 0  # the finished run resumes, trains nothing and writes nothing
    assert not dead.exists()


def test_a_table_of_100000_columns_trains_and_predicts(tmp_path) -> None:
    columns = 100_000
    path = tmp_path / "wide.csv"
    with open(path, "w") as f:
        f.write(",".join(f"c{i}" for i in range(columns)) + ",y\n")
        f.writelines(",".join("1" if (i + r) % 3 else "0" for i in range(columns)) + f",{r % 2}\n" for r in range(8))
    out = tmp_path / "wide.keras"
    code, output = kzoo_cli("train", "mlp", "--data", path, "--target", "y", "--epochs", "1", "--quiet", "--out", out)
    assert code == 0, output
    code, output = kzoo_cli("predict", out, "--data", path)
    assert code == 0, output
    assert len(output.strip().splitlines()) == 9
