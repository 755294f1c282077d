"""Writing output files: all at once (readers see the old file or the new one, never half of one),
in the format their suffix names."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import ConfigError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path`` (same folder, same suffix) that replaces ``path`` on success.

    The folder is created if needed. On an exception the temporary file is removed and ``path``
    is left as it was::

        with atomic_output("curves.png") as tmp:
            figure.savefig(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def image_format(path: Path, formats: Sequence[str], what: str) -> str:
    """The format ``path``'s suffix names, or a ConfigError listing the suffixes ``formats`` allows."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in formats:
        suffixes = [f".{f}" for f in formats]
        allowed = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1 else suffixes)
        raise ConfigError(f"cannot write {what} to {str(path)!r}: the file name must end in {allowed}.")
    return fmt


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
