"""The user's transform hook on real local Spark: transform(df, ctx) derives columns, rejects rows by a rule
with a reason, and a transform that raises fails the job with its own error."""

import json
import sys

import pytest
from glueline_transform import Column, TransformError, TransformOptions, run_transform

COLUMNS = [Column("id", "int", nullable=False), Column("qty", "int"), Column("price", "double")]
CSV = b"id,qty,price\n1,2,1.5\n2,0,3\n3,x,1\n4,5,2\n"


@pytest.fixture
def module(tmp_path, monkeypatch):
    """Writes `source` as an importable module (as --extra-py-files puts it on Glue's Python path)."""
    names = []

    def write(source: str, name: str = "user_orders") -> str:
        (tmp_path / "py").mkdir(exist_ok=True)
        (tmp_path / "py" / f"{name}.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path / "py"))
        sys.modules.pop(name, None)
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


def run(spark, tmp_path, module_name, added=None, function="transform", arguments=None):
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "orders.csv").write_bytes(CSV)
    options = TransformOptions(
        batch_id="b7",
        input_path=str(tmp_path / "in"),
        output_path=str(tmp_path / "out"),
        quarantine_path=str(tmp_path / "quarantine"),
        manifest_path=str(tmp_path / "manifest.json"),
        columns=COLUMNS,
        transform_module=module_name,
        transform_function=function,
        added_columns=added,
        arguments=arguments or {"batch_id": "b7"},
    )
    root = "file:" + str(tmp_path) + "/"
    run_transform(
        spark,
        options,
        key_of=lambda path: path[len(root) :],
        source_of=lambda path: "s3://raw/" + path[len(root) :],
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    out = spark.read.parquet(str(tmp_path / "out")) if manifest["outputFiles"] else None
    bad = [json.loads(line) for f in sorted((tmp_path / "quarantine").glob("*.json")) for line in f.read_text().splitlines()]
    return manifest, out, bad


DERIVE_AND_REJECT = """
from pyspark.sql import functions as F

def transform(df, ctx):
    ctx.reject(F.col("qty") <= 0, "qty must be positive")
    return df.withColumn("total", F.col("qty") * F.col("price")).withColumn("batch", F.lit(ctx.batch_id))
"""


def test_a_transform_derives_a_column_and_its_rule_quarantines_rows_with_the_reason(spark, tmp_path, module):
    added = [Column("total", "double"), Column("batch", "string")]
    manifest, out, bad = run(spark, tmp_path, module(DERIVE_AND_REJECT), added=added)

    assert (manifest["rowsIn"], manifest["rowsOut"], manifest["rowsRejected"], manifest["rowsDropped"]) == (4, 2, 2, 0)
    assert manifest["rowsIn"] == manifest["rowsOut"] + manifest["rowsRejected"] + manifest["rowsDropped"]
    assert out.columns == ["id", "qty", "price", "total", "batch"]
    assert sorted((r.id, r.total, r.batch) for r in out.collect()) == [(1, 3.0, "b7"), (4, 10.0, "b7")]
    by_line = {r["line"]: r for r in bad}
    assert by_line[3] == {
        "source_file": "s3://raw/in/orders.csv",
        "line": 3,
        "reason": "qty must be positive",
        "record": "2,0,3",
    }
    assert by_line[4]["reason"] == "qty: 'x' is not a valid int"


def test_rules_may_use_derived_columns_and_sql_and_a_row_gets_every_reason_it_matched(spark, tmp_path, module):
    name = module(
        """
from pyspark.sql import functions as F

def transform(df, ctx):
    df = df.withColumn("total", F.col("qty") * F.col("price"))
    ctx.reject("total > 5", "total over " + ctx.arguments["limit"])
    ctx.reject(F.col("id") == 4, "id 4 is blocked")
    return df
"""
    )
    manifest, out, bad = run(spark, tmp_path, name, arguments={"limit": "5"})

    assert sorted(r.id for r in out.collect()) == [1, 2]
    assert [r["reason"] for r in bad if r["line"] == 5] == ["total over 5; id 4 is blocked"]
    assert manifest["rowsRejected"] == 2


def test_rows_the_transform_filters_itself_are_counted_as_dropped(spark, tmp_path, module):
    name = module("def transform(df, ctx):\n    return df.filter('id > 1')\n")
    manifest, out, bad = run(spark, tmp_path, name)

    assert (manifest["rowsIn"], manifest["rowsOut"], manifest["rowsRejected"], manifest["rowsDropped"]) == (4, 2, 1, 1)


def test_a_transform_that_raises_fails_the_job_with_its_error_type_and_message(spark, tmp_path, module):
    name = module("def transform(df, ctx):\n    raise ValueError('no discount table for ' + ctx.batch_id)\n")
    with pytest.raises(TransformError, match=r"^user_orders.transform\(df, ctx\) raised ValueError: no discount table for b7$"):
        run(spark, tmp_path, name)
    assert not (tmp_path / "manifest.json").exists()


def test_a_declared_added_column_the_transform_does_not_return_fails_the_job(spark, tmp_path, module):
    name = module("def transform(df, ctx):\n    return df\n")
    with pytest.raises(TransformError, match="did not return the declared added column.s. total"):
        run(spark, tmp_path, name, added=[Column("total", "double")])


def test_an_undeclared_column_fails_the_job_when_added_columns_are_declared(spark, tmp_path, module):
    name = module("def transform(df, ctx):\n    return df.withColumn('total', df.qty).withColumn('oops', df.qty)\n")
    with pytest.raises(TransformError, match="oops that are neither in transform.columns nor in transform.addedColumns"):
        run(spark, tmp_path, name, added=[Column("total", "double")])


def test_a_missing_module_or_function_names_the_fix(spark, tmp_path, module):
    with pytest.raises(TransformError, match="--transform_module no_such_module: cannot import it"):
        run(spark, tmp_path, "no_such_module")
    name = module("def other(df, ctx):\n    return df\n")
    with pytest.raises(TransformError, match="has no function transform"):
        run(spark, tmp_path, name)


def test_a_transform_that_returns_no_dataframe_fails_the_job(spark, tmp_path, module):
    name = module("def transform(df, ctx):\n    df.withColumn('x', df.qty)\n")
    with pytest.raises(TransformError, match=r"returned NoneType: return the DataFrame to write"):
        run(spark, tmp_path, name)
