"""Runs the Glue job's transform with local Spark, for the local stack (devstack/local-spark.ts).

Takes the very arguments the Glue job gets, plus --local_root DIR: every s3://bucket/key becomes
DIR/bucket/key, so the caller stages the input there first and uploads what appears there after. The
manifest names S3 keys and the quarantine's source_file the s3:// URI, as in Glue. GLUELINE_LOCAL_JOB_RUN_ID
and GLUELINE_LOCAL_JOB_RUNS (a JSON file of the job's runs, GetJobRuns' shape) let it refuse a batch an
earlier live run holds, as glueline_job.py does with GetJobRuns (glueline_transform.claim). The caller puts the
job's --extra-py-files (downloaded from S3) on PYTHONPATH, where the user's transform module is imported from. A failure ends the process with status 1 and the error on a last
stderr line marked 'glueline-local-error: ', which the caller reports as the job run's ErrorMessage.
"""

from __future__ import annotations

import os
import re
import sys


def main(argv):
    from glueline_transform import TransformError, run_transform
    from glueline_transform.arguments import options_from, parse_argv

    args = parse_argv(argv)
    root = args.pop("local_root", None)
    if not root:
        raise TransformError("--local_root is missing: name the folder that stands for S3 (DIR/bucket/key)")
    root = os.path.abspath(root)

    def local(uri: str) -> str:
        match = re.match(r"^s3[an]?://([^/]+)/?(.*)$", uri)
        if not match:
            raise TransformError(f"{uri} is not an s3:// URI")
        return os.path.join(root, match.group(1), match.group(2))

    def bucket_and_key(path: str) -> str:
        plain = re.sub(r"^file:(//)?", "", path)
        return os.path.relpath(plain, root).replace(os.sep, "/")

    def key_of(path: str) -> str:
        relative = bucket_and_key(path)
        return relative.split("/", 1)[1] if "/" in relative else relative

    def source_of(path: str) -> str:
        # The quarantine's source_file is the object's s3:// URI, as in Glue, not the staged copy's path.
        return f"s3://{bucket_and_key(path)}"

    every = dict(args)  # what the user's transform sees as ctx.arguments: the s3:// paths, as in Glue
    for name in ("input_path", "output_path", "quarantine_path", "manifest_path"):
        if name in args:
            args[name] = local(args[name])
    options = options_from(args, every)

    runs_file = os.environ.get("GLUELINE_LOCAL_JOB_RUNS")
    if runs_file:
        # The job's runs as the local Glue's GetJobRuns reports them, which the caller wrote when it started Spark.
        import json

        from glueline_transform.claim import refuse_if_batch_is_held

        with open(runs_file, encoding="utf-8") as f:
            runs = json.load(f)
        refuse_if_batch_is_held(os.environ.get("GLUELINE_LOCAL_JOB_RUN_ID"), options.batch_id, runs)

    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(os.environ.get("GLUELINE_SPARK_MASTER", "local[2]"))
        .appName(f"glueline-local-{options.batch_id}")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", os.environ.get("GLUELINE_SPARK_DRIVER_MEMORY", "1g"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        result = run_transform(spark, options, key_of=key_of, source_of=source_of)
    finally:
        spark.stop()
    print(
        f"glueline-local: batch {options.batch_id}: {result.rows_in} rows in, {result.rows_out} written, "
        f"{result.rows_rejected} quarantined"
    )


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    # Spark's Python workers are separate processes: they find glueline_transform through PYTHONPATH,
    # and run this same interpreter (the dev tools' venv) rather than whatever python3 is on PATH.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        main(sys.argv[1:])
    except Exception as err:  # noqa: BLE001 - the last line is what the job run reports
        import traceback

        traceback.print_exc()
        # Marked, because Spark may still log after this; devstack/local-spark.ts reports it as ErrorMessage.
        message = " ".join(f"{type(err).__name__}: {err}".split())
        print(f"glueline-local-error: {message}", file=sys.stderr, flush=True)
        sys.exit(1)
