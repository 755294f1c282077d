"""Weights files on disk: where they are, fetching them into the cache, checking their digest
(the sha256, or the md5 of a card that carries only that).

Environment:
  KZOO_CACHE_DIR=path          where downloaded weights go (default: the user's cache folder)
  KZOO_OFFLINE=1               never touch the network; a file not cached yet is an error naming it
  KZOO_DOWNLOAD_TIMEOUT=secs   seconds to wait for a server to answer, and the longest a download
                               may take for each 64 KiB it receives (default 30; at most a week)
  KZOO_MAX_DOWNLOAD_BYTES=N    the most a download may receive when its card gives no ``size``
                               (default 4G; suffixes K, M, G, T)

Every file is hashed in full before it is used, bundled files included. A download goes to a
temporary file in the cache and is renamed into place only once its digest matches, so the cache
never holds a half-written or wrong file; the temporary file of a download killed mid-way is
removed by the next download of the same weights.

A download is bounded in size and in time: it stops at the card's ``size`` (or
KZOO_MAX_DOWNLOAD_BYTES) and once it falls behind its deadline, KZOO_DOWNLOAD_TIMEOUT seconds
for each 64 KiB block, so a server that streams forever or drips a byte at a time ends in one
line, not a full disk or a wait without end.

Files Keras publishes (a card's ``keras_file``) are the exception: they live in Keras's cache and
are downloaded by Keras (:mod:`kzoo._weights.keras_files`); the checks before use are the same.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .._meta.weights_card import SUFFIX, Weights
from .._system.files import TEMP_TAG, remove_stale_temps
from .._system.limits import env_seconds, format_bytes, parse_bytes
from .._zoo.plugins import env_flag
from ..errors import WeightsError
from . import keras_files
from .digest import CHUNK, digest_of, mismatch

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 2**30


def cache_dir() -> Path:
    """``KZOO_CACHE_DIR``, else ``$XDG_CACHE_HOME/kzoo``, else ``~/.cache/kzoo``."""
    if os.environ.get("KZOO_CACHE_DIR"):
        return Path(os.environ["KZOO_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kzoo"


def cached_path(weights: Weights) -> Path:
    """Where a downloaded file lives: its name and digest prefix, so new weights never collide;
    a file Keras publishes lives in Keras's cache, where Keras puts it."""
    if weights.keras_file is not None:
        return keras_files.keras_path(weights)
    return cache_dir() / "weights" / f"{weights.full_name}-{weights.digest[:12]}{SUFFIX}"


def local_path(weights: Weights) -> Path | None:
    """The file of weights that are not downloaded: a plugin's bundled file or a local path."""
    if weights.is_url:
        return None
    path = Path(weights.source).expanduser()
    if not path.is_absolute() and weights.base_dir:
        path = Path(weights.base_dir) / path
    return path


def locate(weights: Weights) -> Path | None:
    """Where the file of ``weights`` is now (bundled, local or cached), or None if it still has
    to be downloaded; nothing is hashed or fetched.

    Args:
        weights: a card, such as ``kzoo.get_weights("mlp.iris")``.

    Returns:
        The file's path, or None.

    Example:
        >>> kzoo.weights_path(kzoo.get_weights("mlp.iris")).suffix
        '.h5'
    """
    path = local_path(weights) or cached_path(weights)
    return path if path.is_file() else None


def fetch(weights: Weights, progress: bool | None = None) -> Path:
    """The verified local file of ``weights``, downloading it into the cache first if needed
    (``kzoo weights fetch``: fetch ahead of time, e.g. while building an image for offline use).

    A cached file whose digest does not match is deleted; a bundled or local one is left alone
    (it is not kzoo's to delete) but never used.

    Args:
        weights: a card, such as ``kzoo.get_weights("mlp.iris")``.
        progress: draw a progress bar (default: when stderr is a terminal).

    Returns:
        The path of the verified file.

    Raises:
        kzoo.WeightsError: the file is missing, fails its digest, cannot be downloaded, or is not
            cached while ``KZOO_OFFLINE`` is set.

    Example:
        >>> path = kzoo.fetch_weights(kzoo.get_weights("mlp.iris"))
    """
    local = local_path(weights)
    if local is not None:
        if not local.is_file():
            raise WeightsError(f"weights {weights.full_name!r}: no file at {str(local)!r} (plugin {weights.plugin!r}); "
                               f"reinstall the plugin or fix the path.")
        actual = digest_of(local, weights.hash_algorithm)
        if actual != weights.digest:
            raise mismatch(weights, actual, str(local))
        return local
    target = cached_path(weights)
    if target.is_file():
        actual = digest_of(target, weights.hash_algorithm)
        if actual == weights.digest:
            return target
        target.unlink(missing_ok=True)
        raise mismatch(weights, actual, f"removed {str(target)!r} from the cache; fetch it again")
    if env_flag("KZOO_OFFLINE"):
        raise WeightsError(f"KZOO_OFFLINE is set and weights {weights.full_name!r} are not in the cache: expected "
                           f"{str(target)!r}; run `kzoo weights fetch {weights.full_name}` online, or download "
                           f"{weights.source} to that path.")
    show = sys.stderr.isatty() if progress is None else progress
    if weights.keras_file is not None:  # into Keras's cache, with kzoo's bounds
        keras_files.check_writable(weights, target)
    download(weights, target, show)
    return target


