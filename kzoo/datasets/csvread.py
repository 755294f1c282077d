"""Reading a CSV file column by column into typed arrays, in one streaming pass.

Why not ``list(csv.reader(f))``: a list of Python strings costs 50-70 bytes a cell, ten times
the file and fifteen times the float32 array it becomes. Here each numeric cell goes straight
into a float array, so peak memory is a small multiple of the result. Text columns (a class
label such as ``species``) are stored as integer codes of their distinct values.

Also here: a UTF-8 byte-order mark is dropped; the delimiter (comma, semicolon or tab) is
detected with the standard library's sniffer (a ``.tsv`` file is tab-separated); a file
compressed as ``.gz``, ``.bz2``, ``.xz`` or ``.zip`` (one table inside) is read as it
decompresses, at most ``KZOO_MAX_ARRAY_BYTES`` of it; row numbers in messages are the lines an
editor shows (the header is line 1).
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import lzma
import math
import os
import warnings
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._meta.tables import table_suffix
from .._system.limits import format_bytes, max_array_bytes
from ..errors import CsvNote, DataError, option, outside_kzoo
from .table import DEFAULT_NA_VALUES, _natural_key

DELIMITERS = ",;\t"
SNIFF_BYTES = 64 * 1024
MAX_LINE_CHARS = 1 << 24  # 16 Mi characters: a row of 100,000 wide cells fits, a 2 GB line does not
MAX_COLUMNS = 1_000_000
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class _Column:
    floats: array | None  # None once a non-numeric cell was seen
    bad: tuple[int, str] | None = None  # (line, cell) of the first non-numeric cell
    codes: array | None = None  # text columns: index into ``values``
    values: dict[str, int] | None = None


@dataclass
class CsvColumns:
    """The columns of one CSV file. ``lines[i]`` is the editor line of data row ``i``."""

    path: str
    header: list[str]
    delimiter: str
    lines: np.ndarray
    _columns: dict[str, _Column] = field(repr=False, default_factory=dict)
    missing: frozenset[str] = frozenset({""})  # cells that mean "no value"

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    @property
    def num_rows(self) -> int:
        return len(self.lines)

    def is_text(self, name: str) -> bool:
        """True when column ``name`` holds a cell that is not a number (a text column)."""
        return self._columns[name].floats is None

    def first_text_cell(self, name: str) -> str:
        """Where column ``name`` stops being numeric, as an editor shows it: ``line 6 holds 'x'``."""
        line, cell = self._columns[name].bad  # type: ignore[misc]
        return f"line {line} holds {cell!r}"

    def text(self, name: str) -> np.ndarray:
        """Column ``name``'s cells as strings, missing ones as "" (categorical features, or text
        for sequence inputs)."""
        self._to_text(name)
        column = self._columns[name]
        # Object arrays: numpy's str dtype pads every cell to the longest, and one 131,000-character
        # cell made a 3,000-row column 1.5 GB; these hold one reference per row to shared strings.
        values = np.empty(len(column.values), dtype=object)
        values[:] = list(column.values)
        return values[np.frombuffer(column.codes, dtype="int32")] if len(values) else values  # type: ignore[arg-type]

    def numeric(self, name: str) -> np.ndarray:
        """Column ``name`` as float32; a DataError naming the column and the line of the first
        cell that is not a number, or of empty / non-finite cells."""
        column = self._columns[name]
        if column.floats is None:
            line, cell = column.bad  # type: ignore[misc]
            raise DataError(
                f"{self.path!r}: column {name!r} is not numeric (line {line} holds {cell!r}); features must be "
                f"numbers. Make it the {option('target')}, or drop it from the file."
            )
        values = np.frombuffer(column.floats, dtype="float32" if column.floats.typecode == "f" else "float64")
        bad = np.isinf(values)
        if bad.any():
            raise DataError(f"{self.path!r}: column {name!r} has {int(bad.sum())} infinite cell(s), "
                            f"on {self._where(bad)}; fill or drop those rows first.")
        return values.astype("float32", copy=False)

    def target(self, name: str, class_names: Sequence[str] | None = None
               ) -> tuple[np.ndarray, list[str] | None, np.ndarray]:
        """Column ``name`` as a target, with the mask of its missing cells: integer labels for
        whole numbers, float64 for real values, integer labels and class names for text (in
        natural order unless ``class_names`` fixes them). Missing rows hold 0 or NaN."""
        column = self._columns[name]
        if column.floats is not None:
            values = np.frombuffer(column.floats, dtype="float64")
            empty = np.isnan(values)
            if not class_names:
                present = values[~empty]
                if np.all(present == np.round(present)) and np.all(np.abs(present) < 2**31):
                    return np.where(empty, 0, values).astype("int32"), None, empty
                return values.copy(), None, empty
        # Text, or a saved classifier's labels (text that may look like numbers): compare as text.
        self._to_text(name)
        codes = np.frombuffer(column.codes, dtype="int32")  # type: ignore[arg-type]
        empty = codes == column.values[""] if "" in column.values else np.zeros(len(codes), bool)  # type: ignore[operator,index]
        texts = [t for t in column.values if t]  # type: ignore[union-attr]
        labels, names = self._encode(texts, codes, class_names, name, list(column.values))  # type: ignore[arg-type]
        return labels, names, empty

    def where(self, mask: np.ndarray) -> str:
        """The editor lines of the rows in ``mask``, for messages: ``lines 4, 9 ...``."""
        return self._where(mask)

    def _encode(self, texts: list[str], codes: np.ndarray, class_names: Sequence[str] | None,
                name: str, all_values: list[str]) -> tuple[np.ndarray, list[str]]:
        names = list(class_names) if class_names else sorted(set(texts), key=_natural_key)
        index = {n: i for i, n in enumerate(names)}
        index.setdefault("", 0)  # a missing label: the row is left out by the caller
        unknown = [t for t in texts if t not in index]
        if unknown:
            raise DataError(
                f"{self.path!r}: column {name!r} holds labels {', '.join(map(repr, sorted(unknown)[:5]))} that are not "
                f"among the model's classes ({', '.join(names)}); use data with the classes the model was trained on."
            )
        remap = np.array([index[t] for t in all_values], dtype="int32")
        return remap[codes] if len(remap) else codes.astype("int32"), names

    def _where(self, mask: np.ndarray) -> str:
        lines = self.lines[np.nonzero(mask)[0][:5]].tolist()
        more = " ..." if int(mask.sum()) > 5 else ""
        return f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}{more}"

    def _to_text(self, name: str) -> None:
        """Read column ``name`` again, as text codes (only text columns pay for a second pass)."""
        column = self._columns[name]
        if column.codes is not None:
            return
        j = self.header.index(name)
        codes, values = array("i"), {}
        with open_text(self.path) as f:
            for row in _data_rows(f, self.delimiter, self.path):
                cell = row[j].strip()
                if cell in self.missing:
                    cell = ""
                code = values.get(cell)
                if code is None:
                    code = values[cell] = len(values)
                codes.append(code)
        column.codes, column.values = codes, values


def _check_spanning(path: str, line: int, row: list[str], header: list[str], slots: list[_Column]) -> None:
    """Refuse a number that holds a line break: ``"1\n"`` is a quote closed in the wrong place,
    not the number 1 that ``float`` would read (a text cell may hold line breaks)."""
    for j, cell in enumerate(row[:len(slots)]):
        if slots[j].floats is not None and ("\n" in cell or "\r" in cell) and _is_number(cell):
            raise DataError(f"{path!r} line {line}: column {header[j]!r} holds {cell[:40]!r}, a quoted cell that spans "
                            f"lines, where numbers are expected; check the quotes around line {line}.")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon or tab, whichever the standard library's sniffer finds in ``sample``
    and the header line agrees with; comma when in doubt."""
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","
    header = sample.split("\n", 1)[0]
    if found != "," and header.count(found) > header.count(","):
        return found
    return ","


