"""One helper for the benchmarks that keep their results in a docs page (``--docs``): the page
holds a block between two HTML comment markers, and a run replaces what is between them, so the
prose around the figures stays hand-written."""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of block ``name``: ``<!-- NAME:start -->``, ``<!-- NAME:end -->``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_block(page: Path, name: str, block: str) -> None:
    """Replace what lies between block ``name``'s markers in ``page`` with ``block``."""
    start, end = markers(name)
    text = page.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{page} has no {start} ... {end} block to fill")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    page.write_text(f"{head}{start}\n{block}\n{end}{tail}")
