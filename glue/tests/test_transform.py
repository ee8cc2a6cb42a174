"""The transform on real local Spark: sample data and nasty CSVs. For every fixture, rows in = rows out +
rows rejected, the Parquet holds rows_out rows, and every quarantined row has a reason."""

import json
import os
from decimal import Decimal

import pytest
from glueline_transform import Column, TransformError, TransformOptions, parse_columns, run_transform
from glueline_transform.arguments import options_from, parse_argv

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "..", "samples", "sales")

ABC = [Column("id", "int", nullable=False), Column("name", "string"), Column("amount", "double")]


def read(sample: str) -> bytes:
    with open(os.path.join(SAMPLES, sample), "rb") as f:
        return f.read()


def run(spark, tmp_path, files, columns=ABC, partition_by=None, delimiter=",", quote='"'):
    """Runs the transform on `files` ({name: bytes}); returns the manifest, the Parquet rows and the quarantine rows."""
    inputs = tmp_path / "in"
    inputs.mkdir(exist_ok=True)
    for name, data in files.items():
        (inputs / name).write_bytes(data)
    options = TransformOptions(
        batch_id="b1",
        input_path=str(inputs),
        output_path=str(tmp_path / "out"),
        quarantine_path=str(tmp_path / "quarantine"),
        manifest_path=str(tmp_path / "manifest.json"),
        delimiter=delimiter,
        quote=quote,
        columns=columns,
        partition_by=partition_by,
    )
    root = "file:" + str(tmp_path) + "/"
    run_transform(spark, options, key_of=lambda path: path[len(root) :] if path.startswith(root) else path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    out = spark.read.parquet(str(tmp_path / "out")).collect() if manifest["outputFiles"] else []
    bad = [
        json.loads(line)
        for f in sorted((tmp_path / "quarantine").glob("*.json"))
        for line in f.read_text().splitlines()
    ]
    assert manifest["rowsIn"] == manifest["rowsOut"] + manifest["rowsRejected"]
    assert len(out) == manifest["rowsOut"]
    assert len(bad) == manifest["rowsRejected"]
    assert all(r["reason"] and r["source_file"] and r["line"] >= 2 for r in bad)
    return manifest, out, bad


NASTY = {
    "embedded newlines and delimiters": (b'id,name,amount\n1,"a, b\nc",1.5\n2,"say ""hi""",2\n', 2, 0),
    "an empty file": (b"", 0, 0),
    "a header-only file": (b"id,name,amount\n", 0, 0),
    "unicode": ("id,name,amount\n1,Zoë 😀 東京,1\n2,Ünïcödé,2\n".encode(), 2, 0),
    "a byte-order mark": (b"\xef\xbb\xbfid,name,amount\r\n1,a,1\r\n", 1, 0),
    "mixed line endings": (b"id,name,amount\r\n1,a,1\n2,b,2\r\n3,c,3\r4,d,4\n", 4, 0),
    "a column that does not fit its type": (b"id,name,amount\n1,a,1.5\n2,b,lots\nthree,c,3\n", 1, 2),
    "wrong field counts": (b"id,name,amount\n1,a\n2,b,2,extra\n3,c,3\n", 1, 2),
    "a null in a non-nullable column": (b"id,name,amount\n,a,1\n2,,\n", 1, 1),
    "bytes that are not UTF-8": (b"id,name,amount\n1,\xff,1\n2,b,2\n", 1, 1),
    "no trailing newline": (b"id,name,amount\n1,a,1", 1, 0),
    "a header in another order": (b"amount,ID,name\n1.5,1,a\n", 1, 0),
    "a header naming other columns": (b"id,nom,amount\n1,a,1\n2,b,2\n", 0, 2),
    "duplicate header names": (b"id,name,name,amount\n1,a,a,1\n", 0, 1),
    "a wrong delimiter": (b"id;name;amount\n1;a;1\n2;b;2\n", 0, 2),
    "a Latin-1 file": ("id,name,amount\n1,caf\u00e9,1\n2,b,2\n".encode("latin-1"), 1, 1),
    "a UTF-16 file": ("id,name,amount\r\n1,a,1\r\n2,b,2\r\n".encode("utf-16"), 0, 2),
    "a UTF-16 big-endian file": ("\ufeffid,name,amount\n1,a,1\n".encode("utf-16-be"), 0, 1),
    "a field of 2 MB": (b"id,name,amount\n1," + b"x" * 2_000_000 + b",1\n2,b,2\n", 2, 0),
}


@pytest.mark.parametrize("case", list(NASTY))
def test_every_row_of_a_nasty_csv_lands_in_the_parquet_or_the_quarantine(spark, tmp_path, case):
    data, good, rejected = NASTY[case]
    manifest, out, bad = run(spark, tmp_path, {"f.csv": data})
    assert (manifest["rowsOut"], manifest["rowsRejected"]) == (good, rejected)


def test_values_keep_their_text_exactly(spark, tmp_path):
    data = b'\xef\xbb\xbfid,name,amount\r\n1,"a, b\nc",1.5\n2,Zo\xc3\xab \xf0\x9f\x98\x80,2\r\n'
    _, out, _ = run(spark, tmp_path, {"f.csv": data})
    assert sorted((r.id, r.name, r.amount) for r in out) == [(1, "a, b\nc", 1.5), (2, "Zoë 😀", 2.0)]


def test_a_rejected_row_says_which_value_does_not_fit_and_where_it_came_from(spark, tmp_path):
    _, _, bad = run(spark, tmp_path, {"f.csv": b"id,name,amount\n1,a,1\n2,b,lots\n"})
    (row,) = bad
    assert row["reason"] == "amount: 'lots' is not a valid double"
    assert row["record"] == "2,b,lots"
    assert row["line"] == 3
    assert row["source_file"].endswith("/in/f.csv")


def test_several_files_empty_ones_included_add_up(spark, tmp_path):
    files = {
        "a.csv": b"id,name,amount\n1,a,1\n2,b,x\n",
        "b.csv": b"",
        "c.csv": b"id,name,amount\n",
        "d.csv": b"id,name,amount\n3,c,3\n4,d\n",
    }
    manifest, _, _ = run(spark, tmp_path, files)
    assert (manifest["rowsIn"], manifest["rowsOut"], manifest["rowsRejected"]) == (4, 2, 2)
    assert manifest["inputFiles"] == ["in/a.csv", "in/b.csv", "in/c.csv", "in/d.csv"]


def test_the_manifest_has_exactly_the_glue_manifest_shape(spark, tmp_path):
    manifest, _, _ = run(spark, tmp_path, {"f.csv": b"id,name,amount\n1,a,1\n2,b,x\n"})
    assert set(manifest) == {
        "batchId",
        "inputFiles",
        "rowsIn",
        "rowsOut",
        "rowsRejected",
        "outputFiles",
        "quarantineFiles",
    }
    assert manifest["batchId"] == "b1"
    assert all(f["key"].startswith("out/") and f["key"].endswith(".snappy.parquet") for f in manifest["outputFiles"])
    assert all(f["key"].startswith("quarantine/") and f["bytes"] > 0 for f in manifest["quarantineFiles"])
    assert all(f["bytes"] == os.path.getsize(tmp_path / f["key"]) for f in manifest["outputFiles"])


def test_the_sample_sales_data_fits_its_schema_but_for_the_six_deliberately_bad_rows(spark, tmp_path):
    files = {n: read(n) for n in sorted(os.listdir(SAMPLES)) if n.endswith(".csv")}
    columns = parse_columns(read("schema.json").decode())
    manifest, out, bad = run(spark, tmp_path, files, columns=columns, partition_by="sale_date")
    assert (manifest["rowsIn"], manifest["rowsOut"], manifest["rowsRejected"]) == (330, 324, 6)
    assert sorted(r["record"].split(",")[0] for r in bad) == ["1010", "1050", "1127", "1153", "1300", "1310"]
    assert {os.path.dirname(f["key"]) for f in manifest["outputFiles"]} == {
        "out/sale_date=2026-03-01",
        "out/sale_date=2026-03-02",
        "out/sale_date=2026-03-03",
    }
    sample = next(r for r in out if r.sale_id == 1002)
    assert (sample.product, sample.unit_price) == ('Mug "Classic"', Decimal("18.79"))
    assert str(sample.sale_date) == "2026-03-01"


def test_the_parquet_has_the_declared_types(spark, tmp_path):
    columns = parse_columns(read("schema.json").decode())
    run(spark, tmp_path, {"f.csv": read("sales-2026-03-01.csv")}, columns=columns)
    types = dict(spark.read.parquet(str(tmp_path / "out")).dtypes)
    assert types == {
        "sale_id": "bigint",
        "sale_date": "date",
        "store": "string",
        "product": "string",
        "quantity": "int",
        "unit_price": "decimal(10,2)",
        "discount": "double",
        "is_online": "boolean",
        "sold_at": "timestamp",
    }


def test_without_a_declared_schema_names_come_from_the_header_and_types_from_the_values(spark, tmp_path):
    data = b"\xef\xbb\xbfId,Sale Date,Price,Note,Flag\n1,2026-03-01,1.5,x,true\n2,2026-03-02,2,,false\n3,2026-03-03\n"
    manifest, out, bad = run(spark, tmp_path, {"f.csv": data}, columns=None)
    types = dict(spark.read.parquet(str(tmp_path / "out")).dtypes)
    assert types == {"id": "int", "sale_date": "date", "price": "double", "note": "string", "flag": "boolean"}
    assert (manifest["rowsOut"], manifest["rowsRejected"]) == (2, 1)


def test_a_semicolon_delimited_file_with_single_quotes_is_read(spark, tmp_path):
    manifest, out, _ = run(spark, tmp_path, {"f.csv": b"id;name;amount\n1;'a;b';2\n"}, delimiter=";", quote="'")
    assert [(r.id, r.name) for r in out] == [(1, "a;b")]


def test_a_second_run_of_the_batch_replaces_its_output(spark, tmp_path):
    run(spark, tmp_path, {"f.csv": b"id,name,amount\n1,a,1\n2,b,x\n"})
    manifest, out, bad = run(spark, tmp_path, {"f.csv": b"id,name,amount\n1,a,1\n"})
    assert (len(out), len(bad), manifest["quarantineFiles"]) == (1, 0, [])


def test_a_partition_column_that_is_not_a_column_fails_the_job_with_the_fix(spark, tmp_path):
    with pytest.raises(TransformError, match="--partition_by 'day' is not a column"):
        run(spark, tmp_path, {"f.csv": b"id,name,amount\n1,a,1\n"}, partition_by="day")


def test_job_arguments_parse_as_the_pipeline_passes_them():
    argv = [
        "--JOB_NAME", "j", "--batch_id", "b1", "--input_path", "s3://r/raw/", "--output_path", "s3://c/out/",
        "--quarantine_path", "s3://c/q/", "--manifest_path", "s3://c/m.json", "--delimiter", ";", "--quote", "'",
        "--columns_json", '[{"name":"id","type":"decimal(10,2)"}]', "--glueline_run_tag", "t",
    ]
    options = options_from(parse_argv(argv))
    assert (options.delimiter, options.quote, options.partition_by) == (";", "'", None)
    assert options.columns == [Column("id", "decimal(10,2)", True)]


def test_a_bad_columns_json_names_the_problem():
    with pytest.raises(TransformError, match="'varchar' is not supported"):
        parse_columns('[{"name": "id", "type": "varchar"}]')
