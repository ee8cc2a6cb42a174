"""The user's transform: `transform(df, ctx)` from a module of the team's own, between glueline's typing and
its Parquet. glueline reads and types the CSVs, calls the function with the typed rows and a TransformContext,
quarantines the rows its ctx.reject rules match (with the rule's reason), and writes the rest.

The module is shipped with --extra-py-files (Glue puts those files on the Python path), named by
--transform_module (the file name without .py) and --transform_function (default `transform`).
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Union

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .transform import Column, TransformError

#: A struct column glueline adds to the rows it hands the transform: where each row came from (file, line,
#: the record's text), so a row the transform's rules reject is quarantined with its origin. It is dropped
#: before the Parquet is written.
ORIGIN = "_glueline_origin"
#: The reason of the rules a row matched; internal, never written.
RULE_REASON = "_glueline_rule_reason"

Condition = Union[SparkColumn, str]


class TransformContext:
    """What the transform gets beside the DataFrame: the batch, the job's arguments, and ctx.reject."""

    def __init__(self, batch_id: str, arguments: Mapping[str, str], spark) -> None:
        #: The batch being transformed (`--batch_id`).
        self.batch_id = batch_id
        #: Every job argument, names without the leading '--' (the spec's transform.arguments included).
        self.arguments: Dict[str, str] = dict(arguments)
        #: The SparkSession, for lookups (spark.read.parquet(...)).
        self.spark = spark
        self._rules: List[Tuple[SparkColumn, str]] = []

    def reject(self, condition: Condition, reason: str) -> None:
        """Quarantines the rows of the returned DataFrame for which `condition` (a Column or a SQL expression)
        is true, with `reason`; they are not written. A null condition does not reject. A row matching several
        rules gets their reasons joined with '; '."""
        if isinstance(condition, str):
            condition = F.expr(condition)
        if not isinstance(condition, SparkColumn):
            raise TransformError(
                f"ctx.reject({condition!r}, ...): the condition must be a Column or a SQL expression string, "
                "for example F.col('quantity') <= 0 or 'quantity <= 0'"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise TransformError(f"ctx.reject(..., {reason!r}): give the reason as a non-empty string")
        self._rules.append((condition, reason))

    @property
    def rules(self) -> List[Tuple[SparkColumn, str]]:
        return list(self._rules)


def load_transform(module_name: str, function_name: str = "transform") -> Callable[[DataFrame, TransformContext], DataFrame]:
    """The function `function_name` of module `module_name`, importable from the Python path."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise TransformError(
            f"--transform_module {module_name}: cannot import it ({type(err).__name__}: {err}); provision ships "
            "transform.module with --extra-py-files: run provision again after changing the spec"
        ) from err
    function = getattr(module, function_name, None)
    if not callable(function):
        where = getattr(module, "__file__", None) or module_name
        raise TransformError(
            f"--transform_function {function_name}: module {module_name} ({where}) has no function {function_name}: "
            "define it as def transform(df, ctx), or set transform.function to the function's name "
            "(a module named like a standard library module is shadowed by it: rename the file)"
        )
    return function


def apply_transform(
    function: Callable[[DataFrame, TransformContext], DataFrame],
    name: str,
    typed: DataFrame,
    ctx: TransformContext,
) -> DataFrame:
    """Calls the transform and returns its DataFrame with RULE_REASON set on the rows its rules reject.

    An exception of the transform fails the job naming the function and its own error (type and message)."""
    try:
        out = function(typed, ctx)
    except TransformError:
        raise
    except Exception as err:
        raise TransformError(f"{name}(df, ctx) raised {type(err).__name__}: {err}") from err
    if not isinstance(out, DataFrame):
        raise TransformError(f"{name}(df, ctx) returned {type(out).__name__}: return the DataFrame to write")
    reasons = [F.when(condition, F.lit(reason)) for condition, reason in ctx.rules]
    joined = F.concat_ws("; ", *reasons) if reasons else F.lit("")
    try:
        return out.withColumn(RULE_REASON, F.when(joined != "", joined))
    except Exception as err:  # AnalysisException: a rule names a column the returned DataFrame lacks
        raise TransformError(
            f"a ctx.reject condition of {name} cannot be evaluated on the DataFrame it returned: "
            f"{type(err).__name__}: {str(err).splitlines()[0]}"
        ) from err


def written_columns(out: DataFrame, declared: List[Column], added: Optional[List[Column]], name: str) -> List[SparkColumn]:
    """The columns to write, internal ones left out. With transform.addedColumns declared the output is
    checked: the declared columns the transform kept (in their order) then the added ones, each cast to its
    declared type; a column the spec does not know fails the job with the fix."""
    present = [c for c in out.columns if c not in (ORIGIN, RULE_REASON)]
    if added is None:
        return [F.col(f"`{c}`") for c in present]
    missing = [c.name for c in added if c.name not in present]
    if missing:
        raise TransformError(
            f"{name} did not return the declared added column(s) {', '.join(missing)}: add them, "
            "or remove them from transform.addedColumns"
        )
    known = {c.name for c in declared} | {c.name for c in added}
    unknown = [c for c in present if c not in known]
    if unknown:
        raise TransformError(
            f"{name} returned column(s) {', '.join(unknown)} that are neither in transform.columns nor in "
            "transform.addedColumns: declare them in transform.addedColumns (with a type), or drop them"
        )
    kept = [c for c in declared if c.name in present and c.name not in {a.name for a in added}]
    return [F.col(f"`{c.name}`").cast(c.type).alias(c.name) for c in kept + list(added)]