@contextlib.contextmanager
def open_text(path: str | os.PathLike[str]) -> Iterator[io.TextIOBase]:
    """The text of the table file at ``path``, decompressed by its suffix (``.gz``, ``.bz2``,
    ``.xz``; a ``.zip`` holding one file), at most ``KZOO_MAX_ARRAY_BYTES`` of it: a few
    megabytes that unpack to terabytes are refused as they unpack."""
    lowered = os.fspath(path).lower()
    with contextlib.ExitStack() as stack:
        if lowered.endswith(".zip"):
            archive = stack.enter_context(zipfile.ZipFile(path))
            members = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            if len(members) != 1:
                raise DataError(f"{path!r} holds {len(members)} files; a zipped table holds exactly one "
                                f"(.csv or .tsv). Unzip it and pass the table's own file.")
            raw: Any = stack.enter_context(archive.open(members[0]))
        elif lowered.endswith((".gz", ".bz2", ".xz")):
            opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[lowered[lowered.rindex("."):]]
            raw = stack.enter_context(opener(path, "rb"))
        else:
            yield stack.enter_context(open(path, newline="", encoding="utf-8-sig"))
            return
        capped = io.BufferedReader(_Capped(raw, path, max_array_bytes()))
        yield stack.enter_context(io.TextIOWrapper(capped, encoding="utf-8-sig", newline=""))


class _Capped(io.RawIOBase):
    """A decompressing stream that stops with a DataError past ``cap`` bytes."""

    def __init__(self, raw: Any, path: str, cap: int) -> None:
        self.raw, self.path, self.cap, self.count = raw, path, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.count += n
        if self.count > self.cap:
            raise DataError(f"{self.path!r} decompresses to more than {format_bytes(self.cap)}; refusing a likely "
                            f"compression bomb (raise KZOO_MAX_ARRAY_BYTES if the file is genuine).")
        return n


