"""Peak memory of training on a large CSV, against training on iris in the same run.

Goal (issue 11): peak RSS of `kzoo train` on a 200 MB CSV minus that on iris is at most twice
the file's size. The CSV (numeric features, an integer class label) is generated in a temporary
folder and deleted afterwards. Each run is a fresh interpreter that reports its own peak RSS.

Goal (issue 21, ``--bombs``): each hostile input (files whose headers declare gigabytes, a CSV of
one endless line, a zip of swelling members, a config naming a huge layer...) is refused in one
line with a peak RSS less than 1.5 GB above that of a normal run (training on iris). The big
files are sparse (no disk, no time to write), but for the CSV header of a billion columns: 2 GB
of commas written to the temporary folder, so the run needs that much free disk there.

    python benchmarks/memory.py            # 200 MB
    python benchmarks/memory.py --mb 50    # quicker
    python benchmarks/memory.py --bombs    # the refusals of issues 21 and 35

Issue 35 added: a weightless encoding layer of 100 million tokens, an application's input shape
(its synthetic data, then one batch's activations), a 60,000-class predictions table (refused),
and two runs that must now complete within the same bound: evaluating that 60,000-class model
and training on a CSV with one 131,000-character cell.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PEAK_KIB = '''
def peak_kib():
    """This process's peak RSS: /proc's VmHWM, which starts afresh at exec (getrusage's ru_maxrss
    keeps the high-water mark of the forked parent, a big pytest process say)."""
    import resource
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
'''
"""A child process's own peak memory in KiB, as source code the measured scripts start with."""

RUN = PEAK_KIB + """
import sys
from kzoo.cli import main
try:
    main(sys.argv[1:], prog_name="kzoo")
except SystemExit as exc:
    if exc.code:
        raise
print("PEAK_KIB", peak_kib())
"""


def write_csv(path: Path, megabytes: float, features: int = 10, seed: int = 0) -> int:
    """A CSV of about ``megabytes`` MB: ``features`` float columns and a 3-class label ``y``."""
    rng = np.random.default_rng(seed)
    header = ",".join([f"f{i}" for i in range(features)] + ["y"]) + "\n"
    chunk = 100_000
    with path.open("w") as f:
        f.write(header)
        while f.tell() < megabytes * 1e6:
            x = rng.standard_normal((chunk, features))
            y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)
            lines = "\n".join(",".join(f"{v:.6f}" for v in row) + f",{label}" for row, label in zip(x.tolist(), y.tolist()))
            f.write(lines + "\n")
    return path.stat().st_size


