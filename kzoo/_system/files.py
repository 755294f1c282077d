"""Writing output files: all at once (readers see the old file or the new one, never half of one),
in the format their suffix names.

Each file is written under a temporary name next to it (``.NAME.kzoo-PID-XXXX.SUFFIX``),
flushed to disk with ``fsync`` and renamed over the target. Inside :func:`all_or_nothing`, the
renames wait until every file of the block is written, so a run's outputs land together or not
at all. Temporary files a killed process left behind are removed by the next write to the same
path. An OS error (permission denied, read-only file system, disk full, a directory in the way)
is an :class:`~kzoo.errors.OutputError` naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError, OutputError

TEMP_TAG = ".kzoo-"
_batch: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar("kzoo_outputs", default=None)


def output_error(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """The one-line error for an OS failure writing ``path``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f"cannot write {os.fspath(path)!r}: {reason}; choose another path or free the problem "
                       f"(permissions, disk space), then run again.")


def check_writable(path: str | os.PathLike[str], make_folders: bool = True) -> None:
    """Fail before any work when ``path`` cannot be written: a directory or a device is in the way,
    its folder is missing (unless ``make_folders``: then it is created when written) or exists but
    is not writable (read-only file system, permissions), or its name is too long."""
    path = Path(path)
    _check_name_length(path)
    if path.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: it is a directory; give a file name.")
    if path.exists() and not path.is_file():  # a replacing rename would swap a device or pipe for a file
        raise OutputError(f"cannot write {str(path)!r}: it is not a regular file (a device, pipe or socket); "
                          f"give a file name.")
    if not make_folders and not path.parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist; "
                          f"create it first or choose another path.")
    folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder.")
    if folder is not None and not os.access(folder, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(folder) else "permission denied"
        raise OutputError(f"cannot write {str(path)!r}: {reason} in {str(folder)!r}; choose another path.")
    if folder is not None and folder == path.parent:
        _probe(path, folder)


def check_distinct(outputs: Mapping[str, str | os.PathLike[str] | None],
                   inputs: Mapping[str, object] = {}) -> None:
    """Refuse, before any work, an output that is one of the inputs or another output.

    ``outputs`` and ``inputs`` map labels (``option("out")``, ``"the model"``) to paths; inputs
    that are not paths on disk (a data set name, arrays) and ``None`` are skipped. Paths are compared after
    resolving links: ``a/../f.csv``, a symlink and a hard link all name the same file."""
    seen: list[tuple[str, str, Path]] = []
    for role, path in inputs.items():
        if isinstance(path, (str, os.PathLike)) and os.path.exists(path):
            seen.append((role, os.fspath(path), _resolved(path)))
    for role, path in outputs.items():
        if path is None:
            continue
        resolved = _resolved(path)
        for other_role, other, other_resolved in seen:
            if _same(resolved, other_resolved):
                kind = "input" if other_role in inputs else "output"
                raise ConfigError(f"{role} {os.fspath(path)!r} is the same file as the {kind} {other_role} "
                                  f"{other!r}: writing it would replace that {kind}; choose another path.")
        seen.append((role, os.fspath(path), resolved))


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)  # hard links: two names, one file
    except (OSError, ValueError):
        return False


NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems
TEMP_NAME_EXTRA = 40  # what a temporary name adds: ".", ".kzoo-PID-", random letters, ".probe"


def _check_name_length(path: Path) -> None:
    """Refuse a file name too long for the file system (with room for its temporary name) before
    ``stat`` would raise on it."""
    for part in path.parts:
        limit = NAME_MAX - TEMP_NAME_EXTRA if part == path.name else NAME_MAX
        if len(os.fsencode(part)) > limit:
            raise OutputError(f"cannot write {_short(str(path))!r}: a name of {len(os.fsencode(part))} bytes is too "
                              f"long (at most {limit}); choose a shorter name.")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _probe(path: Path, folder: Path) -> None:
    """Create and remove a file in ``folder``: some folders (``/proc``, a full disk, a root-squashed
    share) pass every permission check and still refuse a new file."""
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc} in {str(folder)!r}; "
                          f"choose another path.") from None
    os.close(fd)
    os.unlink(probe)


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path`` (same folder, same suffix) that replaces ``path`` on success.

    The folder is created if needed. On an exception the temporary file is removed and ``path``
    is left as it was; inside :func:`all_or_nothing` the rename waits for the block's end::

        with atomic_output("curves.png") as tmp:
            figure.savefig(tmp)
    """
    path = Path(path)
    check_writable(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}{TEMP_TAG}{os.getpid()}-", suffix=path.suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise output_error(path, exc) from None
    tmp = Path(name)
    batch = _batch.get()
    try:
        try:
            yield tmp
            _fsync(tmp)
            # mkstemp makes the file private (0600); give it the mode a plain open() would have.
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~current_umask())
            if batch is None:
                os.replace(tmp, path)
                _fsync_folder(path.parent)
            else:
                batch.append((tmp, path))
        except OutputError:
            raise
        except OSError as exc:
            raise output_error(path, exc) from None
    finally:
        if batch is None or (tmp, path) not in batch:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Every :func:`atomic_output` in the block is renamed into place at its end, or, if anything
    in the block fails, none is (the earlier files keep their old contents)."""
    if _batch.get() is not None:  # nested: the outer block decides
        yield
        return
    staged: list[tuple[Path, Path]] = []
    token = _batch.set(staged)
    try:
        yield
        _batch.reset(token)
        token = None
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
                _fsync_folder(path.parent)
            except OSError as exc:
                raise output_error(path, exc) from None
    finally:
        if token is not None:
            _batch.reset(token)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files of ``path`` that kzoo processes no longer running left behind (a
    SIGKILL inside a write); those of live processes (a concurrent run) are kept."""
    removed = []
    prefix = f".{path.stem}{TEMP_TAG}"
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(path.suffix)]
    except OSError:
        return removed
    for candidate in candidates:
        pid = candidate.name[len(prefix):].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _fsync(path: Path) -> None:
    """Flush ``path``'s data to disk, so a crash after the rename cannot leave an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask (reading it means setting it: it is put straight back)."""
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