class _Lines:
    """The lines of a CSV file, each at most MAX_LINE_CHARS long: a file of one endless line (a
    header of a billion columns, a 2 GB field) is refused after reading one bounded piece of it,
    not read whole into memory first."""

    def __init__(self, f: io.TextIOBase, path: str) -> None:
        self.f, self.path, self.number = f, path, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.f.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > MAX_LINE_CHARS:
            raise DataError(f"{self.path!r} line {self.number} is longer than {MAX_LINE_CHARS:,} characters; kzoo "
                            f"reads CSV files of ordinary rows (a table, not one endless line): check the file.")
        return line


def _reader(f: io.TextIOBase, delimiter: str, path: str) -> Any:
    """A strict csv reader over bounded lines: a quote that is never closed is an error, not
    the rest of the file swallowed into one cell."""
    return csv.reader(_Lines(f, path), delimiter=delimiter, strict=True)


def _records(reader: Any, path: str) -> Iterator[tuple[int, int, list[str]]]:
    """``(first line, last line, cells)`` of each record; a csv error is one DataError naming the
    line where its record starts."""
    last = 0
    rows = iter(reader)
    while True:
        start = last + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _quote_error(path, exc, start) from None
        last = reader.line_num
        yield start, last, row


def _quote_error(path: str, exc: csv.Error, start: int) -> DataError:
    """A csv parsing error as one line naming the row where the broken record starts."""
    if "end of data" in str(exc) or "EOF" in str(exc):
        return DataError(f"{path!r} line {start}: a quoted cell opens there and is never closed, so the rest of the "
                         f"file would be one cell; close the quote (write a quote inside a cell as \"\").")
    return DataError(f"{path!r} line {start}: cannot be read as CSV ({exc}); check its quotes.")


def _data_rows(f: io.TextIOBase, delimiter: str, path: str):
    """The cells of each non-blank row after the header (the file was read once already, so its
    shape is known to be right)."""
    header = False
    for row in _reader(f, delimiter, path):
        if not row or (not row[0].strip() and not any(cell.strip() for cell in row)):
            continue
        if header:
            yield row
        header = True


def read_columns(path: str, wide: Sequence[str] = (), na_values: Sequence[str] = DEFAULT_NA_VALUES) -> CsvColumns:
    """Every column of the CSV file at ``path``, read in one pass. Columns named in ``wide``
    (targets) keep float64 precision; the others are float32. Cells in ``na_values`` (after
    stripping spaces) are missing: NaN in a numeric column, "" in a text one."""
    missing = frozenset(v.strip() for v in na_values) | {""}
    try:
        tabs, delimiter = table_suffix(path) == ".tsv", "\t"
        if not tabs:
            with open_text(path) as f:
                delimiter = sniff_delimiter(f.read(SNIFF_BYTES))
        with open_text(path) as f:
            records = _records(_reader(f, delimiter, path), path)
            header = None
            for _, _, row in records:
                if row and any(cell.strip() for cell in row):
                    if len(row) > MAX_COLUMNS:
                        raise DataError(f"{path!r}: the header has {len(row):,} columns, more than the {MAX_COLUMNS:,} "
                                        f"kzoo reads; check the delimiter, or select columns first.")
                    header = [h.strip() for h in row]
                    break
            if header is None:
                raise DataError(f"{path!r} is empty; expected a header row and at least one data row.")
            duplicates = sorted(name for name, n in Counter(header).items() if n > 1)
            if duplicates:
                raise DataError(f"{path!r}: the header names column(s) {', '.join(map(repr, duplicates))} more than "
                                f"once; give every column its own name.")
            columns = {name: _Column(array("d" if name in wide else "f")) for name in header}
            slots = [columns[name] for name in header]
            active = list(range(len(header)))
            appends = [c.floats.append for c in slots]  # type: ignore[union-attr]
            lines = array("i")
            nan = math.nan
            width = len(header)
            for line, last, row in records:
                if not row or (not row[0].strip() and not any(cell.strip() for cell in row)):
                    continue
                if last > line:  # a quoted line break: fine in text, never in a number
                    _check_spanning(path, line, row, header, slots)
                if len(row) != width:
                    raise DataError(f"{path!r} line {line} has {len(row)} field(s), the header has {width}; every "
                                    f"row needs one value per column.")
                lines.append(line)
                dropped = False
                for j in active:
                    cell = row[j]
                    try:
                        appends[j](float(cell))
                    except ValueError:
                        if cell.strip() in missing:
                            appends[j](nan)
                        else:
                            slots[j].bad, slots[j].floats = (line, cell.strip()), None
                            dropped = True
                if dropped:
                    active = [j for j in active if slots[j].floats is not None]
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"could not read {path!r} as CSV ({type(exc).__name__}: {exc}).") from exc
    if not lines:
        raise DataError(f"{path!r} has a header but no data rows; expected at least one sample.")
    if delimiter != ("\t" if tabs else ","):
        warnings.warn(f"{path!r}: read as {_NAMES[delimiter]}-separated (detected from its first lines).",
                      CsvNote, stacklevel=outside_kzoo())
    return CsvColumns(path, header, delimiter, np.frombuffer(lines, dtype="int32"), columns, missing)
