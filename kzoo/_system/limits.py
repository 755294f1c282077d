"""Size limits checked before anything is allocated, so a hostile or mistaken input fails in
one line instead of exhausting memory.

Environment:
  KZOO_MAX_ARRAY_BYTES=N   largest array an NPZ member may declare (default 4 GiB; suffixes
                           K, M, G, T allowed, e.g. 16G)

  KZOO_MAX_PARAMS=N        largest model kzoo builds, in parameters (default 250M; suffixes K, M,
                           G as thousands, millions, billions), checked from the config first

  KZOO_MAX_MEMORY=N        the memory budget (default: what the system has available now): every
                           estimate below is held against it, lower it to keep kzoo small on a
                           shared server, raise it to try what the estimate refuses

One budget for everything a file or an option can make kzoo allocate: :func:`check_allocation`
holds each estimate (parameters, arrays, decoded images, synthetic data, one batch's activations,
encoding layers, prediction tables) against :func:`memory_budget` before anything is allocated.

Every numeric environment variable kzoo reads is checked here (:func:`env_seconds`,
:func:`parse_bytes`): a value that is not a number in its range is one ConfigError naming it,
never a traceback from deep inside a timer or a socket.
"""

from __future__ import annotations

import math
import os

from ..errors import ConfigError, DataError

DEFAULT_MAX_ARRAY_BYTES = 4 * 2**30
DEFAULT_MAX_PARAMS = 250_000_000
# Deflate cannot compress better than about 1032:1, so a member claiming more is a crafted header
# (a zip bomb announcing far more than it holds); genuine files, even all zeros, stay below.
MAX_COMPRESSION_RATIO = 1100
METADATA_MAX_BYTES = 32 * 2**20  # kzoo.json: a few KiB in practice; a table of 100,000 columns needs ~10 MiB
MAX_SEED = 2**32 - 1
MAX_INT32 = 2**31 - 1
MAX_SECONDS = 7 * 24 * 3600  # a week: longer waits are mistakes, and 1e308 overflows timers and sockets
_SUFFIXES = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def max_array_bytes() -> int:
    """The cap on one array's declared size (KZOO_MAX_ARRAY_BYTES, else 4 GiB)."""
    raw = os.environ.get("KZOO_MAX_ARRAY_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_ARRAY_BYTES
    return parse_bytes(raw, "KZOO_MAX_ARRAY_BYTES")


def parse_bytes(text: str, what: str) -> int:
    """``"512M"`` -> 536870912; a ConfigError naming ``what`` for anything else."""
    value, scale = text.strip().lower().removesuffix("b"), 1
    if value and value[-1] in _SUFFIXES:
        value, scale = value[:-1], _SUFFIXES[value[-1]]
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (number > 0 and number * scale < 2**63):
        raise ConfigError(f"{what}={text!r} is not a size; expected a positive number of bytes such as 8G.")
    return int(number * scale)


def env_seconds(name: str, default: float, zero_means: str | None = None) -> float:
    """Environment variable ``name`` as seconds in (0, MAX_SECONDS] (``default`` when unset);
    ``0`` too when ``zero_means`` says what it does. Anything else is a ConfigError naming it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and (0 < value <= MAX_SECONDS or (value == 0 and zero_means)):
        return value
    zero = f"0 ({zero_means}) or " if zero_means else ""
    raise ConfigError(f"{name}={raw!r} is not a number of seconds; expected {zero}a number above 0 and at most "
                      f"{MAX_SECONDS} (a week), such as {default:g}; fix or unset it.")


def max_params() -> int:
    """KZOO_MAX_PARAMS (default 250 million): the largest model built, whatever memory is free
    (free memory changes from minute to minute; a refusal should not)."""
    raw = os.environ.get("KZOO_MAX_PARAMS", "").strip()
    if not raw:
        return DEFAULT_MAX_PARAMS
    scale = {"k": 10**3, "m": 10**6, "g": 10**9}.get(raw[-1].lower(), 1)
    try:
        number = float(raw[:-1] if scale > 1 else raw)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and 1 <= number * scale < 2**63):
        raise ConfigError(f"KZOO_MAX_PARAMS={raw!r} is not a parameter count; expected a positive number such as "
                          f"500M; fix or unset it.")
    return int(number * scale)


def available_memory() -> int:
    """Bytes this process can still allocate: MemAvailable from /proc/meminfo, else physical RAM."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 2**63 - 1


def memory_budget() -> tuple[int, str]:
    """``(bytes, where they come from)``: KZOO_MAX_MEMORY when set, else the memory available now."""
    raw = os.environ.get("KZOO_MAX_MEMORY", "").strip()
    if raw:
        return parse_bytes(raw, "KZOO_MAX_MEMORY"), "KZOO_MAX_MEMORY"
    return available_memory(), "available"


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_allocation(nbytes: float, what: str, hint: str, share: float = 1.0) -> None:
    """A DataError before allocating ``nbytes`` for ``what`` when the memory budget cannot hold it,
    or more than ``share`` of it (the rest kept for what comes with it: data, temporaries)."""
    budget, source = memory_budget()
    if nbytes > budget * share:
        of = "" if share >= 1 else f" (at most {share:.0%} of it for this)"
        limit = (f"the {format_bytes(budget)} KZOO_MAX_MEMORY allows" if source == "KZOO_MAX_MEMORY"
                 else f"only {format_bytes(budget)} of memory is available")
        raise DataError(f"{what} would need about {format_bytes(nbytes)}, but {limit}{of}; "
                        f"{hint.rstrip('.')} (KZOO_MAX_MEMORY sets this budget).")
