"""Start TensorFlow without its C++ start-up chatter on the terminal.

TensorFlow 2.21 logs through Abseil before Abseil is initialised, so TF_CPP_MIN_LOG_LEVEL does
not hide lines such as "All log messages before absl::InitializeLog() ..." or "failed call to
cuInit" (abseil/abseil-cpp#1718). They are written by C++ straight to file descriptor 2, so the
only way to keep them off a CLI user's screen is to point that descriptor elsewhere while
TensorFlow starts. What was written is replayed if starting fails, so no real error is lost.
"""

from __future__ import annotations

import os
import sys
import tempfile


def start_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices with stderr captured; a no-op when already done,
    when the user asked for TensorFlow's logs (TF_CPP_MIN_LOG_LEVEL set to 0 or 1), or when Keras
    runs on another backend."""
    from ..backend import is_tensorflow

    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") in ("0", "1") or not is_tensorflow():
        return  # on JAX or PyTorch nothing should start TensorFlow at all
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe logs here, not at import
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
