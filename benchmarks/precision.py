"""kzoo's training speed in each precision (``--precision``), against float32 in the same run.

For the families of ``benchmarks/families.py`` (default: the seed MLP, the 8x8 CNN and the
Transformer block) and each installed backend (one process each), ``kzoo.train`` in float32,
mixed_bfloat16 and mixed_float16: samples/s with epoch 1 left out, best of ``--repeat``, and the
ratio to float32. On a CPU, 16-bit compute is emulated or converted around each operation, so
expect < 1.0; on a GPU with bfloat16 units, run ``benchmarks/gpu.py``.

Run:  python benchmarks/precision.py [--families mlp,cnn8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "--backend" in sys.argv[:-1]:
    os.environ["KERAS_BACKEND"] = sys.argv[sys.argv.index("--backend") + 1]
sys.path.insert(0, str(Path(__file__).parent))

from families import BACKENDS, FAMILIES, LEARNING_RATE, SEED, clock  # noqa: E402

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def measure(family: str, precision: str, epochs: int) -> float:
    import kzoo

    make_data, make_model, batch_size, _ = FAMILIES[family]
    x, y = make_data()
    shape = tuple(x.shape[1:])
    builder = kzoo.get("mlp") if family == "mlp" else kzoo.model(make_model, name=family)
    config = {"input_dim": shape[0]} if family == "mlp" else {"input_shape": shape}
    timer = clock()
    kzoo.train(builder, (x.reshape(len(x), -1), y), {**config, "num_classes": int(y.max()) + 1}, epochs=epochs,
               batch_size=batch_size, learning_rate=LEARNING_RATE, schedule="constant", standardize=False,
               seed=SEED, precision=precision, callbacks=[timer])
    return timer.samples_per_second(len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, help="measure on this backend only, in this process")
    parser.add_argument("--families", default="mlp,cnn8,transformer")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    if args.backend:
        import keras

        for family in families:
            speeds = {}
            for precision in PRECISIONS:
                try:
                    speeds[precision] = max(measure(family, precision, args.epochs) for _ in range(args.repeat))
                except Exception as exc:  # a precision this backend cannot run here: say why, go on
                    speeds[precision] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
            print(json.dumps({"backend": keras.config.backend(), "family": family, **speeds}), flush=True)
        return
    print(f"kzoo.train samples/s by precision (epoch 1 left out, best of {args.repeat}), CPU threads: "
          f"{os.cpu_count()}; ratio to float32 in brackets")
    for backend in (b for b in BACKENDS if importlib.util.find_spec(b) is not None):
        command = [sys.executable, __file__, "--backend", backend, "--families", ",".join(families),
                   "--epochs", str(args.epochs), "--repeat", str(args.repeat)]
        done = subprocess.run(command, capture_output=True, text=True)
        for line in done.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                base = row["float32"]
                cells = "  ".join(f"{p} {row[p]:9.0f} ({row[p] / base:4.2f}x)" if isinstance(row[p], float)
                                  else f"{p} failed: {row[p]}" for p in PRECISIONS)
                print(f"{backend:<11} {row['family']:<12} {cells}", flush=True)
        if done.returncode:
            print(f"{backend}: failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")


if __name__ == "__main__":
    main()
