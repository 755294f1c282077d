"""Hostile plugins, files and options, resource bombs and output faults (issue 11): each ends in
one kzoo error line, costs nothing before it is refused, and loses no earlier output."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import kzoo
from kzoo._zoo import plugins
from kzoo.cli import main

from .conftest import ModelsPlugin, make_builder


def fake_plugins(root: Path, monkeypatch: pytest.MonkeyPatch, modules: dict[str, str]) -> None:
    """Plugins ``{entry-point name: module source}`` visible through a hand-written .dist-info on
    sys.path: the entry-point machinery sees them as installed, without pip."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / "kzoo_fake_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kzoo-fake-plugins\nVersion: 0.1\n")
    lines = ["[kzoo]"]
    for name, source in modules.items():
        module = f"kzoo_fake_{name}"
        (root / f"{module}.py").write_text(source)
        lines.append(f"{name} = {module}")
        monkeypatch.delitem(sys.modules, module, raising=False)
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(root))
    plugins.reset()


GOOD = """
import kzoo
from tests.conftest import make_builder

@kzoo.hookimpl
def kzoo_register_models(register):
    register(make_builder("fake_net"))
"""


def infos() -> dict[str, plugins.PluginInfo]:
    return {info.name: info for info in kzoo.plugin_infos()}


# -- 1. plugins cannot take kzoo down ----------------------------------------------------------
def test_sys_exit_at_import_marks_the_plugin_failed(tmp_path, monkeypatch) -> None:
    fake_plugins(tmp_path, monkeypatch, {"quitter": "import sys\nsys.exit(7)\n", "good": GOOD})
    with pytest.warns(kzoo.PluginWarning, match="quitter"):
        found = infos()
    assert found["quitter"].status == "failed" and "SystemExit(7)" in found["quitter"].error
    assert found["good"].status == "ok" and "fake_net" in kzoo.list_models()


def test_cli_lists_models_despite_a_plugin_that_exits(tmp_path, monkeypatch) -> None:
    fake_plugins(tmp_path, monkeypatch, {"quitter": "raise SystemExit('bye')\n"})
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    assert "mlp" in result.output and "kzoo plugin 'quitter'" in result.output


class ExitingHook:
    @kzoo.hookimpl
    def kzoo_register_models(self, register):
        raise SystemExit(3)


def test_sys_exit_in_a_hook_marks_the_plugin_failed() -> None:
    with pytest.warns(kzoo.PluginWarning, match="SystemExit"):
        info = kzoo.register_plugin(ExitingHook(), "exiter")
    assert info.status == "failed"
    assert "mlp" in kzoo.list_models()


def test_keyboard_interrupt_from_a_plugin_still_interrupts() -> None:
    class Interrupting:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        kzoo.register_plugin(Interrupting(), "ctrl_c")


