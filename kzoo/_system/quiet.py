"""Start TensorFlow without its C++ start-up chatter on the terminal, whenever something first
imports it, in the CLI and in Python (``import kzoo`` installs the hook; it costs nothing until
TensorFlow is imported).

TensorFlow 2.21 logs through Abseil before Abseil is initialised, so TF_CPP_MIN_LOG_LEVEL does
not hide lines such as "All log messages before absl::InitializeLog() ..." or "failed call to
cuInit" (abseil/abseil-cpp#1718). They are written by C++ straight to file descriptor 2, so the
only way to keep them off a user's screen is to point that descriptor elsewhere while
TensorFlow starts. What was written is replayed if starting fails, so no real error is lost.

kzoo does not import TensorFlow up front: every check of what the user typed runs first, and
a mistake is reported in a fraction of a second. :func:`quiet_tensorflow_start` installs an
import hook instead, so TensorFlow starts quietly at whatever point Keras first needs it. A user
who set ``TF_CPP_MIN_LOG_LEVEL`` to 0 or 1 asked for TensorFlow's logs and gets them.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def captured_stderr() -> Iterator[None]:
    """File descriptor 2 points at a temporary file inside; replayed if the block fails. Also for
    other C++ libraries that log at start-up (the LiteRT interpreter's XNNPACK line)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except KeyboardInterrupt:
            raise  # Ctrl-C during start-up: the captured logs are not news to the user
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietTensorflow(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders do, and wraps its loading in :func:`captured_stderr`."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: find the real spec with the other finders
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec(module: Any) -> None:
            with captured_stderr():
                exec_module(module)
                module.config.list_physical_devices()  # the CUDA probe logs here, not at import

        spec.loader.exec_module = quiet_exec  # type: ignore[method-assign]
        return spec


def quiet_tensorflow_start() -> None:
    """Start TensorFlow quietly when it is first imported; a no-op once it is loaded, or when the
    user asked for TensorFlow's logs (TF_CPP_MIN_LOG_LEVEL set to 0 or 1)."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") in ("0", "1"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's later INFO and WARNING lines too
    if not any(isinstance(finder, _QuietTensorflow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorflow())
