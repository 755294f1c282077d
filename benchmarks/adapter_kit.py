"""What the conformance kit costs per ImageNet-sized adapter model, with a kit config and without.

Registers the ten keras.applications rows of tests/kapps (the suite's test adapter) again, at
their ImageNet default (224x224x3, 1,000 classes), once with ``kit_config={"input_shape": (32,
32, 3), "num_classes": 10}`` and once without, and times ``check_model`` (spec, builds, compiles,
trains, predicts, the round trip and the backbone, eager: the kit's quick mode for networks of hundreds of layers;
params and manifest are left out, as the table has no manifest here). With the kit config the
build check still builds the default; the training, prediction and reload run at 32x32.

Run from the repository root:  python benchmarks/adapter_kit.py [--without N]   (N models also
timed without the kit config; default 2)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.kapps, from any working folder

CHECKS = ("spec", "builds", "compiles", "trains", "predicts", "round_trip", "backbone")


def main() -> None:
    import kzoo
    import tests.kapps as kapps
    from kzoo.testing import check_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without", type=int, default=2, help="models also timed without the kit config")
    args = parser.parse_args()
    rows = {b.spec.name.partition("/")[2]: {"arch": b.constants["arch"], "config": {
        k: v for k, v in b.spec.default_config.items() if k not in ("input_shape", "num_classes")}}
        for b in kapps.MODELS}
    common = {"build": "tests.kapps._build:classifier", "config": {"input_shape": (224, 224, 3), "num_classes": 1000}}
    small = kzoo.model_table(rows, prefix="small", kit_config={"input_shape": (32, 32, 3), "num_classes": 10}, **common)
    full = kzoo.model_table(rows, prefix="full", **common)

    class Plugin:
        @kzoo.hookimpl
        def kzoo_register_models(self, register):
            for builder in (*small, *full):
                register(builder)

    kzoo.register_plugin(Plugin(), "bench")
    check_model("small/mobilenet", checks=("spec", "builds"), eager=True)  # Keras's start: no model's cost
    print(f"{'model':<22}{'kit config s':>14}{'default s':>11}")
    total = 0.0
    for i, name in enumerate(rows):
        seconds = []
        for prefix in ("small", "full")[: 2 if i < args.without else 1]:
            start = time.perf_counter()
            results = check_model(f"{prefix}/{name}", checks=CHECKS, eager=True)
            seconds.append(time.perf_counter() - start)
            failed = [str(r) for r in results if not r.ok]
            if failed:
                raise SystemExit("\n".join(failed))
        total += seconds[0]
        print(f"{name:<22}{seconds[0]:>14.2f}" + (f"{seconds[1]:>11.2f}" if len(seconds) > 1 else f"{'-':>11}"))
    print(f"{'all ' + str(len(rows)):<22}{total:>14.2f}")


if __name__ == "__main__":
    main()
