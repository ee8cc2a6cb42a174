"""The Glue job's work as one pure PySpark function: CSV in, snappy Parquet, quarantine and a manifest out.

Nothing here imports awsglue, so the same code runs in Glue (through glue/glueline_job.py), in the local
stack (glue/glueline_local.py) and in pytest. Paths are anything Hadoop opens: s3:// in Glue, local
folders elsewhere. Runs on Glue 4.0 (Spark 3.3, Python 3.10) and 5.0 (Spark 3.5, Python 3.11).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from .reader import CsvBatch, header_problem, parse_record
from .records import unique_names

TYPE_PATTERN = re.compile(r"^(string|int|bigint|double|boolean|date|timestamp|decimal\((\d{1,2}),(\d{1,2})\))$")
#: Tried in this order when no schema is declared; the first type every value of a column fits wins.
INFERRED_TYPES = ("int", "bigint", "double", "boolean", "date", "timestamp")

# Internal columns: the names of the CSV's own columns never start with '_' (see records.normalize_name).
SOURCE, LINE, RAW, PROBLEM, REASON = "_source_file", "_line", "_raw", "_problem", "_reason"


@dataclass(frozen=True)
class Column:
    """One column of the declared schema (the spec's transform.columns)."""

    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class TransformOptions:
    """What the job is told: the job arguments of src/workflow-safe/layout.ts glueJobArguments(), parsed."""

    batch_id: str
    input_path: str
    output_path: str
    quarantine_path: str
    manifest_path: str
    delimiter: str = ","
    quote: str = '"'
    #: The declared schema; None means infer it from the header and the values.
    columns: Optional[List[Column]] = None
    partition_by: Optional[str] = None
    #: The user's transform (glueline_transform.hook): a module on the Python path, and its function.
    transform_module: Optional[str] = None
    transform_function: str = "transform"
    #: Columns the transform adds (transform.addedColumns); None means its output is written as returned.
    added_columns: Optional[List[Column]] = None
    #: Every job argument (names without '--'), for the transform's ctx.arguments.
    arguments: Dict[str, str] = field(default_factory=dict)


@dataclass
class TransformResult:
    """What happened, in the manifest's terms; file locations are full paths (the caller makes them keys)."""

    input_files: List[str]
    rows_in: int
    rows_out: int
    rows_rejected: int
    output_files: List[Tuple[str, int]]
    quarantine_files: List[Tuple[str, int]]
    columns: List[Column] = field(default_factory=list)
    #: Rows the user's transform removed (or, negative, added) without ctx.reject: filters, dedupes, joins.
    rows_dropped: Optional[int] = None


class TransformError(Exception):
    """A problem with the job's arguments or input as a whole (not with single rows, which are quarantined)."""


def parse_columns(columns_json: Optional[str], argument: str = "--columns_json") -> Optional[List[Column]]:
    """The --columns_json (or --added_columns_json) argument: a JSON array of {name, type, nullable?} objects."""
    if columns_json is None or columns_json.strip() == "":
        return None
    try:
        items = json.loads(columns_json)
    except ValueError as err:
        raise TransformError(f"{argument} is not JSON ({err}): pass the spec's columns as JSON") from err
    if not isinstance(items, list) or not items:
        raise TransformError(f"{argument} must be a non-empty JSON array of {{name, type, nullable}} objects")
    columns = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("type"), str):
            raise TransformError(f"{argument}[{i}] {json.dumps(item)} needs a string name and a string type")
        if not TYPE_PATTERN.match(item["type"]):
            raise TransformError(
                f"{argument}[{i}].type {item['type']!r} is not supported: use string, int, bigint, double, "
                "boolean, date, timestamp or decimal(p,s)"
            )
        columns.append(Column(item["name"], item["type"], bool(item.get("nullable", True))))
    return columns


# --- files, through Hadoop's FileSystem so s3:// (Glue) and local paths (tests, local stack) work alike ---


