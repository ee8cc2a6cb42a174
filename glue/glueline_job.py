"""The Glue job script (Glue 4.0 and 5.0). The only file that imports awsglue: it resolves the job
arguments, and glueline_transform (shipped with --extra-py-files) does the work.

Arguments (src/workflow-safe/layout.ts glueJobArguments, and the job's DefaultArguments of
src/provisioning/job.ts): --batch_id --input_path --output_path --quarantine_path --manifest_path --delimiter
--quote [--columns_json] [--partition_by] [--transform_module] [--transform_function] [--added_columns_json],
plus --JOB_RUN_ID (Glue's own), --glueline_run_tag and any extra arguments of the spec, which the user's transform sees in ctx.arguments.
"""

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

from glueline_transform import run_transform, s3_key
from glueline_transform.arguments import OPTIONAL, REQUIRED, options_from, parse_argv, present_optional
from glueline_transform.claim import glue_job_runs, refuse_if_batch_is_held

args = getResolvedOptions(sys.argv, ["JOB_NAME"] + REQUIRED + present_optional(sys.argv))
glue_context = GlueContext(SparkContext.getOrCreate())
spark = glue_context.spark_session
job = Job(glue_context)
job.init(args["JOB_NAME"], args)

# Every argument, for the user's transform (getResolvedOptions returns only the names asked for).
every = {**parse_argv(sys.argv[1:]), **args}
options = options_from({k: v for k, v in every.items() if k in REQUIRED + OPTIONAL}, every)
if every.get("JOB_RUN_ID"):
    # Another live run of this batch would delete and write the same output: the later one stops here.
    # Needs glue:GetJobRuns on the job in the job's role.
    import boto3

    refuse_if_batch_is_held(every["JOB_RUN_ID"], options.batch_id, glue_job_runs(boto3.client("glue"), args["JOB_NAME"]))
result = run_transform(spark, options, key_of=s3_key)
print(
    f"glueline: batch {options.batch_id}: {result.rows_in} rows in, {result.rows_out} written, "
    f"{result.rows_rejected} quarantined; manifest at {options.manifest_path}"
)
job.commit()
