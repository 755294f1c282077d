"""Start-up cost of the commands that only list or look up models.

Prints, measured in this run:
  1. wall time of `kzoo list` against `python -c "import tensorflow"` (goal: ratio <= 1/15),
  2. peak memory (max RSS) of `kzoo list` (goal: < 80 MB), with `import tensorflow` beside it,
  3. the time to load and list 10,000 models registered by 100 in-process plugins (goal: < 1 s),
     against listing the 4 built-in models.

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
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall seconds and max peak RSS in MB of ``argv`` over ``repeat`` fresh runs."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    times, rss = [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, check=True, env=env)
        seconds, kib = out.stdout.split()
        times.append(float(seconds))
        rss.append(int(kib) / 1024)
    return statistics.median(times), max(rss)


def listing_many(plugins: int = 100, per_plugin: int = 100) -> tuple[float, float, int]:
    """Seconds to register ``plugins * per_plugin`` models through the plugin host and list them,
    and seconds to list the built-ins alone (the baseline)."""
    import kzoo
    from kzoo.plugins import PluginHost

    def plugin_for(p: int) -> object:
        builders = []
        for i in range(per_plugin):
            spec = kzoo.ModelSpec(
                name=f"bench_{p}_{i}", description="benchmark model", api="functional", tags=(f"group{p % 7}",),
                inputs=(kzoo.TensorSpec("x", (4,)),), outputs=(kzoo.TensorSpec("y", (2,)),),
                default_config={}, params=0,
            )
            builders.append(type(f"B{p}_{i}", (kzoo.ModelBuilder,), {"spec": spec})())

        class Plugin:
            @kzoo.hookimpl
            def kzoo_register_models(self, register):
                for builder in builders:
                    register(builder)

        return Plugin()

    made = [plugin_for(p) for p in range(plugins)]  # building the test objects is not timed
    start = time.perf_counter()
    host = PluginHost(strict=True)
    host.load_entry_points()
    for p, plugin in enumerate(made):
        host.add(plugin, f"bench{p}")
    names = host.registry.names()
    filtered = host.registry.names("bench_1*", tags=["group1"])
    many = time.perf_counter() - start
    assert len(names) >= plugins * per_plugin and filtered

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


if __name__ == "__main__":
    main()
