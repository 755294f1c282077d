"""What the conformance kit costs per built-in model, with its reload process shared and without.

For each built-in model (the ImageNet architectures left out: they are checked at their smallest
input in tests/test_applications.py), ``check_model(name)`` runs every check twice, in one
process:

- fresh: the round trip's reload process is closed first, so the call starts Keras in a new
  interpreter, as every ``check_model`` call did before the reloader was shared (the baseline);
- shared: the plugin's reload process is already running, as for every call after a plugin's
  first one in a test session (and its Keras start overlaps the in-process checks anyway).

Prints seconds per model for both and their ratio, plus the in-process share (build, compile, one
training step, predict, save).

Run:  python benchmarks/conformance_kit.py [--models mlp,two_input_mlp]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(name: str, checks: tuple[str, ...] | None = None) -> float:
    from kzoo.testing import MODEL_CHECKS, check_model

    start = time.perf_counter()
    results = check_model(name, checks=checks or MODEL_CHECKS)
    seconds = time.perf_counter() - start
    failed = [str(r) for r in results if not r.ok]
    if failed:
        raise SystemExit("\n".join(failed))
    return seconds


def main() -> None:
    import kzoo
    from kzoo.testing import MODEL_CHECKS, reloader

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated model names (default: every built-in but the ImageNet ones)")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else [
        n for n in kzoo.list_models() if "imagenet" not in kzoo.get_spec(n).tags]
    timed(names[0], ("spec", "builds", "compiles", "trains"))  # Keras started in this process: not a model's cost
    print(f"{'model':<22}{'fresh s':>9}{'shared s':>10}{'in-process s':>14}{'fresh/shared':>14}")
    totals = [0.0, 0.0]
    for name in names:
        reloader.close_all()
        fresh = timed(name)
        shared = timed(name)
        local = timed(name, tuple(c for c in MODEL_CHECKS if c != "round_trip"))
        totals[0] += fresh
        totals[1] += shared
        print(f"{name:<22}{fresh:>9.2f}{shared:>10.2f}{local:>14.2f}{fresh / shared:>13.1f}x")
    print(f"{'all ' + str(len(names)):<22}{totals[0]:>9.2f}{totals[1]:>10.2f}{'':>14}{totals[0] / totals[1]:>13.1f}x")


if __name__ == "__main__":
    main()