def download(weights: Weights, target: Path, progress: bool = False) -> None:
    """``weights.source`` into ``target`` through a temporary file renamed after its digest matched."""
    url, name = weights.source, weights.full_name
    limit = weights.size if weights.size else max_download_bytes()
    wait = timeout()  # a bad KZOO_DOWNLOAD_TIMEOUT is one line before anything is created
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)  # what a download killed mid-way left behind
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}{TEMP_TAG}{os.getpid()}-", suffix=target.suffix,
                                        dir=target.parent)
    except OSError as exc:
        raise WeightsError(f"cannot write to the weights cache {str(target.parent)!r}: {exc.strerror or exc}; "
                           f"set KZOO_CACHE_DIR to a writable folder.") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy(url, name, out, progress, str(target.parent), limit, wait, weights.hash_algorithm)
        if digest != weights.digest:
            raise mismatch(weights, digest, f"downloaded from {url}; nothing was kept in the cache")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _copy(url: str, name: str, out: BinaryIO, progress: bool, folder: str, limit: int, wait: float,
          algorithm: str = "sha256") -> str:
    """Stream ``url`` into ``out``, at most ``limit`` bytes and ``wait`` seconds per CHUNK; returns
    the ``algorithm`` digest of what was written. One-line errors."""
    digest = hashlib.new(algorithm)
    try:
        response = urllib.request.urlopen(url, timeout=wait)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:  # urllib's own text is three lines
            raise WeightsError(f"could not download weights {name!r} from {url}: the server redirects in a loop (HTTP "
                               f"{exc.code}, {urllib.request.HTTPRedirectHandler.max_redirections} redirects at most); "
                               f"the card's source is wrong, tell the plugin's author.") from None
        reason = str(exc.reason or "").strip().splitlines()
        raise WeightsError(f"could not download weights {name!r} from {url}: HTTP {exc.code} "
                           f"{reason[0] if reason else ''}".rstrip() + ".") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(f"could not download weights {name!r} from {url}: {reason or type(exc).__name__} "
                           f"(timeout {wait:g} s, KZOO_DOWNLOAD_TIMEOUT); check the network, or set "
                           f"KZOO_OFFLINE=1 to use cached files only.") from None
    with response, _bar(response, name, progress) as bar:
        announced = response.headers.get("Content-Length", "")
        if announced.strip().isdigit() and int(announced) > limit:
            raise _too_big(name, url, f"the server announces {format_bytes(int(announced))}", limit)
        start, received = time.monotonic(), 0
        while True:
            try:
                chunk = response.read1(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise WeightsError(f"download of weights {name!r} from {url} broke off: {exc or type(exc).__name__} "
                                   f"(timeout {wait:g} s); try again.") from None
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                raise _too_big(name, url, f"the server sent {format_bytes(received)}", limit)
            if time.monotonic() - start > wait * (1 + received // CHUNK):
                raise WeightsError(f"download of weights {name!r} from {url} is too slow: {format_bytes(received)} in "
                                   f"{time.monotonic() - start:.0f} s, behind the deadline of {wait:g} s "
                                   f"(KZOO_DOWNLOAD_TIMEOUT) per {format_bytes(CHUNK)}; try again later.")
            try:
                out.write(chunk)
            except OSError as exc:
                raise WeightsError(f"could not save weights {name!r} in the cache {folder!r}: "
                                   f"{exc.strerror or exc}; free some space or set KZOO_CACHE_DIR elsewhere.") from None
            digest.update(chunk)
            bar(len(chunk))
    return digest.hexdigest()


def _too_big(name: str, url: str, what: str, limit: int) -> WeightsError:
    return WeightsError(f"download of weights {name!r} from {url} stopped: {what}, more than the "
                        f"{format_bytes(limit)} expected (the card's size, else KZOO_MAX_DOWNLOAD_BYTES); nothing "
                        f"was kept in the cache.")


def timeout() -> float:
    """KZOO_DOWNLOAD_TIMEOUT in seconds (default 30); a bad value is one ConfigError naming it."""
    return env_seconds("KZOO_DOWNLOAD_TIMEOUT", DEFAULT_TIMEOUT)


def max_download_bytes() -> int:
    """KZOO_MAX_DOWNLOAD_BYTES (default 4 GiB): the cap of a download whose card gives no size."""
    raw = os.environ.get("KZOO_MAX_DOWNLOAD_BYTES", "").strip()
    return parse_bytes(raw, "KZOO_MAX_DOWNLOAD_BYTES") if raw else DEFAULT_MAX_DOWNLOAD_BYTES


@contextmanager
def _bar(response: Any, name: str, enabled: bool) -> Iterator[Any]:
    """A click progress bar on stderr when ``enabled``, else a no-op callable."""
    if not enabled:
        yield lambda n: None
        return
    import click

    total = int(response.headers.get("Content-Length") or 0) or None
    with click.progressbar(length=total, label=f"downloading {name}", file=sys.stderr) as bar:
        yield bar.update


@dataclass(frozen=True)
class Verified:
    """The result of re-hashing one weights file: ``ok``, ``missing`` (not downloaded) or ``failed``."""

    weights: Weights
    status: str
    path: str | None
    message: str = ""


def verify(weights: Weights) -> Verified:
    """Re-hash the file of ``weights`` if it is on disk; never downloads (``kzoo weights verify``).
    A cached file that fails is removed (as :func:`fetch` would).

    Args:
        weights: a card, such as ``kzoo.get_weights("mlp.iris")``.

    Returns:
        A :class:`Verified`: ``status`` ``ok``, ``missing`` (not downloaded) or ``failed``, the
        file's ``path`` and, unless ok, a one-line ``message``.

    Example:
        >>> kzoo.verify_weights(kzoo.get_weights("mlp.iris")).status
        'ok'
    """
    path = local_path(weights) or cached_path(weights)
    if not path.is_file():
        where = "not downloaded yet" if weights.is_url else "file missing"
        return Verified(weights, "missing", str(path), where)
    try:
        fetch(weights, progress=False)
    except WeightsError as exc:
        return Verified(weights, "failed", str(path), str(exc))
    return Verified(weights, "ok", str(path))
