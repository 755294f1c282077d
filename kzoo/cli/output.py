"""How CLI commands print: aligned tables for people, JSON for scripts, CSV for predictions."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import unicodedata
from collections.abc import Sequence
from typing import Any

import click

from .plumbing import write_text


def echo_json(data: Any) -> None:
    """``data`` as strict JSON, which every parser reads: NaN as null, infinities as the strings
    ``"Infinity"`` and ``"-Infinity"`` (Python's ``json`` would write bare NaN and Infinity)."""
    click.echo(json.dumps(_finite(data), indent=2, default=str, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# Characters that would move or hide what a terminal shows: line breaks, other control
# characters, and the bidirectional overrides and isolates (a right-to-left override makes
# "evil\u202ecod.exe" read as "evilexe.doc").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: Any) -> str:
    """``text`` as a terminal can show it faithfully: control, line-separator and bidi
    characters written as escapes (``\\n``, ``\\u202e``), everything else as it is."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(_SHORT.get(c, f"\\u{ord(c):04x}") if c in _BIDI or _hidden(c) else c for c in text)


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def echo_line(text: Any) -> None:
    """One line of a report for people, through :func:`printable` (names come from plugins and files)."""
    click.echo(printable(text))


def listed(names: Sequence[Any], shown: int = 8) -> str:
    """The first ``shown`` names, then how many there are: a table may have 100,000 columns, a
    plugin 40 models."""
    head = ", ".join(str(n) for n in names[:shown])
    return head if len(names) <= shown else f"{head}, ... ({len(names):,} in all)"


def terminal_width() -> int | None:
    """The terminal's width when standard output is one; None when it is piped or a file (a
    script or a log reads whole cells there)."""
    import shutil
    import sys

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_last: int = 70, width: int | None = None) -> None:
    """Columns padded to their widest cell; the last column is cut to ``max_last`` characters,
    or to what is left of ``width`` characters for the whole line (at least 8)."""
    cells = [[str(h).upper() for h in headers]] + [[printable(c) for c in row] for row in rows]
    if width is not None:
        before = sum(max(len(row[i]) for row in cells) + 2 for i in range(len(headers) - 1))
        max_last = min(max_last, max(width - before, 8))
    for row in cells[1:]:
        if len(row[-1]) > max_last:
            row[-1] = row[-1][: max_last - 1] + "…"
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Header and rows as CSV text, quoted where a cell needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A CSV file written atomically."""
    write_text(path, csv_text(header, rows))
