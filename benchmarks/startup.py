"""Start-up cost of the commands that only list or look up models.

Prints, measured in this run:
  1. wall time of `kzoo list` against `python -c "import tensorflow"` (goal: ratio <= 1/15),
  2. peak memory (max RSS) of `kzoo list` (goal: < 80 MB), with `import tensorflow` beside it,
  3. the time to import, register and list 10,000 decorated models from 100 plugin packages,
     their facts read from each package's kzoo-manifest.json (goal: < 1 s), against listing
     the 4 built-in models,
  4. wall time of two CLI user errors, `kzoo train mlpp --data iris` (an unknown model) and
     `kzoo train mlp --data digits --epochs 0`, against `import tensorflow` (goal: each <= 1/10):
     every check runs before the framework starts.

Run: python benchmarks/startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

# Runs `argv` as a child and prints its wall time and max RSS (the only child, so RUSAGE_CHILDREN is it).
MEASURE = """
import resource, subprocess, sys, time
expected, argv = int(sys.argv[1]), sys.argv[2:]
t = time.perf_counter()
code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
if code != expected:
    sys.exit(f"{argv} exited {code}, expected {expected}")
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(argv: list[str], repeat: int, exit_code: int = 0) -> tuple[float, float]:
    """Median wall seconds and max peak RSS in MB of ``argv`` over ``repeat`` fresh runs, each of
    which must exit with ``exit_code`` (1 for a user error)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    times, rss = [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", MEASURE, str(exit_code), *argv], capture_output=True, text=True, check=True, env=env)
        seconds, kib = out.stdout.split()
        times.append(float(seconds))
        rss.append(int(kib) / 1024)
    return statistics.median(times), max(rss)


def write_plugins(root: str, plugins: int, per_plugin: int) -> list[str]:
    """``plugins`` packages of ``per_plugin`` decorated models each, with their manifests (the
    entries are one real entry's facts, renamed: the benchmark measures reading, not building)."""
    import json
    from pathlib import Path

    entry = {"default_config": {"units": 4}, "api": "functional",
             "inputs": [{"name": "x", "shape": [4], "dtype": "float32"}],
             "outputs": [{"name": "y", "shape": [2], "dtype": "float32", "loss": "sparse_categorical_crossentropy",
                          "metrics": ["accuracy"]}], "params": 4 * 4 + 4 + 4 * 2 + 2}
    names = []
    for p in range(plugins):
        package = Path(root) / f"kzoo_bench{p}"
        package.mkdir()
        models = [f"bench_{p}_{i}" for i in range(per_plugin)]
        code = ["import kzoo\n"]
        for name in models:
            code.append(f"@kzoo.model(tags=('group{p % 7}',))\ndef {name}(units=4):\n    \"\"\"benchmark model\"\"\"\n")
        code.append("@kzoo.hookimpl\ndef kzoo_register_models(register):\n"
                    + "".join(f"    register({name})\n" for name in models))
        (package / "__init__.py").write_text("\n".join(code))
        (package / "kzoo-manifest.json").write_text(json.dumps({"kzoo_manifest": 1, "models": dict.fromkeys(models, entry)}))
        names.append(package.name)
    import compileall

    compileall.compile_dir(root, quiet=1)  # installed packages are byte-compiled by pip
    return names


def listing_many(plugins: int = 100, per_plugin: int = 100) -> tuple[float, float, int]:
    """Seconds to import ``plugins`` packages of ``per_plugin`` decorated models, register them
    through the plugin host with their facts from the manifests, and list them; and seconds to
    list the built-ins alone (the baseline)."""
    import importlib
    import tempfile

    from kzoo._zoo.plugins import PluginHost

    root = tempfile.mkdtemp(prefix="kzoo-bench-")
    packages = write_plugins(root, plugins, per_plugin)  # writing the files is not timed
    sys.path.insert(0, root)
    start = time.perf_counter()
    host = PluginHost(strict=True)
    host.load_entry_points()
    for package in packages:
        host.add(importlib.import_module(package), package)
    names = host.registry.names()
    filtered = host.registry.names("bench_1*", tags=["group1"])
    many = time.perf_counter() - start
    assert len(names) >= plugins * per_plugin and filtered
    assert host.registry.spec("bench_7_7").params == 4 * 4 + 4 + 4 * 2 + 2, "facts come from the manifest"

    start = time.perf_counter()
    base = PluginHost(strict=True)
    base.load_entry_points()
    base.registry.names()
    few = time.perf_counter() - start
    return many, few, len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="fresh runs per command (median is reported)")
    args = parser.parse_args()

    tf_time, tf_rss = measure([sys.executable, "-c", "import tensorflow"], args.repeat)
    list_time, list_rss = measure([sys.executable, "-m", "kzoo", "list"], args.repeat)
    bare_time, bare_rss = measure([sys.executable, "-c", "pass"], args.repeat)
    errors = {
        "kzoo train mlpp --data iris": measure([sys.executable, "-m", "kzoo", "train", "mlpp", "--data", "iris"],
                                               args.repeat, exit_code=1),
        "kzoo train mlp --data digits --epochs 0": measure(
            [sys.executable, "-m", "kzoo", "train", "mlp", "--data", "digits", "--epochs", "0"], args.repeat, exit_code=1),
    }
    many, few, count = listing_many()

    ratio = list_time / tf_time
    print(f"import tensorflow       {tf_time * 1000:8.0f} ms  {tf_rss:6.0f} MB peak")
    print(f"kzoo list               {list_time * 1000:8.0f} ms  {list_rss:6.0f} MB peak")
    print(f"python -c pass          {bare_time * 1000:8.0f} ms  {bare_rss:6.0f} MB peak  (interpreter floor)")
    print(f"kzoo list / import tensorflow wall time: 1/{1 / ratio:.1f}  (goal: 1/15 or better)  "
          f"{'OK' if ratio <= 1 / 15 else 'MISSED'}")
    print(f"kzoo list peak memory: {list_rss:.0f} MB = {list_rss / tf_rss:.2f}x import tensorflow's  "
          f"(goal: < 80 MB)  {'OK' if list_rss < 80 else 'MISSED'}")
    print(f"load + list {count:,} models from 100 plugins: {many * 1000:.0f} ms = {many / few:.0f}x listing the "
          f"built-ins ({few * 1000:.1f} ms)  (goal: < 1 s)  {'OK' if many < 1 else 'MISSED'}")
    for command, (seconds, rss) in errors.items():
        print(f"{command:40s} {seconds * 1000:6.0f} ms  {rss:4.0f} MB peak: 1/{tf_time / seconds:.1f} of import "
              f"tensorflow  (goal: 1/10 or better)  {'OK' if seconds <= tf_time / 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
