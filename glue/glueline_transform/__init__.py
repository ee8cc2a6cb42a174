"""glueline's Glue job: CSV to snappy Parquet with a quarantine and a manifest. Pure PySpark, no awsglue."""

from .transform import (
    Column,
    TransformError,
    TransformOptions,
    TransformResult,
    manifest,
    parse_columns,
    run_transform,
    s3_key,
)

__all__ = [
    "Column",
    "TransformError",
    "TransformOptions",
    "TransformResult",
    "manifest",
    "parse_columns",
    "run_transform",
    "s3_key",
]
