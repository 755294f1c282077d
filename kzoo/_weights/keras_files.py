"""Weights files Keras publishes (keras.applications' ImageNet weights), fetched the way Keras
fetches them: ``keras.utils.get_file`` into Keras's own cache, with Keras's own hash check.

kzoo adds what Keras leaves out: a file that fails its hash is removed, never used or re-tried
silently; with ``KZOO_OFFLINE=1`` the network is never touched. The path is worked out without
keras (``kzoo weights`` and ``kzoo weights verify`` import none); keras is imported only to download.

Keras's download is unbounded: KZOO_DOWNLOAD_TIMEOUT and KZOO_MAX_DOWNLOAD_BYTES, which bound
kzoo's own downloads, do not apply to these files.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

from .._meta.weights_card import Weights
from ..errors import WeightsError
from .digest import digest_of, mismatch


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


def download(weights: Weights, target: Path, progress: bool = False) -> None:
    """``keras.utils.get_file`` of ``weights.source`` into Keras's cache, checked against the card's
    digest by Keras; a file that fails is removed. Keras's messages go to stderr (or nowhere
    without ``progress``), never into a command's stdout."""
    from keras.utils import get_file

    subdir, fname = weights.keras_file.split("/")  # type: ignore[union-attr]
    home = target.parent.parent
    try:  # a folder Keras can write to, so it never falls back to /tmp/.keras behind kzoo's back
        target.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(home, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise WeightsError(f"cannot write to Keras's cache {str(home)!r} for weights {weights.full_name!r}; "
                           f"set KERAS_HOME to a writable folder.")
    sink = sys.stderr if progress else io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            get_file(fname, weights.source, file_hash=weights.digest, hash_algorithm=weights.hash_algorithm,
                     cache_subdir=subdir, cache_dir=str(home))
    except Exception as exc:
        if target.is_file():  # Keras removes what a broken download left, but keeps a file that failed its hash
            actual = digest_of(target, weights.hash_algorithm)
            target.unlink(missing_ok=True)
            raise mismatch(weights, actual, f"downloaded from {weights.source} by Keras; nothing was kept in its "
                                            f"cache") from None
        reason = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise WeightsError(f"could not download weights {weights.full_name!r} from {weights.source} with "
                           f"keras.utils.get_file: {reason}; check the network, or set KZOO_OFFLINE=1 to use "
                           f"cached files only.") from None
    actual = digest_of(target, weights.hash_algorithm)  # Keras checked it; kzoo checks every file it uses itself
    if actual != weights.digest:
        target.unlink(missing_ok=True)
        raise mismatch(weights, actual, f"downloaded from {weights.source} by Keras; nothing was kept in its cache")
