"""Splits one CSV file into records, in plain Python: no Spark here, so every CSV edge case is tested fast.

Python's csv module, not Spark's CSV reader, does the tokenizing. Spark's reader (univocity) detects one
line separator per file in multi-line mode, so a file mixing CRLF and LF runs records together, and with
an explicit separator it loses the first row after a byte-order mark. The csv module reads quoted fields
across lines, doubled quotes, and any mix of CRLF, LF and CR, and tells us how many fields each record
really had, which Spark's reader pads or truncates.
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Iterator, List, NamedTuple, Optional, Sequence

BOM = "\ufeff"

# The csv module refuses fields over 128 KiB by default; a long free-text field is still a field.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class Record(NamedTuple):
    """One data record of a CSV file, before any type is applied."""

    source_file: str
    #: 1-based line of the file on which the record starts (the header is line 1).
    line: int
    #: The record exactly as it was in the file, without its line ending.
    raw: str
    #: The values in the order of the expected columns: padded with None or cut to their number.
    values: List[Optional[str]]
    #: Why the record cannot be used as it is (wrong field count, bytes that are not UTF-8), or None.
    problem: Optional[str]


class _TrackedLines:
    """Feeds csv.reader line by line and keeps the lines of the record being read, for `raw`."""

    def __init__(self, text: str) -> None:
        # newline='' splits on \n, \r and \r\n and leaves the endings as they are, as the csv module wants.
        self._lines = io.StringIO(text, newline="")
        self.taken: List[str] = []

    def __iter__(self) -> "_TrackedLines":
        return self

    def __next__(self) -> str:
        line = self._lines.readline()
        if line == "":
            raise StopIteration
        self.taken.append(line)
        return line


def decode(data: bytes) -> str:
    """UTF-8 with or without a byte-order mark. Bytes that are not UTF-8 survive as lone surrogates,
    so only the records holding them are rejected, not the whole file."""
    text = data.decode("utf-8", errors="surrogateescape")
    return text[1:] if text.startswith(BOM) else text


def normalize_name(name: str) -> str:
    """A header cell as a column name: lowercase, letters, digits and _ only (Glue and Redshift fold case)."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip().lower())
    cleaned = "".join(c if c.isascii() else "_" for c in cleaned).strip("_") or "col"
    return cleaned if not cleaned[0].isdigit() else f"c_{cleaned}"


def unique_names(names: Sequence[str]) -> List[str]:
    """Normalized names, with _2, _3 ... added where two header cells fold to the same name."""
    seen: dict = {}
    out = []
    for name in (normalize_name(n) for n in names):
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}_{count}")
    return out


def _has_undecodable(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def _reader(lines: _TrackedLines, delimiter: str, quote: str):
    # A doubled quote inside quotes is one quote; non-strict, so a stray quote is data, not an error.
    return csv.reader(lines, delimiter=delimiter, quotechar=quote, doublequote=True, strict=False)


def read_header(data: bytes, delimiter: str, quote: str) -> Optional[List[str]]:
    """The file's first record (its header), or None for an empty file."""
    reader = _reader(_TrackedLines(decode(data)), delimiter, quote)
    for fields in reader:
        if fields:
            return fields
    return None


def split_records(
    source_file: str,
    data: bytes,
    columns: Sequence[str],
    delimiter: str,
    quote: str,
) -> Iterator[Record]:
    """The data records of one CSV file whose first record is a header.

    Values are matched to `columns` by header name when the header names exactly those columns (in any
    order), else by position. Blank lines are not records. A value left empty is None: CSV cannot tell
    an empty string from a missing value, and Spark's own CSV reader reads both as null too.
    """
    lines = _TrackedLines(decode(data))
    reader = _reader(lines, delimiter, quote)
    order: Optional[List[int]] = None
    header_seen = False
    next_line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            # Not seen with strict=False, but a record the tokenizer refuses is still a record to report.
            if not lines.taken:
                # The reader raised without taking a line: it would raise again. Report the rest, do not loop.
                yield Record(source_file, next_line, "", [None] * len(columns), f"is not valid CSV from here on: {err}")
                return
            raw = "".join(lines.taken).rstrip("\r\n")
            lines.taken.clear()
            yield Record(source_file, next_line, _printable(raw), [None] * len(columns), f"is not valid CSV: {err}")
            next_line = reader.line_num + 1
            continue
        start, next_line = next_line, reader.line_num + 1
        raw = "".join(lines.taken).rstrip("\r\n")
        lines.taken.clear()
        if not fields:
            continue  # a blank line
        if not header_seen:
            header_seen = True
            names = unique_names(fields)
            if sorted(names) == sorted(columns) and names != list(columns):
                order = [names.index(c) for c in columns]
            continue
        problem = None
        if _has_undecodable(raw):
            problem = "the record holds bytes that are not UTF-8"
        elif len(fields) != len(columns):
            problem = f"has {len(fields)} fields, expected {len(columns)}"
        if order is not None and len(fields) == len(columns):
            fields = [fields[i] for i in order]
        values: List[Optional[str]] = [v if v != "" else None for v in fields[: len(columns)]]
        values += [None] * (len(columns) - len(values))
        if problem is not None:
            values = [_printable(v) for v in values]
        yield Record(source_file, start, _printable(raw), values, problem)


def _printable(text: Optional[str]) -> Optional[str]:
    """Lone surrogates (bytes that were not UTF-8) as U+FFFD, which Spark and JSON can carry."""
    return None if text is None else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
