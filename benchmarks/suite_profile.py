"""A pytest plugin that says where the test suite's time goes (used by benchmarks/suite.py).

A sampling thread looks at the main thread's stack every few milliseconds and charges the time
since its last look to the running test and to one cause, the first of these the stack shows:

- ``subprocess: kzoo CLI``: waiting on ``python -m kzoo ...`` in a fresh interpreter;
- ``subprocess: python``: waiting on any other fresh interpreter (a worker script, ``-c`` probe);
- ``subprocess: other``: any other program;
- ``import``: importing modules (TensorFlow, Keras, JAX, torch... the first time a process needs them);
- ``fit/evaluate/predict``: inside Keras's trainers or kzoo's own loops;
- ``save/load``: inside Keras's saving code;
- ``build``: inside Keras's layers, models and ops outside training (building a network);
- ``other``: the rest (data, pytest, the test's own code).

Sampling, not wrapping, so it needs no knowledge of kzoo's internals and survives refactors.
Each process (an xdist worker too) appends one JSON line per test to ``$KZOO_SUITE_PROFILE``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import Any

OUT_ENV = "KZOO_SUITE_PROFILE"
INTERVAL = 0.005
CAUSES = ("subprocess: kzoo CLI", "subprocess: python", "subprocess: other", "import", "fit/evaluate/predict",
          "save/load", "build", "other")

_FIT_PARTS = ("/keras/src/trainers/", "/kzoo/_engine/fastpath.py", "/kzoo/_engine/loops.py")
_SAVE_PARTS = ("/keras/src/saving/",)
_BUILD_PARTS = ("/keras/src/layers/", "/keras/src/models/", "/keras/src/ops/", "/keras/src/applications/")


def _popen_in(frame: Any) -> subprocess.Popen | None:
    for value in frame.f_locals.values():
        if isinstance(value, subprocess.Popen):
            return value
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], subprocess.Popen):
            return value[0]
    return None


def _subprocess_cause(process: subprocess.Popen | None) -> str:
    args = process.args if process is not None else ()
    args = [str(a) for a in ([args] if isinstance(args, (str, bytes)) else args)]
    if len(args) >= 3 and args[1:3] == ["-m", "kzoo"]:
        return "subprocess: kzoo CLI"
    if args and os.path.basename(args[0]).startswith("python"):
        return "subprocess: python"
    return "subprocess: other"


def classify(frame: Any) -> str:
    """The cause a stack shows (innermost frame first), by the priority of :data:`CAUSES`."""
    found: set[str] = set()
    popen = None
    waiting = False
    while frame is not None:
        filename = frame.f_code.co_filename.replace(os.sep, "/")
        if filename.endswith("/subprocess.py") or filename.endswith("tests/_processes.py"):
            waiting = True
            popen = popen or _popen_in(frame)
        elif frame.f_code.co_name == "_find_and_load" and "importlib._bootstrap" in filename:
            found.add("import")
        elif any(part in filename for part in _FIT_PARTS) or filename.endswith("/trainer.py") and "/keras/src/backend/" in filename:
            found.add("fit/evaluate/predict")
        elif any(part in filename for part in _SAVE_PARTS):
            found.add("save/load")
        elif any(part in filename for part in _BUILD_PARTS):
            found.add("build")
        frame = frame.f_back
    if waiting:
        return _subprocess_cause(popen)
    return next((cause for cause in CAUSES if cause in found), "other")


class Sampler:
    """Charges wall time to (current test, cause) from a daemon thread."""

    def __init__(self) -> None:
        self.test: str | None = None
        self.costs: dict[str, float] = defaultdict(float)
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kzoo-suite-profile", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def take(self) -> dict[str, float]:
        costs, self.costs = dict(self.costs), defaultdict(float)
        return costs

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(INTERVAL):
            now = time.perf_counter()
            frame = sys._current_frames().get(self._main)
            if self.test is not None and frame is not None:
                self.costs[classify(frame)] += now - last
            last = now


_sampler: Sampler | None = None
_durations: dict[str, float] = defaultdict(float)
_outcomes: dict[str, str] = {}


def pytest_configure(config: Any) -> None:
    global _sampler
    xdist_controller = not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"
    if os.environ.get(OUT_ENV) and not xdist_controller:  # the workers run the tests
        _sampler = Sampler()
        _sampler.start()


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    if _sampler is not None:
        _sampler.take()
        _sampler.test = nodeid


def pytest_runtest_logreport(report: Any) -> None:
    _durations[report.nodeid] += report.duration
    if report.outcome != "passed" and _outcomes.get(report.nodeid) != "failed":
        _outcomes[report.nodeid] = report.outcome


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    if _sampler is None:
        return
    _sampler.test = None
    record = {"test": nodeid, "seconds": round(_durations.pop(nodeid, 0.0), 4),
              "outcome": _outcomes.pop(nodeid, "passed"),
              "causes": {k: round(v, 4) for k, v in _sampler.take().items()}}
    with open(os.environ[OUT_ENV], "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def pytest_unconfigure(config: Any) -> None:
    if _sampler is not None:
        _sampler.stop()
