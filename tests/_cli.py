"""Running the CLI in-process and checking its one-line errors (shared by the CLI tests)."""

from __future__ import annotations

from click.testing import CliRunner, Result

from kzoo.cli import main


def run(*args: object) -> Result:
    """``kzoo ARGS...`` in this process (click's runner keeps stdout and stderr apart)."""
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result: Result, *parts: str) -> None:
    """Exit 1 with exactly one ``kzoo: error:`` line on stderr that holds every one of ``parts``."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kzoo: error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
