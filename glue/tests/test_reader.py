"""The parallel CSV reader on local Spark, with splits of a few dozen bytes, so every record that a quoted field
carries across lines also crosses splits: what it reads must be what Python's csv module reads from the whole file."""

import csv
import io
import json
import random

import pytest
from glueline_transform import Column, TransformOptions, run_transform
from glueline_transform.reader import CsvBatch, ends_in_quotes, header_problem

SPLIT = "mapreduce.input.fileinputformat.split.maxsize"


@pytest.fixture
def tiny_splits(spark):
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    conf.set(SPLIT, "200")
    yield
    conf.unset(SPLIT)


def nasty_csv(rows: int, seed: int = 7) -> bytes:
    """A header and `rows` records with quoted newlines (LF and CRLF), doubled quotes, a stray quote inside an
    unquoted field, delimiters in quotes, blank lines, and one field of 4 KB with newlines in it."""
    rnd = random.Random(seed)
    out = io.StringIO(newline="")
    out.write("id,name,amount\r\n")
    for i in range(1, rows + 1):
        kind = rnd.randrange(6)
        if kind == 0:
            name = '"two\nlines, ""quoted"""'
        elif kind == 1:
            name = '"crlf\r\ninside\r\n"'
        elif kind == 2:
            name = '5" screen'
        elif kind == 3:
            name = '"a,b"'
        else:
            name = f"plain{i}"
        if i == rows // 2:
            name = '"' + ("x" * 400 + "\n") * 10 + '"'
        out.write(f"{i},{name},{i}.5" + ("\r\n" if i % 3 else "\n"))
        if i % 17 == 0:
            out.write("\n")
    return out.getvalue().encode("utf-8")


def expected(data: bytes):
    """(line, fields) of every data record, by the csv module over the whole file."""
    text = data.decode("utf-8")
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, strict=False)
    found = []
    start = 1
    for fields in reader:
        if fields:
            found.append((start, fields))
        start = reader.line_num + 1
    return found[1:]


def test_records_crossing_many_splits_read_as_the_csv_module_reads_the_whole_file(spark, tiny_splits, tmp_path):
    data = nasty_csv(80)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    batch = CsvBatch(spark, [str(path)], ",", '"')
    assert len(batch.splits) > 20  # really split: the 4 KB field alone spans 20 splits
    assert batch.headers[0].fields == ["id", "name", "amount"] and batch.headers[0].line == 1
    got = sorted((line, next(csv.reader(io.StringIO(text, newline=""), strict=False))) for _, line, text in batch.records().collect())
    assert got[1:] == expected(data)


def test_the_transform_reads_split_files_with_the_right_lines_and_values(spark, tiny_splits, tmp_path):
    data = nasty_csv(60, seed=3) + b"61,short\n"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "f.csv").write_bytes(data)
    options = TransformOptions(
        batch_id="b1",
        input_path=str(tmp_path / "in"),
        output_path=str(tmp_path / "out"),
        quarantine_path=str(tmp_path / "q"),
        manifest_path=str(tmp_path / "m.json"),
        columns=[Column("id", "int"), Column("name", "string"), Column("amount", "double")],
    )
    run_transform(spark, options, key_of=lambda p: p)
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert (manifest["rowsIn"], manifest["rowsOut"], manifest["rowsRejected"]) == (61, 60, 1)
    out = {r.id: r.name for r in spark.read.parquet(str(tmp_path / "out")).collect()}
    want = {int(f[0]): f[1] for _, f in expected(data[: -len(b"61,short\n")])}
    assert out == want
    (bad,) = [json.loads(x) for f in (tmp_path / "q").glob("*.json") for x in f.read_text().splitlines()]
    last = expected(data)[-1][0]
    assert (bad["line"], bad["record"], bad["reason"]) == (last, "61,short", "has 2 fields, expected 3")


@pytest.mark.parametrize(
    "line, start, end",
    [
        ('1,"open', False, True),
        ('1,"closed",2', False, False),
        ('still open, ""quoted""', True, True),
        ('closes here",3', True, False),
        ('5" screen,2', False, False),
        ('1,""', False, False),
        ("", True, True),
    ],
)
def test_a_line_leaves_a_quoted_field_open_as_the_csv_module_reads_it(line, start, end):
    assert ends_in_quotes(line, start, ",", '"') is end


def test_a_header_is_matched_by_name_in_any_order_and_case():
    assert header_problem(["Amount", "ID", "name"], ["id", "name", "amount"]) == ([1, 2, 0], None)


@pytest.mark.parametrize(
    "header, reason",
    [
        (["id", "nom", "amount"], "the header does not name the declared columns (missing name; not declared 'nom')"),
        (["id", "name"], "the header does not name the declared columns (missing amount)"),
        (["id", "name", "amount", "x"], "the header does not name the declared columns (not declared 'x')"),
        (["id", "name", "name", "amount"], "the header names name more than once"),
        (["\ufffd\ufffdi\x00d\x00"], "the file is not UTF-8 text (it looks like UTF-16)"),
    ],
)
def test_a_header_that_does_not_name_the_declared_columns_says_how(header, reason):
    order, problem = header_problem(header, ["id", "name", "amount"])
    assert order is None and problem.startswith(reason)
