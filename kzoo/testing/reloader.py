"""The fresh interpreter that the ``round_trip`` check reloads saved models in, started once and reused.

Starting Keras costs seconds. One process per plugin (and per set of kzoo's and Keras's
environment settings) serves every reload of that plugin's models for the life of the calling
process: its default config, other configs, other precisions, ``check_model`` called from many
tests. The process only ever loads saved files, never what the test registered in-process, so
what it can find is still only what the plugin's installed package imports.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

DONE = "kzoo-reloader: done"
MAX_PROCESSES = 3  # the least recently used beyond this is closed: each holds a Keras runtime

_SERVE = f"""
import json, sys
import numpy as np
from kzoo._engine.fitting import predict
from kzoo._store.saving import load

for line in sys.stdin:
    for job in json.load(open(line.strip())):
        try:
            with np.load(job["x"]) as data:
                x = {{k[2:]: data[k] for k in data.files}}
            model = load(job["model"])
            model.run_eagerly = job.get("eager", False)  # as the checks in the calling process ran it
            got = predict(model, x[""] if list(x) == [""] else x)
            got = got if isinstance(got, dict) else {{"": got}}
            np.savez(job["out"], **{{f"y:{{k}}": np.asarray(v) for k, v in got.items()}})
        except Exception as exc:
            with open(job["error"], "w") as f:
                f.write(f"{{type(exc).__name__}}: {{exc}}")
    print({DONE!r}, flush=True)
"""

_ENV_PREFIXES = ("KZOO_", "KERAS_", "TF_", "XLA_", "JAX_", "CUDA_")


class _Process:
    def __init__(self, env: dict[str, str]) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.popen = subprocess.Popen([sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self.stderr, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()  # its stdout, read by a thread: portable, never stuck
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:  # type: ignore[union-attr]
            self.lines.put(line)
        self.lines.put("")  # end of output: the process is gone

    def close(self) -> None:
        if self.popen.poll() is None:
            try:
                self.popen.stdin.close()  # type: ignore[union-attr]
                self.popen.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.popen.kill()
                self.popen.wait()
        self.stderr.close()

    def last_error_line(self) -> str:
        self.stderr.seek(0)
        lines = self.stderr.read().strip().splitlines()
        return lines[-1] if lines else "no error output"


_pool: OrderedDict[tuple, _Process] = OrderedDict()


def _key(plugins: Sequence[str]) -> tuple[tuple, dict[str, str]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), TF_CPP_MIN_LOG_LEVEL="2")
    key = (tuple(sorted(set(plugins))), _sources(plugins), env["PYTHONPATH"],
           tuple(sorted((k, v) for k, v in env.items() if k.startswith(_ENV_PREFIXES))))
    return key, env


def _sources(plugins: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Each plugin package's Python files with their modification times: a plugin edited or
    reinstalled since its reloader started gets a new one, which imports it as it is now."""
    from .._zoo.plugins import get_host

    found = []
    for plugin in sorted(set(plugins)):
        info = get_host().infos.get(plugin)
        spec = importlib.util.find_spec(info.module.partition(":")[0].split(".")[0]) if info else None
        roots = list(spec.submodule_search_locations or []) if spec and spec.submodule_search_locations else (
            [spec.origin] if spec and spec.origin else [])
        for root in roots:
            paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, files in os.walk(root)
                                                         for f in files if f.endswith(".py")]
            found += [(path, os.stat(path).st_mtime_ns) for path in paths]
    return tuple(sorted(found))


def prestart(plugins: Sequence[str]) -> None:
    """Start the plugins' reloader now, so that its Keras starts while this process builds and trains."""
    key, env = _key(plugins)
    if key in _pool and _pool[key].popen.poll() is None:
        return
    if key in _pool:
        _pool.pop(key).close()  # it died: start another
    _pool[key] = _Process(env)
    _trim()


def _trim() -> None:
    while len(_pool) > MAX_PROCESSES:
        _pool.popitem(last=False)[1].close()


def reload(job_file: str, plugins: Sequence[str], timeout: float) -> str | None:
    """Have the plugins' reloader run the jobs in ``job_file``; None when it answered, else why not.

    A process that fails or outlives ``timeout`` is killed and forgotten: the next call starts a
    fresh one.
    """
    key, env = _key(plugins)
    process = _pool.pop(key, None)
    if process is not None and process.popen.poll() is not None:
        process.close()
        process = None
    process = process or _Process(env)
    why = _ask(process, job_file, timeout)
    if why is None:
        _pool[key] = process
        _trim()
    else:
        process.popen.kill()
        process.close()
    return why


def _ask(process: _Process, job_file: str, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    try:
        process.popen.stdin.write(job_file + "\n")  # type: ignore[union-attr]
        process.popen.stdin.flush()  # type: ignore[union-attr]
    except OSError:
        return _exited(process)
    while True:
        try:
            line = process.lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            return f"it did not finish within {timeout:g} s"
        if not line:
            return _exited(process)
        if line.strip() == DONE:
            return None


def _exited(process: _Process) -> str:
    try:
        process.popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    return process.last_error_line()


@atexit.register
def close_all() -> None:
    """Close every reloader (they also end on their own when this process's pipes close)."""
    while _pool:
        _pool.popitem()[1].close()