def test_plugins_load_once_for_sixteen_threads(tmp_path, monkeypatch) -> None:
    counter = tmp_path / "calls"
    fake_plugins(tmp_path / "site", monkeypatch, {"counted": f"""
import time
import kzoo
from tests.conftest import make_builder

@kzoo.hookimpl
def kzoo_register_models(register):
    with open({str(counter)!r}, "a") as f:
        f.write("x")
    time.sleep(0.2)  # widen the window in which other threads arrive
    register(make_builder("counted_net"))
"""})
    barrier = threading.Barrier(16)
    seen: list[list[str]] = []

    def use() -> None:
        barrier.wait()
        seen.append(kzoo.list_models("counted*"))

    threads = [threading.Thread(target=use) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.read_text() == "x"
    assert seen == [["counted_net"]] * 16


def test_a_slow_hook_is_named_while_it_runs(monkeypatch) -> None:
    reported = threading.Event()
    messages: list[str] = []

    def report(message: str) -> None:
        messages.append(message)
        reported.set()

    monkeypatch.setattr("kzoo._zoo.watchdog.report_slow", report)
    monkeypatch.setenv("KZOO_PLUGIN_TIMEOUT", "0.05")

    class Slow:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            assert reported.wait(60), "the watchdog never reported the slow hook"
            register(make_builder("slow_net"))

    info = kzoo.register_plugin(Slow(), "sloth")
    assert info.status == "ok" and "slow_net" in kzoo.list_models()
    assert "kzoo_register_models" in messages[0] and "'sloth'" in messages[0]
    assert "KZOO_DISABLE_PLUGINS=sloth" in messages[0] and "KZOO_PLUGIN_TIMEOUT=0" in messages[0]


def test_the_watchdog_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setenv("KZOO_PLUGIN_TIMEOUT", "0")
    assert plugins.plugin_timeout() == 0
    started = threading.active_count()
    with plugins.watchdog("anything", "p"):
        assert threading.active_count() == started  # no timer thread


def test_trace_names_the_plugin_before_its_hook_runs(monkeypatch, capsys) -> None:
    monkeypatch.setenv("KZOO_TRACE_PLUGINS", "1")
    plugins.reset()
    kzoo.register_plugin(ModelsPlugin(make_builder("traced_net")), "traced")
    err = capsys.readouterr().err
    assert "kzoo trace: calling kzoo_register_models plugin=traced" in err


class FailingBuild(kzoo.ModelBuilder):
    spec = make_builder("boom_net").spec

    def build_model(self, config):
        raise RuntimeError("the layer stack fell over\nsecond line")


def test_a_build_that_raises_is_one_line_naming_plugin_and_model() -> None:
    kzoo.register_plugin(ModelsPlugin(FailingBuild()), "fragile")
    with pytest.raises(kzoo.PluginError) as caught:
        kzoo.build("boom_net")
    message = str(caught.value)
    assert "'boom_net'" in message and "'fragile'" in message and "fell over" in message
    assert "\n" not in message


# -- 2. the user's plugin choices are final ----------------------------------------------------
def test_a_model_file_cannot_load_a_disabled_plugin(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "imported"
    fake_plugins(tmp_path / "site", monkeypatch, {"sneaky": f"""
import kzoo
from tests.conftest import make_builder
open({str(marker)!r}, "w").close()

@kzoo.hookimpl
def kzoo_register_models(register):
    register(make_builder("sneaky_net"))
"""})
    monkeypatch.setenv("KZOO_DISABLE_PLUGINS", "sneaky")
    plugins.reset()
    with pytest.raises(kzoo.PluginError, match="disabled .KZOO_DISABLE_PLUGINS names it"):
        kzoo._store.saving.ensure_plugin({"model": "sneaky_net", "plugin": "sneaky"})
    monkeypatch.delenv("KZOO_DISABLE_PLUGINS")
    monkeypatch.setenv("KZOO_LOAD_PLUGINS", "mlp")
    plugins.reset()
    with pytest.raises(kzoo.PluginError, match="KZOO_LOAD_PLUGINS does not list it"):
        kzoo._store.saving.ensure_plugin({"model": "sneaky_net", "plugin": "sneaky"})
    assert not marker.exists()


def test_a_model_file_naming_a_failed_plugin_says_so(tmp_path, monkeypatch) -> None:
    fake_plugins(tmp_path, monkeypatch, {"quitter": "import sys\nsys.exit(1)\n"})
    with pytest.warns(kzoo.PluginWarning):
        plugins.get_host()
    with pytest.raises(kzoo.PluginError, match="failed to load"):
        kzoo._store.saving.ensure_plugin({"model": "quit_net", "plugin": "quitter"})


# -- 3. new-plugin refuses names that shadow ---------------------------------------------------
@pytest.mark.parametrize("name, why", [("numpy", "distribution numpy"), ("json", "module called 'json'"),
                                       ("kzoo-plugins", "module called 'kzoo_plugins'"),
                                       ("scikit-learn", "distribution scikit-learn")])
def test_new_plugin_refuses_names_that_shadow(tmp_path, name, why) -> None:
    result = CliRunner().invoke(main, ["new-plugin", name, "--dir", str(tmp_path / "p")])
    assert result.exit_code == 1 and why in result.output, result.output
    assert not (tmp_path / "p").exists()


def test_new_plugin_accepts_a_fresh_name(tmp_path) -> None:
    from kzoo._zoo.scaffold import check_unshadowed

    check_unshadowed("kzoo-surely-not-installed-anywhere")


# -- 4. limits before allocation -----------------------------------------------------------------
def npz_claiming(path: Path, shape: tuple[int, ...], payload: bytes = b"", compress: bool = False) -> Path:
    """An NPZ whose one member's .npy header declares ``shape`` of float64 but holds ``payload``."""
    import zipfile

    import numpy as np

    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = shape
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        archive.writestr("input.npy", buffer.getvalue() + payload)
    return path


def test_an_npz_member_claiming_huge_sizes_is_refused_before_allocating(tmp_path) -> None:
    from kzoo.datasets.files import read_npz

    bomb = npz_claiming(tmp_path / "bomb.npz", (10**6, 10**6))  # 8 TB declared
    with pytest.raises(kzoo.DataError, match=r"declares shape \[1000000, 1000000\].*KZOO_MAX_ARRAY_BYTES"):
        read_npz(str(bomb))


def test_the_array_cap_is_configurable(tmp_path, monkeypatch) -> None:
    import numpy as np

    from kzoo.datasets.files import read_npz

    path = tmp_path / "ok.npz"
    np.savez(path, input=np.zeros((100, 10)))
    assert read_npz(str(path))["input"].shape == (100, 10)
    monkeypatch.setenv("KZOO_MAX_ARRAY_BYTES", "4K")
    with pytest.raises(kzoo.DataError, match="more than the cap of 4.0 KiB"):
        read_npz(str(path))
    monkeypatch.setenv("KZOO_MAX_ARRAY_BYTES", "lots")
    with pytest.raises(kzoo.ConfigError, match="KZOO_MAX_ARRAY_BYTES='lots' is not a size"):
        read_npz(str(path))


def test_an_npz_member_larger_than_it_holds_is_refused(tmp_path) -> None:
    from kzoo.datasets.files import read_npz

    with pytest.raises(kzoo.DataError, match="member holds only"):
        read_npz(str(npz_claiming(tmp_path / "short.npz", (1000, 100), payload=b"\0" * 64)))


def test_an_implausible_compression_ratio_is_refused(tmp_path) -> None:
    import struct
    import zipfile

    from kzoo.datasets.files import read_npz

    path = npz_claiming(tmp_path / "zeros.npz", (1000,), payload=b"\0" * 8000, compress=True)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
        start = archive.start_dir
    size = struct.pack("<I", info.file_size)
    at = raw.index(size, start)  # the uncompressed size in the central directory
    raw[at:at + 4] = struct.pack("<I", 2**31)  # now it claims 2 GiB from a few bytes
    path.write_bytes(bytes(raw))
    with pytest.raises(kzoo.DataError, match="zip bomb"):
        read_npz(str(path))
    genuine = npz_claiming(tmp_path / "genuine.npz", (2_000_000,), payload=b"\0" * 16_000_000, compress=True)
    assert read_npz(str(genuine))["input"].shape == (2_000_000,)  # all zeros, deflated to the limit


def keras_file_with(tmp_path: Path, doc: object, raw: bytes | None = None) -> Path:
    """A zip standing in for a .keras file, holding only a kzoo.json (enough for read_metadata)."""
    import json
    import zipfile

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kzoo.json", raw if raw is not None else json.dumps(doc))
    return path


def test_a_huge_kzoo_json_is_refused_unread(tmp_path) -> None:
    import os

    path = keras_file_with(tmp_path, None, raw=b'{"model": "' + os.urandom(17 * 2**20).hex().encode() + b'"}')
    with pytest.raises(kzoo.DataError, match="kzoo.json claims 34.0 MiB, more than the 32.0 MiB"):
        kzoo._store.saving.read_metadata(path)


GOOD_META = {"model": "mlp", "plugin": "mlp", "config": {"input_dim": 4},
             "data": {"source": "iris", "target": [], "columns": ["a", "b"],
                      "preprocess": {"mean": [0.0, 1.0], "std": [1.0, 2.0]}, "class_names": ["x", "y"]},
             "training": {"epochs": 3, "seed": 0}, "epoch": 2, "history": {"loss": [1.0, None]}}


@pytest.mark.parametrize("change, key", [
    (lambda d: d["data"]["preprocess"].update(mean="0,1"), "data.preprocess.mean"),
    (lambda d: d["data"]["preprocess"].update(mean=[[0.0], [1.0]]), "data.preprocess.mean"),
    (lambda d: d["data"]["preprocess"].pop("mean"), "data.preprocess.mean"),
    (lambda d: d.update(model={"name": "mlp"}), "model"),
    (lambda d: d.update(model=["mlp"]), "model"),
    (lambda d: d.pop("model"), "model"),
    (lambda d: d.update(config=[1]), "config"),
    (lambda d: d.update(epoch="seven"), "epoch"),
    (lambda d: d.update(epoch=-5), "epoch"),
    (lambda d: d.update(history={"loss": ["text"]}), "history"),
    (lambda d: d["data"].update(class_names="xy"), "data.class_names"),
    (lambda d: d["training"].update(seed=-1), "training.seed"),
])
def test_tampered_metadata_is_one_data_error_naming_the_key(tmp_path, change, key) -> None:
    import copy

    doc = copy.deepcopy(GOOD_META)
    change(doc)
    with pytest.raises(kzoo.DataError, match=rf"kzoo.json (has no )?{key.replace('.', '[.]')}\b"):
        kzoo._store.saving.read_metadata(keras_file_with(tmp_path, doc))


def test_a_list_document_is_a_data_error(tmp_path) -> None:
    with pytest.raises(kzoo.DataError, match="must be a JSON object; found a list"):
        kzoo._store.saving.read_metadata(keras_file_with(tmp_path, [1, 2]))
    assert kzoo._store.saving.read_metadata(keras_file_with(tmp_path, GOOD_META))["model"] == "mlp"


def test_a_network_swapped_for_another_models_is_refused(tmp_path) -> None:
    from kzoo._store import saving
    from kzoo._workflow import inference

    genuine = tmp_path / "genuine.keras"
    saving.save(kzoo.build("mlp"), genuine, saving.model_metadata("mlp", kzoo.get("mlp").config()))
    assert inference.open_model(genuine).builder.spec.name == "mlp"
    swapped = tmp_path / "swapped.keras"
    saving.save(kzoo.build("two_input_mlp"), swapped, saving.model_metadata("mlp", kzoo.get("mlp").config()))
    with pytest.raises(kzoo.DataError, match="network does not match model 'mlp'"):
        inference.open_model(swapped)


# -- 5. output errors are user errors; outputs land together -------------------------------------
def _enospc(*args, **kwargs):
    import errno
    import os

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_is_one_line_naming_the_path_and_leaves_no_temp(tmp_path, monkeypatch) -> None:
    import os

    from kzoo._system import files

    target = tmp_path / "m.json"
    files.write_text(target, "old")
    monkeypatch.setattr(files, "_fsync", _enospc)
    with pytest.raises(kzoo.errors.OutputError, match=r"cannot write '.*m\.json': No space left on device"):
        files.write_text(target, "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["m.json"]


def test_a_directory_in_the_way_is_refused(tmp_path) -> None:
    from kzoo._system import files

    (tmp_path / "m.json").mkdir()
    with pytest.raises(kzoo.errors.OutputError, match="is a directory"):
        files.write_text(tmp_path / "m.json", "x")


def test_a_read_only_folder_is_refused_before_writing(tmp_path, monkeypatch) -> None:
    import os

    from kzoo._system import files

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode))
    with pytest.raises(kzoo.errors.OutputError, match=r"cannot write .*(read-only file system|permission denied)"):
        files.write_text(tmp_path / "m.json", "x")
    assert os.listdir(tmp_path) == []


def test_outputs_land_together_or_not_at_all(tmp_path, monkeypatch) -> None:
    import os

    from kzoo._system import files

    model, metrics = tmp_path / "m.keras", tmp_path / "m.json"
    files.write_text(model, "old model")
    real = files._fsync
    monkeypatch.setattr(files, "_fsync", lambda p: _enospc() if p.suffix == ".json" else real(p))
    with pytest.raises(kzoo.errors.OutputError, match="No space left"):
        with files.all_or_nothing():
            files.write_text(model, "new model")
            files.write_text(metrics, "{}")
    assert model.read_text() == "old model" and sorted(os.listdir(tmp_path)) == ["m.keras"]
    monkeypatch.setattr(files, "_fsync", real)
    with files.all_or_nothing():
        files.write_text(model, "new model")
        assert model.read_text() == "old model"  # not yet: the block decides at its end
        files.write_text(metrics, "{}")
    assert model.read_text() == "new model" and metrics.read_text() == "{}"


KILL_INSIDE_WRITE = """
import os, signal, sys
from kzoo._system.files import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    tmp.write_text("half a new fi")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sigkill_inside_a_write_keeps_the_old_file_and_the_next_run_cleans_up(tmp_path) -> None:
    import os
    import signal
    import subprocess

    from kzoo._system import files

    target = tmp_path / "model.keras"
    target.write_text("the previous model")
    killed = subprocess.run([sys.executable, "-c", KILL_INSIDE_WRITE, str(target)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    left = sorted(os.listdir(tmp_path))
    assert len(left) == 2 and target.read_text() == "the previous model"  # a stale temp, the old file
    files.write_text(target, "the next model")
    assert os.listdir(tmp_path) == ["model.keras"] and target.read_text() == "the next model"


def test_metrics_json_is_strict_json_with_nan_as_null(tmp_path) -> None:
    import json

    from kzoo._workflow.training import write_metrics

    path = tmp_path / "m.json"
    write_metrics(path, {"metrics": {"loss": float("nan"), "acc": 0.5}, "history": {"loss": [1.0, float("inf")]}})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"metrics": {"loss": None, "acc": 0.5}, "history": {"loss": [1.0, None]}}


# -- 6. options have ranges, checked before any work ---------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed -1 (expected an integer in 0..4294967295)"),
    (["--seed", "1099511627776"], "--seed 1099511627776"),
    (["--batch-size", "99999999999999999999"], "--batch-size 99999999999999999999"),
    (["--learning-rate", "inf"], "--learning-rate inf (expected a number above 0 and at most 10"),
    (["--learning-rate", "nan"], "--learning-rate nan"),
    (["--epochs", "0"], "--epochs 0"),
])
def test_out_of_range_options_are_one_line_before_any_work(tmp_path, args, message) -> None:
    out = tmp_path / "m.keras"
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "iris", "--out", str(out), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_an_output_path_that_is_a_directory_fails_before_training(tmp_path) -> None:
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "iris", "--metrics-out", str(tmp_path)])
    assert result.exit_code == 1 and "is a directory" in result.output, result.output
    assert "Epoch" not in result.output


def test_a_model_too_big_for_memory_is_refused_before_building() -> None:
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "iris", "--set", "hidden_units=1000000000"])
    assert result.exit_code == 1, result.output
    assert "model 'mlp' with about" in result.output and "of memory is available" in result.output


def test_too_many_synthetic_samples_are_refused_before_allocating() -> None:
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "synthetic", "--samples", "100000000000"])
    assert result.exit_code == 1, result.output
    assert "--samples 100000000000 of synthetic data would need about" in result.output


def test_a_one_class_target_is_an_error(tmp_path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,x\n5,6,x\n")
    result = CliRunner().invoke(main, ["train", "mlp", "--data", str(path), "--target", "label"])
    assert result.exit_code == 1, result.output
    assert "target column 'label' holds a single class" in result.output


def test_cli_help_texts() -> None:
    train = CliRunner().invoke(main, ["train", "--help"]).output
    assert "Nothing is saved without --out" in train and "and save it." not in train
    for option, words in (("--epochs", "Passes over"), ("--batch-size", "Samples per"), ("--seed", "0..4294967295")):
        assert words in train.split(f"  {option} ", 1)[1][:200], option
    plot = CliRunner().invoke(main, ["plot", "--help"]).output
    assert "-o, --out, --output FILE" in plot


# -- 7. CSV details ------------------------------------------------------------------------------
def read(path: Path, **options):
    from kzoo.datasets.files import read_csv

    return read_csv(str(path), **options)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffspecies,a,b\nx,1,2\ny,3,4\n".encode("utf-8"))
    table = read(path, target=["species"])
    assert table.feature_names == ["a", "b"] and table.class_names == ["x", "y"]


@pytest.mark.parametrize("delimiter, name", [(";", "semicolon"), ("\t", "tab")])
def test_the_delimiter_is_detected_and_named_when_not_a_comma(tmp_path, delimiter, name) -> None:
    path = tmp_path / "d.csv"
    path.write_text(delimiter.join(["a", "b", "y"]) + "\n" + "\n".join(
        delimiter.join(["1.5", "2", "0"]) for _ in range(3)) + "\n")
    with pytest.warns(UserWarning, match=f"read as {name}-separated"):
        table = read(path, target=["y"])
    assert table.feature_names == ["a", "b"] and table.features.tolist() == [[1.5, 2.0]] * 3


def test_a_comma_file_is_read_without_a_note(tmp_path, recwarn) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n")
    assert read(path, target=["y"]).num_samples == 2
    assert not [w for w in recwarn if "separated" in str(w.message)]


def test_rows_are_numbered_as_an_editor_shows_them(tmp_path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text('a,b,note,y\n1,2,x,0\n\n3,4,"two\nlines",1\n5,inf,z,1\n')  # a blank line, a quoted line break
    from kzoo.datasets import load

    with pytest.raises(kzoo.DataError, match=r"column 'b' has 1 infinite cell.s., on line 6"):
        load(str(path), "mlp", target="y")
    path.write_text("a,b,y\n1,2,0\n\n3,4\n")
    with pytest.raises(kzoo.DataError, match="line 4 has 2 field"):
        read(path, target=["y"])
    path.write_text("a,b,y\n1,2,0\n\n3,4,\n5,6,1\n")
    with pytest.warns(kzoo.CsvNote, match=r"left out 1 row.s. whose target 'y' is missing \(line 4\)"):
        read(path, target=["y"])


def test_nan_messages_name_the_csv_column(tmp_path) -> None:
    from kzoo.datasets import load

    path = tmp_path / "nan.csv"
    path.write_text("width,height,y\n1,2,0\n3,-inf,1\n")
    with pytest.raises(kzoo.DataError, match="column 'height'") as caught:
        load(str(path), "mlp", target="y")
    assert "input" not in str(caught.value)


# -- 8. per-target classes -----------------------------------------------------------------------
@pytest.fixture
def iris_text_csv(tmp_path) -> Path:
    from sklearn.datasets import load_iris

    iris = load_iris()
    path = tmp_path / "f.csv"
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for row, label in zip(iris.data, iris.target):
        lines.append(",".join(f"{v:g}" for v in row) + f",{iris.target_names[label]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_multi_output_with_text_labels_trains_evaluates_and_predicts(iris_text_csv, tmp_path) -> None:
    import csv as csvlib

    model = tmp_path / "mo.keras"
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "multi_output_mlp", "--data", str(iris_text_csv), "--target",
                                   "label=species", "--target", "value=petal_width", "--epochs", "2", "--quiet",
                                   "--out", str(model)])
    assert trained.exit_code == 0, trained.output
    meta = kzoo._store.saving.read_metadata(model)
    assert meta["data"]["target_classes"] == {"label": ["setosa", "versicolor", "virginica"]}
    evaluated = runner.invoke(main, ["evaluate", str(model), "--data", str(iris_text_csv), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    predicted = runner.invoke(main, ["predict", str(model), "--data", str(iris_text_csv), "-o", str(tmp_path / "p.csv")])
    assert predicted.exit_code == 0, predicted.output
    rows = list(csvlib.DictReader((tmp_path / "p.csv").open()))
    assert len(rows) == 150 and {r["label"] for r in rows} <= {"setosa", "versicolor", "virginica"}
    assert "label_p_setosa" in rows[0]


def test_predict_ignores_target_columns_even_when_they_hold_new_labels(iris_text_csv, tmp_path) -> None:
    model = tmp_path / "m.keras"
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "mlp", "--data", str(iris_text_csv), "--target", "species",
                                   "--epochs", "1", "--quiet", "--out", str(model)])
    assert trained.exit_code == 0, trained.output
    unseen = tmp_path / "new.csv"
    unseen.write_text(iris_text_csv.read_text().replace("setosa", "unheard_of"))
    predicted = runner.invoke(main, ["predict", str(model), "--data", str(unseen)])
    assert predicted.exit_code == 0, predicted.output
    assert predicted.output.splitlines()[0].startswith("row,output,output_p_setosa")


# -- 10. multi-worker start-up has a deadline and hears signals ----------------------------------
PYTHON_M_KZOO_HEARING_SIGINT = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                                "runpy.run_module('kzoo', run_name='__main__', alter_sys=True)")


def start_lonely_worker(tmp_path: Path, *extra: str):
    """Worker 0 of a two-worker cluster whose worker 1 never starts; stderr goes to a file. It
    runs ``python -m kzoo`` with Python's own SIGINT handler even where this test run inherited
    SIGINT ignored (a shell starts a background job so), which Python would otherwise keep."""
    import json
    import os
    import subprocess

    from ._processes import free_ports

    ports = free_ports(2)
    config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": 0}}
    env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "2"}
    err = (tmp_path / "stderr").open("w+")
    process = subprocess.Popen([sys.executable, "-c", PYTHON_M_KZOO_HEARING_SIGINT, "train", "mlp", "--data", "iris",
                                "--epochs", "1", "--strategy", "multi-worker", *extra],
                               env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
    return process, err, ports[1]


def wait_for_output(process, err, text: str) -> str:
    """Poll the process's stderr until ``text`` appears (or the process ends)."""
    import time

    from ._processes import HANG_GUARD_SECONDS

    deadline = time.monotonic() + HANG_GUARD_SECONDS  # a hang guard, not a speed check
    while time.monotonic() < deadline:
        err.seek(0)
        seen = err.read()
        if text in seen or process.poll() is not None:
            return seen
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"no {text!r} in the output")


