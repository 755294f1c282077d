"""Running test helper scripts in fresh interpreters, each bounded: a hang is killed, not waited on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

# A guard against hangs (a worker waiting forever for its peer), not a speed check: the scripts
# finish in well under a minute on a 2-core machine.
HANG_GUARD_SECONDS = 600


def start(script: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """``python tests/<script> args...`` with TensorFlow's start-up logs silenced."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.Popen(
        [sys.executable, str(HERE / script), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(processes: Sequence[subprocess.Popen]) -> list[str]:
    """Each process's output once it ended; every process still running after the guard is killed."""
    outputs = []
    try:
        for process in processes:
            out, _ = process.communicate(timeout=HANG_GUARD_SECONDS)
            outputs.append(out)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
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
