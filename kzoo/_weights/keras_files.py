"""Weights files Keras publishes (keras.applications' ImageNet weights), kept where Keras keeps
them: its own cache (``$KERAS_HOME/models/...``), checked against the hash Keras checks.

kzoo downloads them itself (:func:`kzoo._weights.cache.download`), so they get kzoo's bounds:
the card's size or KZOO_MAX_DOWNLOAD_BYTES, KZOO_DOWNLOAD_TIMEOUT per read, urllib's redirect
limit, a temporary file renamed only once its digest matched. A file that fails its hash is
removed, never used or re-tried silently; with ``KZOO_OFFLINE=1`` the network is never touched.
The path is worked out without keras.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._meta.weights_card import Weights
from ..errors import WeightsError


def keras_home() -> Path:
    """Keras's cache folder as Keras picks it: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras``
    when the home folder is not writable)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = os.path.expanduser("~")
    return Path(home if os.access(home, os.W_OK) else "/tmp") / ".keras"


def keras_path(weights: Weights) -> Path:
    """Where ``keras.utils.get_file`` keeps the file of ``weights`` (their ``keras_file``)."""
    assert weights.keras_file is not None
    return keras_home() / weights.keras_file


def check_writable(weights: Weights, target: Path) -> None:
    """Keras's cache folder for ``target`` exists and is writable, so the file lands where Keras
    looks for it (Keras itself would fall back to /tmp/.keras behind kzoo's back)."""
    home = target.parent.parent
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(home, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise WeightsError(f"cannot write to Keras's cache {str(home)!r} for weights {weights.full_name!r}; "
                           f"set KERAS_HOME to a writable folder.")