def test_a_worker_that_never_starts_is_one_line_after_the_timeout(tmp_path) -> None:
    process, err, missing = start_lonely_worker(tmp_path, "--worker-timeout", "2")
    process.wait(timeout=600)
    err.seek(0)
    lines = err.read().strip().splitlines()
    assert process.returncode == 1, lines
    assert lines[0].startswith("kzoo: waiting for 127.0.0.1:") and "(worker 1)" in lines[0]
    assert lines[-1].startswith("kzoo: error: multi-worker start-up: no answer from ")
    assert f"127.0.0.1:{missing} (worker 1) within 2 s (--worker-timeout)" in lines[-1]


@pytest.mark.parametrize("signal_name, returncode", [("SIGTERM", -15), ("SIGINT", 130)])
def test_sigterm_and_sigint_end_a_run_waiting_for_workers(tmp_path, signal_name, returncode) -> None:
    import signal

    process, err, _ = start_lonely_worker(tmp_path, "--worker-timeout", "600")
    wait_for_output(process, err, "kzoo: waiting for")
    process.send_signal(getattr(signal, signal_name))
    process.wait(timeout=600)
    assert process.returncode == returncode


# -- 12. also found ------------------------------------------------------------------------------
def test_ctrl_c_that_surfaces_as_another_exception_is_still_an_interruption() -> None:
    import os
    import signal

    import click

    from kzoo.cli.app import KzooGroup

    @click.group(cls=KzooGroup)
    def group() -> None:
        pass

    @group.command()
    def mangled() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs as os.kill returns
            for _ in range(10**6):
                pass
        except KeyboardInterrupt:
            raise SystemError("Objects/listobject.c:338: bad argument to internal function") from None

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = CliRunner().invoke(group, ["mangled"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == 130 and "kzoo: interrupted" in result.output, result.output


def test_concurrent_writers_leave_one_complete_file(tmp_path) -> None:
    from kzoo._system import files

    target = tmp_path / "same.keras"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    barrier = threading.Barrier(len(payloads))

    def write(data: bytes) -> None:
        barrier.wait()
        with files.atomic_output(target) as tmp:
            tmp.write_bytes(data)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["same.keras"]


# -- 9. checkpoints are validated like kzoo.json -------------------------------------------------
@pytest.mark.parametrize("change, key", [(lambda d: d.update(epoch="seven"), "epoch"),
                                         (lambda d: d.update(epoch=-5), "epoch"),
                                         (lambda d: d.update(history={"loss": ["text"]}), "history")])
def test_a_tampered_checkpoint_is_one_data_error(tmp_path, change, key) -> None:
    import copy

    from kzoo._store import resume

    doc = copy.deepcopy(GOOD_META)
    change(doc)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    keras_file_with(tmp_path, doc).rename(folder / resume.CHECKPOINT_NAME)
    with pytest.raises(kzoo.DataError, match=rf"kzoo.json {key}\b"):
        resume.restore(folder, GOOD_META)


def test_evaluate_on_mismatched_data_does_not_suggest_set(tmp_path) -> None:
    import numpy as np

    model, data = tmp_path / "m.keras", tmp_path / "d.npz"
    np.savez(data, input=np.zeros((5, 3), "float32"), output=np.zeros(5, "int64"))
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "mlp", "--data", "synthetic", "--epochs", "1", "--quiet", "--out", str(model)])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(main, ["evaluate", str(model), "--data", str(data)])
    assert result.exit_code == 1 and "expects samples of shape [4]" in result.output, result.output
    assert "--set" not in result.output


def test_two_concurrent_trainings_to_one_path_leave_one_loadable_file(tmp_path) -> None:
    import os
    import subprocess

    out = tmp_path / "same.keras"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = [subprocess.Popen([sys.executable, "-m", "kzoo", "train", "mlp", "--data", "iris", "--epochs", "2",
                              "--seed", str(seed), "--quiet", "--out", str(out)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    assert os.listdir(tmp_path) == ["same.keras"]
    assert kzoo._store.saving.read_metadata(out)["training"]["seed"] in (1, 2)
    assert kzoo.load(out).count_params() > 0
