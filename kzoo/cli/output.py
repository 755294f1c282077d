"""How CLI commands print: aligned tables for people, JSON for scripts, CSV for predictions."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from typing import Any

import click

from .plumbing import write_text


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def listed(names: Sequence[Any], shown: int = 8) -> str:
    """The first ``shown`` names, then how many there are: a table may have 100,000 columns, a
    plugin 40 models."""
    head = ", ".join(str(n) for n in names[:shown])
    return head if len(names) <= shown else f"{head}, ... ({len(names):,} in all)"


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_last: int = 70) -> None:
    """Columns padded to their widest cell; the last column is cut to ``max_last`` characters."""
    cells = [[str(h).upper() for h in headers]] + [[str(c) for c in row] for row in rows]
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
