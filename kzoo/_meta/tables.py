"""The rules kzoo reads tables by, as plain constants: the CLI's help, the options' checks and the
readers all quote them from here, and importing them costs no numpy."""

from __future__ import annotations

import os

#: Cells read as a missing value, in CSV files and in-memory text columns (R's, pandas' and
#: spreadsheets' markers); ``--na-values`` replaces the set. Compared after stripping spaces.
DEFAULT_NA_VALUES: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?", "-")
#: What a target is learnt as (``--task``).
TASKS: tuple[str, ...] = ("classification", "regression")
#: A whole-number target with more distinct values than this is taken for regression.
MAX_INTEGER_CLASSES = 20
#: One-hot width of a categorical column, its "missing or other" slot included.
MAX_CATEGORIES = 32
#: Table files by name: comma- (or semicolon-) and tab-separated text ...
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv")
#: ... as is or compressed, as packages ship them and pandas reads them (a .zip of one table).
COMPRESSED_SUFFIXES: tuple[str, ...] = (".gz", ".bz2", ".xz", ".zip")


def table_suffix(name: str | os.PathLike[str]) -> str | None:
    """``.csv`` or ``.tsv`` for a table file's name (``data.tsv.gz`` -> ``.tsv``), else None."""
    lowered = os.fspath(name).lower()
    for compressed in ("", *COMPRESSED_SUFFIXES):
        for suffix in TABLE_SUFFIXES:
            if lowered.endswith(suffix + compressed):
                return suffix
    return None
