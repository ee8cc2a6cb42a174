"""Reads a batch's CSV files in parallel: each file is split by Hadoop's TextInputFormat (the splits of a multi-GB
file are read by many tasks, a line at a time, never the whole file in memory), and records that a quoted field
carries across lines, and across splits, are put back together before Python's csv module tokenizes each one.

Why not Spark's CSV reader: with multiLine it reads each file in one task and detects one line separator per
file (a file mixing CRLF and LF runs records together); without it a quoted newline splits a record in two; and
it gives no line numbers, which the quarantine reports. Here:

1. pass 1 (one task per split): for both states a split can begin in (at a record's start, or inside a quoted
   field that an earlier split opened), the state it ends in, its line count, and the first file's header;
2. the driver chains the splits of each file in order: every split's starting state and first line number;
3. pass 2: records that lie within one split are complete; the pieces of a record that crosses splits are
   grouped by (file, first line) and joined, which shuffles only those pieces.

Text is UTF-8 (Hadoop's Text): bytes that are not UTF-8 arrive as U+FFFD, and a record holding one is rejected.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from pyspark import RDD
from pyspark.sql import SparkSession

from .records import BOM, normalize_name, unique_names

REPLACEMENT = "\ufffd"
# The csv module refuses fields over 128 KiB by default; a long free-text field is still a field. Set on import,
# so in each of Spark's Python workers too.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
_FIELD_START, _UNQUOTED, _QUOTED, _QUOTE_IN_QUOTED = range(4)


def ends_in_quotes(line: str, in_quotes: bool, delimiter: str, quote: str) -> bool:
    """Whether a quoted field is still open at the end of `line`, as Python's csv module (doublequote, not
    strict) reads it: a quote opens a field only at its start, a doubled quote inside one is a quote."""
    if quote not in line:
        return in_quotes
    state = _QUOTED if in_quotes else _FIELD_START
    for c in line:
        if state == _FIELD_START:
            state = _QUOTED if c == quote else _FIELD_START if c == delimiter else _UNQUOTED
        elif state == _UNQUOTED:
            if c == delimiter:
                state = _FIELD_START
        elif state == _QUOTED:
            if c == quote:
                state = _QUOTE_IN_QUOTED
        else:
            state = _QUOTED if c == quote else _FIELD_START if c == delimiter else _UNQUOTED
    return state == _QUOTED


Line = Tuple[int, str]  # (byte offset in the file, the line without its ending)


class SplitScan(NamedTuple):
    """Pass 1's answer for one split: per starting state (False: at a record's start), the end state and the
    split-relative line where the record left open at the end began (None: it began before the split)."""

    index: int
    lines: int
    ends: Dict[bool, Tuple[bool, Optional[int]]]
    #: The file's first record (its header), for the split at offset 0: its relative line and lines.
    head: Optional[Tuple[int, List[Line]]]


def _strip_bom(offset: int, line: str) -> str:
    return line[1:] if offset == 0 and line.startswith(BOM) else line


def _scan(index: int, lines: Iterable[Tuple[int, str]], delimiter: str, quote: str) -> SplitScan:
    state = {False: False, True: True}
    opened: Dict[bool, Optional[int]] = {False: None, True: None}
    head: Optional[Tuple[int, List[Line]]] = None
    head_open = False
    count = 0
    for offset, text in lines:
        text = _strip_bom(offset, text)
        if count == 0 and offset == 0:
            head_open = True
        for start in (False, True):
            if not state[start]:
                opened[start] = count
            state[start] = ends_in_quotes(text, state[start], delimiter, quote)
        if head_open and (head is not None or text != ""):
            head = head or (count, [])
            head[1].append((offset, text))
            head_open = state[False]
        count += 1
    ends = {s: (state[s], opened[s] if state[s] else None) for s in (False, True)}
    return SplitScan(index, count, ends, head)


def _join(lines: Sequence[Line]) -> str:
    """The record's text: its lines joined by their own endings (CRLF when two bytes apart, else LF)."""
    parts = []
    for i, (offset, text) in enumerate(lines):
        parts.append(text)
        if i + 1 < len(lines):
            gap = lines[i + 1][0] - offset - len(text.encode("utf-8"))
            parts.append("\r\n" if gap == 2 and REPLACEMENT not in text else "\n")
    return "".join(parts)


class Split(NamedTuple):
    """What pass 2 knows of a split: its file, whether it begins inside a quoted field, its first line number,
    and the first line of the record it continues (when it begins inside one)."""

    file: int
    in_quotes: bool
    first_line: int
    open_record: Optional[int]


def _assemble(
    index: int, lines: Iterable[Tuple[int, str]], splits: Sequence[Split], delimiter: str, quote: str
) -> Iterator[tuple]:
    """Pass 2: ('r', file, line, lines) for each record within the split, ('p', file, line, lines) for a piece
    of a record that crosses splits."""
    split = splits[index]
    in_quotes, start, current = split.in_quotes, split.open_record, []
    carried = split.in_quotes
    number = split.first_line
    for offset, text in lines:
        text = _strip_bom(offset, text)
        if not in_quotes and not current:
            start = number
        current.append((offset, text))
        in_quotes = ends_in_quotes(text, in_quotes, delimiter, quote)
        if not in_quotes:
            yield ("p" if carried else "r", split.file, start, current)
            current, carried = [], False
        number += 1
    if current:
        yield ("p", split.file, start, current)