def _fs_path(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def list_files(spark: SparkSession, uri: str) -> List[Tuple[str, int]]:
    """Every file under `uri` (recursively) with its size, skipping the hidden ones Hadoop and Spark skip
    (names starting with '_' or '.', such as _SUCCESS and .crc files). Sorted by path."""
    path, fs = _fs_path(spark, uri)
    if not fs.exists(path):
        return []
    root = path.toString().rstrip("/") + "/"
    found = []
    files = fs.listFiles(path, True)
    while files.hasNext():
        status = files.next()
        name = status.getPath().toString()
        relative = name[len(root) :] if name.startswith(root) else status.getPath().getName()
        if any(part.startswith(("_", ".")) for part in relative.split("/")):
            continue
        found.append((name, status.getLen()))
    return sorted(found)


def delete_path(spark: SparkSession, uri: str) -> None:
    path, fs = _fs_path(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    path, fs = _fs_path(spark, uri)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


# --- the transform ----------------------------------------------------------------------------------------


def _records_df(
    spark: SparkSession,
    batch: CsvBatch,
    names: List[str],
    source_of: Callable[[str], str] = lambda path: path,
) -> DataFrame:
    """One row per data record: where it came from, its text, its problem (or null), and its values in the order
    of `names`, matched to each file's header by name (a file whose header does not name them is quarantined)."""
    schema = StructType(
        [StructField(SOURCE, StringType()), StructField(LINE, IntegerType()), StructField(RAW, StringType())]
        + [StructField(PROBLEM, StringType())]
        + [StructField(n, StringType()) for n in names]
    )
    plans = []
    for path, header in zip(batch.files, batch.headers):
        order, problem = header_problem(header.fields, names) if header.fields is not None else (None, None)
        plans.append((source_of(path), header.line, order, problem))
    delimiter, quote, width = batch.delimiter, batch.quote, len(names)

    def row(record: Tuple[int, int, str]) -> Iterable[tuple]:
        file, line, text = record
        source, header_line, order, problem = plans[file]
        if line == header_line:
            return []
        values: List[Optional[str]] = [None] * width
        if problem is None:
            fields, problem = parse_record(text, delimiter, quote)
            if problem is None and len(fields) != width:
                problem = f"has {len(fields)} fields, expected {width}"
            if problem is None and order is not None:
                values = [fields[i] if fields[i] != "" else None for i in order]
        return [(source, line, text, problem, *values)]

    return spark.createDataFrame(batch.records().flatMap(row), schema)


def _infer_columns(spark: SparkSession, batch: CsvBatch) -> List[Column]:
    """Column names from the first file that has a header; types from the values (see INFERRED_TYPES)."""
    header = next((h.fields for h in batch.headers if h.fields), None)
    if header is None:
        return []
    names = unique_names(header)
    df = _records_df(spark, batch, names).filter(F.col(PROBLEM).isNull())
    checks = [
        F.sum(F.when(F.col(n).isNotNull() & _try_cast(n, t).isNull(), 1).otherwise(0)).alias(f"{n}\u0001{t}")
        for n in names
        for t in INFERRED_TYPES
    ]
    misfits = df.agg(*checks).first().asDict()
    columns = []
    for n in names:
        fits = [t for t in INFERRED_TYPES if misfits[f"{n}\u0001{t}"] in (0, None)]
        # A column with no values at all fits every type: call it string, not int.
        all_null = all(misfits[f"{n}\u0001{t}"] in (0, None) for t in INFERRED_TYPES)
        columns.append(Column(n, "string" if all_null or not fits else fits[0]))
    return columns


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _try_cast(name: str, type_: str):
    if type_ == "string":
        return F.col(name)
    # try_cast (Spark 3.2+): null where the value does not fit, whatever spark.sql.ansi.enabled says,
    # and ANSI rules otherwise ('1.5' is not an int, as it would silently be with a plain cast).
    return F.expr(f"try_cast({_quoted(name)} AS {type_})")


def _reason(columns: Sequence[Column]):
    """Why a record is rejected: its own problem, or every column whose value does not fit; null when none."""
    checks = []
    for c in columns:
        value = F.col(c.name)
        if not c.nullable:
            checks.append(F.when(value.isNull(), F.lit(f"{c.name}: empty, but the column is not nullable")))
        if c.type != "string":
            shown = F.concat(F.lit(f"{c.name}: '"), F.substring(value, 1, 60), F.lit(f"' is not a valid {c.type}"))
            checks.append(F.when(value.isNotNull() & _try_cast(c.name, c.type).isNull(), shown))
    per_column = F.concat_ws("; ", *checks) if checks else F.lit("")
    return F.when(F.col(PROBLEM).isNotNull(), F.col(PROBLEM)).when(per_column != "", per_column)


def run_transform(
    spark: SparkSession,
    options: TransformOptions,
    key_of: Callable[[str], str],
    source_of: Callable[[str], str] = lambda path: path,
) -> TransformResult:
    """Reads the batch's CSVs, writes the rows that fit as snappy Parquet and the rest to the quarantine,
    then the manifest; returns what it wrote. Rows never fail the job: every input row ends up in exactly
    one of the two outputs, so rows_in == rows_out + rows_rejected (+ rows_dropped, the net count of rows a
    user transform filtered out or added without ctx.reject).

    `key_of` turns a written file's full path into its S3 key (relative to the bucket) for the manifest;
    `source_of` turns an input file's path into what the quarantine's `source_file` says (its s3:// URI).
    """
    spark.sparkContext._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    for path in (options.output_path, options.quarantine_path):
        delete_path(spark, path)  # a re-run of the batch replaces its output, never adds to it

    inputs = list_files(spark, options.input_path)
    files = [name for name, _ in inputs]
    batch = CsvBatch(spark, files, options.delimiter, options.quote) if files else None
    columns = options.columns
    if columns is None:
        columns = _infer_columns(spark, batch) if batch else []
    names = [c.name for c in columns]
    output_names = names + [c.name for c in options.added_columns or []]
    # A transform with no declared added columns may add the partition column itself: Spark checks it then.
    free_form = bool(options.transform_module) and options.added_columns is None
    if options.partition_by and columns and not free_form and options.partition_by not in output_names:
        raise TransformError(
            f"--partition_by {options.partition_by!r} is not a column ({', '.join(output_names)}): "
            "name one of the columns, or leave --partition_by out"
        )
    function = None
    if options.transform_module:
        from .hook import load_transform  # here, not at the top: hook imports this module

        function = load_transform(options.transform_module, options.transform_function)

    counts = {"rows_in": 0, "rows_out": 0, "rows_rejected": 0, "rows_dropped": None}
    if batch and columns:
        records = _records_df(spark, batch, names, source_of)
        checked = records.withColumn(REASON, _reason(columns)).cache()
        try:
            _write_rows(spark, options, columns, checked, function, counts)
        finally:
            checked.unpersist()
    elif function is not None:
        counts["rows_dropped"] = 0

    result = TransformResult(
        input_files=files,
        output_files=list_files(spark, options.output_path),
        quarantine_files=list_files(spark, options.quarantine_path),
        columns=list(columns),
        **counts,
    )
    write_text(spark, options.manifest_path, json.dumps(manifest(options.batch_id, result, key_of), indent=2) + "\n")
    return result


def _write_rows(spark, options: TransformOptions, columns, checked: DataFrame, function, counts) -> None:
    """Writes the checked records' good rows (through the user's transform, when there is one) as Parquet
    and the rejected ones to the quarantine; fills in `counts`."""
    totals = checked.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.when(F.col(REASON).isNull(), 1).otherwise(0)).alias("good"),
        F.sum(F.when(F.col(REASON).isNotNull(), 1).otherwise(0)).alias("bad"),
    ).first()
    counts["rows_in"], counts["rows_out"], counts["rows_rejected"] = totals["rows"], totals["good"] or 0, totals["bad"] or 0
    typed = [_try_cast(c.name, c.type).alias(c.name) for c in columns]
    bad = checked.filter(F.col(REASON).isNotNull()).select(
        F.col(SOURCE).alias("source_file"), F.col(LINE).alias("line"), F.col(REASON).alias("reason"), F.col(RAW).alias("record")
    )
    judged = None
    if function is None:
        good = checked.filter(F.col(REASON).isNull()).select(*typed)
    else:
        from .hook import ORIGIN, RULE_REASON, TransformContext, apply_transform, written_columns

        name = f"{options.transform_module}.{options.transform_function}"
        origin = F.struct(F.col(SOURCE).alias("file"), F.col(LINE).alias("line"), F.col(RAW).alias("record"))
        rows = checked.filter(F.col(REASON).isNull()).select(origin.alias(ORIGIN), *typed)
        ctx = TransformContext(options.batch_id, options.arguments, spark)
        judged = apply_transform(function, name, rows, ctx).cache()
        split = judged.agg(
            F.sum(F.when(F.col(RULE_REASON).isNull(), 1).otherwise(0)).alias("kept"),
            F.sum(F.when(F.col(RULE_REASON).isNotNull(), 1).otherwise(0)).alias("rejected"),
        ).first()
        kept, rejected = split["kept"] or 0, split["rejected"] or 0
        counts["rows_dropped"] = counts["rows_out"] - kept - rejected
        counts["rows_out"], counts["rows_rejected"] = kept, counts["rows_rejected"] + rejected
        good = judged.filter(F.col(RULE_REASON).isNull()).select(
            *written_columns(judged, columns, options.added_columns, name)
        )
        present = [c for c in judged.columns if c not in (ORIGIN, RULE_REASON)]
        from_origin = ORIGIN in judged.columns
        # A transform that selected its columns anew lost the origin: the row's own values stand for it.
        rule_bad = judged.filter(F.col(RULE_REASON).isNotNull()).select(
            (F.col(f"{ORIGIN}.file") if from_origin else F.lit(None).cast("string")).alias("source_file"),
            (F.col(f"{ORIGIN}.line") if from_origin else F.lit(None).cast("int")).alias("line"),
            F.col(RULE_REASON).alias("reason"),
            (F.col(f"{ORIGIN}.record") if from_origin else F.to_json(F.struct(*[F.col(f"`{c}`") for c in present]))).alias(
                "record"
            ),
        )
        bad = bad.unionByName(rule_bad)
    try:
        if counts["rows_out"] > 0:
            # Partitioned: one file per partition value, rather than one per value per input split.
            frame = good.repartition(F.col(options.partition_by)) if options.partition_by else good
            writer = frame.write.mode("overwrite").option("compression", "snappy")
            if options.partition_by:
                writer = writer.partitionBy(options.partition_by)
            writer.parquet(options.output_path)
        if counts["rows_rejected"] > 0:
            bad.orderBy("source_file", "line").coalesce(1).write.mode("overwrite").json(options.quarantine_path)
    finally:
        if judged is not None:
            judged.unpersist()


def manifest(batch_id: str, result: TransformResult, key_of: Callable[[str], str]) -> Dict[str, object]:
    """The GlueManifest of src/workflow-safe/layout.ts, exactly: keys relative to the bucket (rowsDropped
    only when a user transform ran)."""
    found: Dict[str, object] = {
        "batchId": batch_id,
        "inputFiles": [key_of(f) for f in result.input_files],
        "rowsIn": result.rows_in,
        "rowsOut": result.rows_out,
        "rowsRejected": result.rows_rejected,
        "outputFiles": [{"key": key_of(f), "bytes": n} for f, n in result.output_files],
        "quarantineFiles": [{"key": key_of(f), "bytes": n} for f, n in result.quarantine_files],
    }
    if result.rows_dropped is not None:
        found["rowsDropped"] = result.rows_dropped
    return found


def s3_key(uri: str) -> str:
    """s3://bucket/some/key (or s3a://, s3n://) -> some/key."""
    match = re.match(r"^s3[an]?://[^/]+/(.*)$", uri)
    if not match:
        raise TransformError(f"{uri} is not an s3:// URI")
    return match.group(1)
