"""How long kzoo's test suite takes, and where the time goes: by test file and by cause.

Runs the README's test command (``python -m pytest -q``, with whatever pyproject.toml adds) under
the sampling plugin benchmarks/suite_profile.py, then prints the wall time, the tests' summed
time (over every xdist worker), the line coverage with ``--cov``, and two tables: seconds by
cause (fresh interpreters, imports, training, building...) and the costliest files with their
main cause. ``--docs`` writes the tables into docs/testing.md.

Run:  python benchmarks/suite.py                       (the whole suite, as CI runs it)
      python benchmarks/suite.py --cov --docs          (and line coverage; update the docs)
      python benchmarks/suite.py -- tests/test_train.py -n0   (pytest arguments after --)
      python benchmarks/suite.py --from profile.jsonl  (print a saved profile again)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from docs_block import write_block  # noqa: E402
from suite_profile import CAUSES, OUT_ENV  # noqa: E402

DOCS = ROOT / "docs" / "testing.md"
BLOCK = "suite-costs"  # <!-- suite-costs:start --> ... <!-- suite-costs:end --> in DOCS


def run_suite(pytest_args: list[str], profile: Path, cov: bool) -> tuple[float, str, float | None]:
    """Run the suite; return its wall seconds, pytest's last line and the line coverage (%)."""
    env = dict(os.environ, **{OUT_ENV: str(profile), "PYTHONPATH": os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)})
    cov_json = profile.with_suffix(".cov.json")
    extra = ["--cov=kzoo", "--cov=kzoo_plugins", f"--cov-report=json:{cov_json}"] if cov else []
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "suite_profile", *extra, *pytest_args],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
    coverage = json.loads(cov_json.read_text())["totals"]["percent_covered"] if cov and cov_json.exists() else None
    return wall, lines[-1] if lines else f"pytest exited {done.returncode}", coverage


def read_profile(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def tables(records: list[dict], top: int) -> str:
    """Markdown: seconds by cause, then the ``top`` costliest files with their two main causes."""
    total = sum(r["seconds"] for r in records) or 1.0
    by_cause: dict[str, float] = defaultdict(float)
    files: dict[str, dict] = defaultdict(lambda: {"tests": 0, "seconds": 0.0, "causes": defaultdict(float)})
    for r in records:
        f = files[r["test"].split("::")[0]]
        f["tests"] += 1
        f["seconds"] += r["seconds"]
        for cause, seconds in r["causes"].items():
            by_cause[cause] += seconds
            f["causes"][cause] += seconds
    out = ["| cause | seconds | share |", "| --- | ---: | ---: |"]
    sampled = sum(by_cause.values()) or 1.0
    for cause in sorted(CAUSES, key=lambda c: -by_cause.get(c, 0.0)):
        out.append(f"| {cause} | {by_cause.get(cause, 0.0):,.0f} | {by_cause.get(cause, 0.0) / sampled:.0%} |")
    out += ["", "| file | tests | seconds | share | main causes |", "| --- | ---: | ---: | ---: | --- |"]
    ranked = sorted(files.items(), key=lambda kv: -kv[1]["seconds"])
    for name, f in ranked[:top]:
        causes = sorted(f["causes"].items(), key=lambda kv: -kv[1])[:2]
        said = ", ".join(f"{c} {s:.0f} s" for c, s in causes if s >= 0.5)
        out.append(f"| `{name}` | {f['tests']} | {f['seconds']:,.0f} | {f['seconds'] / total:.0%} | {said} |")
    rest = ranked[top:]
    if rest:
        seconds = sum(f["seconds"] for _, f in rest)
        out.append(f"| {len(rest)} other files | {sum(f['tests'] for _, f in rest)} | {seconds:,.0f} | "
                   f"{seconds / total:.0%} | |")
    return "\n".join(out)


def slowest(records: list[dict], n: int) -> str:
    out = ["| test | seconds | main cause |", "| --- | ---: | --- |"]
    for r in sorted(records, key=lambda r: -r["seconds"])[:n]:
        cause = max(r["causes"].items(), key=lambda kv: kv[1])[0] if r["causes"] else "?"
        out.append(f"| `{r['test']}` | {r['seconds']:.1f} | {cause} |")
    return "\n".join(out)


def main() -> None:
    argv = sys.argv[1:]
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cov", action="store_true", help="also measure line coverage of kzoo and kzoo_plugins")
    parser.add_argument("--docs", action="store_true", help=f"write the tables into {DOCS.relative_to(ROOT)}")
    parser.add_argument("--top", type=int, default=15, help="how many files and tests to list (default 15)")
    parser.add_argument("--from", dest="saved", type=Path, help="print a saved profile (JSON lines) instead of running")
    parser.add_argument("--keep", type=Path, help="save this run's profile (JSON lines) here")
    args = parser.parse_args(argv)

    summary = ""
    if args.saved:
        records = read_profile(args.saved)
    else:
        with tempfile.TemporaryDirectory() as folder:
            profile = Path(folder) / "profile.jsonl"
            profile.touch()
            wall, last, coverage = run_suite(pytest_args, profile, args.cov)
            records = read_profile(profile)
            if args.keep:
                args.keep.write_text(profile.read_text())
        tests = sum(r["seconds"] for r in records)
        summary = (f"wall time {wall / 60:.1f} min; the tests' own time summed over workers {tests / 60:.1f} min "
                   f"({tests / wall:.2f}x the wall time); pytest: {last}")
        summary += f"; line coverage {coverage:.1f}%" if coverage is not None else ""
        print(summary)
    block = tables(records, args.top)
    print()
    print(block)
    print()
    print(slowest(records, args.top))
    if args.docs:
        when = time.strftime("%Y-%m-%d")
        write_block(DOCS, BLOCK, f"Measured {when} with `python benchmarks/suite.py{' --cov' if args.cov else ''}` "
                                 f"on 2 cores{': ' + summary if summary else ''}.\n\n{block}")


if __name__ == "__main__":
    main()