def peak_kib(*args: str, refused: bool = False) -> int:
    """The peak RSS of ``kzoo ARGS`` in a fresh interpreter; it must succeed (or, when
    ``refused``, fail with one ``kzoo: error:`` line)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", RUN if not refused else REFUSED, *args], capture_output=True,
                          text=True, env=env, check=False)
    if done.returncode != 0 or (refused and "kzoo: error:" not in done.stderr):
        raise SystemExit(f"kzoo {' '.join(args)} {'was not refused' if refused else 'failed'}:\n{done.stderr[-2000:]}")
    if refused:
        why = done.stderr.split("kzoo: error:", 1)[1].strip().splitlines()[0]
        print(f"  refused: {why[:150]}{'...' if len(why) > 150 else ''}")
    return int(done.stdout.rsplit("PEAK_KIB", 1)[1].split()[0])


REFUSED = RUN.replace("if exc.code:\n        raise", "if exc.code != 1:\n        raise")


def sparse_zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """A zip of stored members ``(name, head, hole)``: ``head`` then ``hole`` bytes of a sparse hole."""
    import struct
    import zlib

    central = []
    with open(path, "wb") as f:
        for name, head, hole in members:
            offset, size, raw = f.tell(), len(head) + hole, name.encode()
            crc = zlib.crc32(head + bytes(hole)) if hole < 2**24 else 0  # a big member is never read whole
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, size, size, len(raw), 0) + raw + head)
            f.seek(hole, 1)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, size, size,
                                       len(raw), 0, 0, 0, 0, 0, offset) + raw)
        start, directory = f.tell(), b"".join(central)
        f.write(directory)
        if start >= 2**32:  # the central directory lies beyond 4 GiB: zip64's end records point to it
            end64 = f.tell()
            f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(central), len(central),
                                len(directory), start))
            f.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
            start = 0xFFFFFFFF
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), start, 0))
    return path


def npy_head(shape: tuple[int, ...]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def rewrite(source: Path, target: Path, member: str, change) -> Path:
    """A copy of the zip ``source`` with member ``member`` passed through ``change``."""
    import zipfile

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, change(data) if info.filename == member else data)
    return target


def bombs(folder: Path) -> dict[str, list[str]]:
    """``{name: kzoo arguments}`` of issue 21's hostile inputs, written into ``folder``."""
    import json
    import struct
    import zipfile

    rows = 240_000
    two = sparse_zip(folder / "two.npz", [("input.npy", npy_head((rows, 1250)), rows * 1250 * 8),
                                         ("output.npy", npy_head((rows - 1, 1250)), (rows - 1) * 1250 * 8)])
    extra = sparse_zip(folder / "extra.npz", [("input.npy", npy_head((3, 4)), 96), ("notes.txt", b"", 2_500_000_000)])
    field = folder / "field.csv"
    with open(field, "wb") as f:
        f.truncate(2 * 2**30)
    header = folder / "header.csv"
    with open(header, "w") as f:
        chunk = "a," * (32 * 2**20)
        for _ in range(32):
            f.write(chunk)  # 2 GB, a billion columns, no line end
    labels = folder / "labels.csv"
    labels.write_text("a,b,y\n" + "".join(f"{i},{i % 7},{1_000_000 if i == 20 else i % 2}\n" for i in range(150)))
    swell = folder / "swell.keras"
    with zipfile.ZipFile(swell, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(15):
            archive.writestr(f"assets/blob{i}", os.urandom(600_000))
    raw = bytearray(swell.read_bytes())
    at = raw.index(b"PK\x01\x02")
    for _ in range(15):
        raw[at + 24:at + 28] = struct.pack("<I", 255 * 10**6)
        at = raw.find(b"PK\x01\x02", at + 4)
    swell.write_bytes(bytes(raw))
    model = folder / "s.keras"
    peak_kib("train", "mlp", "--data", "synthetic", "--epochs", "1", "--quiet", "--out", str(model))

    def huge_dense(data: bytes) -> bytes:
        doc = json.loads(data)
        layers = doc["config"]["layers"]
        dense = next(layer for layer in layers if layer.get("class_name") == "Dense")
        dense["config"]["units"] = 100_000_000
        return json.dumps(doc).encode()

    def hidden(data: bytes) -> bytes:
        doc = json.loads(data)
        doc["config"]["hidden_units"] = [20000, 20000]
        return json.dumps(doc).encode()

    def encoding(data: bytes) -> bytes:  # issue 35: a weightless layer the parameter count misses
        doc = json.loads(data)
        dense = next(layer for layer in doc["config"]["layers"] if layer.get("class_name") == "Dense")
        dense.update(class_name="CategoryEncoding", config={"name": "codes", "num_tokens": 100_000_000,
                                                              "output_mode": "one_hot"})
        return json.dumps(doc).encode()

    dense = rewrite(model, folder / "dense.keras", "config.json", huge_dense)
    wide = rewrite(model, folder / "wide.keras", "kzoo.json", hidden)
    encoded = rewrite(model, folder / "encoding.keras", "config.json", encoding)
    classes = many_classes(folder)
    return {
        "npz: two arrays of 2.4 GB, different lengths": ["train", "mlp", "--data", str(two)],
        "npz: a 2.5 GB member that is no array (and no target)": ["train", "mlp", "--data", str(extra)],
        "csv: a 2 GB single field": ["train", "mlp", "--data", str(field), "--target", "y"],
        "csv: a 2 GB header of a billion columns": ["train", "mlp", "--data", str(header), "--target", "y"],
        "csv: label 1,000,000 among 0/1": ["train", "mlp", "--data", str(labels), "--target", "y"],
        ".keras: 15 members of 255 MB zeros": ["predict", str(swell), "--data", "iris"],
        ".keras: config.json with a 100,000,000-unit Dense": ["predict", str(dense), "--data", "synthetic"],
        ".keras: kzoo.json with hidden_units=[20000, 20000]": ["predict", str(wide), "--data", "synthetic"],
        "synthetic: --set input_dim=100000000": ["train", "mlp", "--data", "synthetic", "--set",
                                                  "input_dim=100000000"],
        # issue 35
        ".keras: config.json with CategoryEncoding(num_tokens=100,000,000)": ["predict", str(encoded), "--data",
                                                                             "synthetic"],
        "application: --set input_shape=100000,100000,3": ["train", "mobilenet_v3_small", "--data", "synthetic",
                                                           "--set", "input_shape=100000,100000,3"],
        "application: --set input_shape=3000,3000,3 (activations of a batch)": [
            "train", "mobilenet_v3_small", "--data", "synthetic", "--samples", "8", "--set", "input_shape=3000,3000,3"],
        "predict: a 60,000-class model's table of 60,000 rows": ["predict", str(classes[1]), "--data",
                                                                 str(classes[0])],
    }


def many_classes(folder: Path) -> tuple[Path, Path]:
    """``(table, model)``: 60,000 rows of 60,000 classes and an mlp trained on them for one epoch."""
    table, model = folder / "classes.csv", folder / "classes.keras"
    rng = np.random.default_rng(0)
    table.write_text("a,b,label\n" + "".join(f"{a:.4f},{b:.4f},c{i}\n" for i, (a, b) in
                                             enumerate(rng.random((60_000, 2)).tolist())))
    peak_kib("train", "mlp", "--data", str(table), "--target", "label", "--epochs", "1", "--quiet", "--out", str(model))
    return table, model


def completions(folder: Path) -> dict[str, list[str]]:
    """``{name: kzoo arguments}`` of issue 35's inputs that must now complete within the same bound."""
    long_cell = folder / "long_cell.csv"
    rng = np.random.default_rng(0)
    notes = [" ".join(rng.choice(["x", "yy", "zzz"], size=int(k))) for k in rng.integers(1, 20, size=3000)]
    notes[5] = "w " * 65_500
    long_cell.write_text("a,note,y\n" + "".join(f"{i / 3000:.4f},{note},{i % 2}\n" for i, note in enumerate(notes)))
    table, model = folder / "classes.csv", folder / "classes.keras"
    return {
        "csv: one 131,000-character cell among 3,000 rows": ["train", "mlp", "--data", str(long_cell), "--target",
                                                            "y", "--epochs", "1", "--quiet"],
        "evaluate: a 60,000-class model on 60,000 rows": ["evaluate", str(model), "--data", str(table)],
    }


def main_bombs() -> None:
    mb = 1e6
    with tempfile.TemporaryDirectory() as folder:
        cases = bombs(Path(folder))
        normal = peak_kib("train", "mlp", "--data", "iris", "--epochs", "1", "--quiet") * 1024
        print(f"memory: a normal run (train mlp on iris) peaks at {normal / mb:.0f} MB")
        for name, args in cases.items():
            peak = peak_kib(*args, refused=True) * 1024
            extra = peak - normal
            print(f"memory: {name}: refused at {peak / mb:.0f} MB peak, {extra / mb:+.0f} MB against the normal run "
                  f"(goal < +1500 MB): {'ok' if extra < 1.5e9 else 'over'}")
        for name, args in completions(Path(folder)).items():
            extra = peak_kib(*args) * 1024 - normal
            print(f"memory: {name}: completed, {extra / mb:+.0f} MB against the normal run (goal < +1500 MB): "
                  f"{'ok' if extra < 1.5e9 else 'over'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="size of the generated CSV in MB (default 200)")
    parser.add_argument("--bombs", action="store_true", help="measure the refusals of issue 21's hostile inputs")
    options = parser.parse_args()
    if options.bombs:
        main_bombs()
        return
    common = ["--epochs", "1", "--batch-size", "1024", "--quiet"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        size = write_csv(path, options.mb)
        iris = peak_kib("train", "mlp", "--data", "iris", *common) * 1024
        big = peak_kib("train", "mlp", "--data", str(path), "--target", "y", *common) * 1024
    extra = big - iris
    mb = 1e6
    print(f"memory: csv {size / mb:.0f} MB; peak iris {iris / mb:.0f} MB, csv {big / mb:.0f} MB; "
          f"extra {extra / mb:.0f} MB = {extra / size:.2f}x the file (goal <= 2x): "
          f"{'ok' if extra <= 2 * size else 'over'}")


if __name__ == "__main__":
    main()
