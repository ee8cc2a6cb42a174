"""The orders pipeline's own transform (specs/local-orders.yaml, docs/your-own-pipeline.md).

glueline calls transform(df, ctx) with the batch's rows already read and typed by transform.columns, and
writes what it returns as Parquet. Rows that fail a ctx.reject rule go to the quarantine with its reason.
"""

from pyspark.sql import functions as F


def transform(df, ctx):
    # A rule: these rows are quarantined with the reason, and `glueline rejects` shows them.
    ctx.reject(F.col("quantity") <= 0, "quantity must be positive")
    # A derived column, declared in transform.addedColumns so the refresh SQL can load it.
    return df.withColumn("total", (F.col("quantity") * F.col("unit_price")).cast("decimal(12,2)"))