class FileHeader(NamedTuple):
    """A file's header record: its line number and its fields (None for a file with no record at all)."""

    line: int
    fields: Optional[List[str]]


class CsvBatch:
    """The batch's files, scanned (pass 1): headers known, records ready to read (pass 2)."""

    def __init__(self, spark: SparkSession, files: Sequence[str], delimiter: str, quote: str) -> None:
        self.files = list(files)
        self.delimiter, self.quote = delimiter, quote
        sc = spark.sparkContext
        parts = [
            sc.newAPIHadoopFile(
                _hadoop_glob_escape(f),
                "org.apache.hadoop.mapreduce.lib.input.TextInputFormat",
                "org.apache.hadoop.io.LongWritable",
                "org.apache.hadoop.io.Text",
            )
            for f in self.files
        ]
        self.lines: RDD = sc.union(parts) if len(parts) > 1 else parts[0]
        file_of = [i for i, rdd in enumerate(parts) for _ in range(rdd.getNumPartitions())]
        d, q = delimiter, quote
        scans = sorted(self.lines.mapPartitionsWithIndex(lambda i, it: [_scan(i, it, d, q)]).collect())
        self.splits: List[Split] = []
        self.headers: List[FileHeader] = [FileHeader(0, None) for _ in self.files]
        in_quotes, first_line, open_record, previous_file = False, 1, None, -1
        for scan in scans:
            file = file_of[scan.index]
            if file != previous_file:
                in_quotes, first_line, open_record, previous_file = False, 1, None, file
            self.splits.append(Split(file, in_quotes, first_line, open_record))
            if scan.head is not None and self.headers[file].fields is None:
                self.headers[file] = FileHeader(first_line + scan.head[0], _fields(_join(scan.head[1]), d, q))
            end, opened_at = scan.ends[in_quotes]
            open_record = (first_line + opened_at if opened_at is not None else open_record) if end else None
            in_quotes, first_line = end, first_line + scan.lines

    def records(self) -> RDD:
        """(file index, line, text) of every record, the headers included, blank lines left out."""
        splits, d, q = self.splits, self.delimiter, self.quote
        pieces = self.lines.mapPartitionsWithIndex(lambda i, it: _assemble(i, it, splits, d, q))
        whole = pieces.filter(lambda p: p[0] == "r").map(lambda p: (p[1], p[2], _join(p[3])))
        crossing = (
            pieces.filter(lambda p: p[0] == "p")
            .map(lambda p: ((p[1], p[2]), p[3]))
            .groupByKey()
            .map(lambda kv: (kv[0][0], kv[0][1], _join(sorted(line for piece in kv[1] for line in piece))))
        )
        # A line of NULs alone is not a record: it is the other half of a UTF-16 line ending.
        return whole.union(crossing).filter(lambda r: r[2].strip("\x00") != "")


def _fields(text: str, delimiter: str, quote: str) -> List[str]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote, strict=False))
    return [f for row in rows for f in row]


def parse_record(text: str, delimiter: str, quote: str) -> Tuple[List[str], Optional[str]]:
    """A record's fields, and why it cannot be used as it is (or None)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote, strict=False))
    except csv.Error as err:
        return [], f"is not valid CSV: {err}"
    fields = [f for row in rows for f in row]
    if REPLACEMENT in text:
        return fields, "the record holds bytes that are not UTF-8"
    return fields, None


def header_problem(header: List[str], columns: Sequence[str]) -> Tuple[Optional[List[int]], Optional[str]]:
    """How a file's header maps to the declared columns, by name: the position of each column in the file,
    or why the file's rows cannot be read (the reason every one of its rows is quarantined with)."""
    if "\x00" in "".join(header) or "".join(header).startswith(REPLACEMENT * 2):
        return None, "the file is not UTF-8 text (it looks like UTF-16): save it as UTF-8 and land it again"
    names = [normalize_name(h) for h in header]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return None, f"the header names {', '.join(twice)} more than once: give each column one name"
    wanted = [normalize_name(c) for c in columns]
    missing = [c for c, w in zip(columns, wanted) if w not in names]
    unexpected = [h for h, n in zip(header, names) if n not in wanted]
    if missing or unexpected:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"not declared {', '.join(_short(h) for h in unexpected[:5])}" if unexpected else "",
            )
            if part
        )
        hint = ""
        if len(header) == 1:
            other = next((d for d in (";", "\t", "|", ",") if d in header[0]), None)
            if other is not None:
                hint = f" (the header holds {other!r}: if that is the file's delimiter, set transform.delimiter)"
        return None, (
            f"the header does not name the declared columns ({detail}){hint}: fix the file's header, or the "
            "spec's transform.columns"
        )
    return [names.index(w) for w in wanted], None


def inferred_names(header: List[str]) -> List[str]:
    return unique_names(header)


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _hadoop_glob_escape(path: str) -> str:
    # Hadoop reads input paths as comma-separated glob patterns: escape what would be read as either.
    return re.sub(r"([\\,{}\[\]*?])", r"\\\1", path)
