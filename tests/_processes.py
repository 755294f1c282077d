"""Running test helper scripts in fresh interpreters, each bounded: a hang is killed, not waited on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

# A guard against hangs (a worker waiting forever for a peer that died), not a speed check: the
# scripts finish in well under a minute on a 2-core machine.
HANG_GUARD_SECONDS = 600


def start(script: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """``python tests/<script> args...`` with TensorFlow's start-up logs silenced.

    Output goes to a temporary file, not a pipe, so a chatty process never blocks on a full pipe.
    """
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [sys.executable, str(HERE / script), *args], env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def finish(processes: Sequence[subprocess.Popen]) -> list[str]:
    """Wait for all processes and return their output; assert each exited 0.

    As soon as one fails, the others are killed (in a cluster they would wait for it forever);
    all are killed once the hang guard runs out.
    """
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    try:
        while any(p.poll() is None for p in processes):
            if any(p.returncode not in (None, 0) for p in processes) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
    outputs = []
    for process in processes:
        process.log.seek(0)  # type: ignore[attr-defined]
        outputs.append(process.log.read())  # type: ignore[attr-defined]
        process.log.close()  # type: ignore[attr-defined]
    for process, out in zip(processes, outputs):
        assert process.returncode == 0, f"{process.args} exited {process.returncode}:\n{out[-4000:]}"
    return outputs


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 right now (bound together, then released)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
