"""The job arguments (src/workflow-safe/layout.ts glueJobArguments) as TransformOptions, for both entry points."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

from .transform import TransformError, TransformOptions, parse_columns

REQUIRED = ["batch_id", "input_path", "output_path", "quarantine_path", "manifest_path", "delimiter", "quote"]
OPTIONAL = ["columns_json", "partition_by", "transform_module", "transform_function", "added_columns_json"]


def present_optional(argv: Sequence[str]) -> List[str]:
    """The optional arguments given in argv (Glue's getResolvedOptions fails on a name that is not there)."""
    return [name for name in OPTIONAL if f"--{name}" in argv]


def parse_argv(argv: Sequence[str]) -> Dict[str, str]:
    """`--name value` pairs, as Glue passes them (and `--name=value`); unknown names are kept and ignored later."""
    args: Dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--"):
            i += 1
            continue
        if "=" in token:
            name, value = token[2:].split("=", 1)
            i += 1
        elif i + 1 < len(argv):
            name, value = token[2:], argv[i + 1]
            i += 2
        else:
            raise TransformError(f"{token} has no value: pass it as {token} <value>")
        args[name] = value
    return args


def options_from(args: Mapping[str, str], every: Optional[Mapping[str, str]] = None) -> TransformOptions:
    """TransformOptions from resolved arguments (names without the leading '--'); `every` argument the job got
    is what the user's transform sees as ctx.arguments (default: `args`)."""
    missing = [f"--{name}" for name in REQUIRED if name not in args]
    if missing:
        raise TransformError(f"missing job argument(s) {', '.join(missing)}: the pipeline passes them (src/workflow-safe/layout.ts)")
    for name in ("delimiter", "quote"):
        if len(args[name]) != 1:
            raise TransformError(f"--{name} {args[name]!r} must be exactly one character")
    return TransformOptions(
        batch_id=args["batch_id"],
        input_path=args["input_path"],
        output_path=args["output_path"],
        quarantine_path=args["quarantine_path"],
        manifest_path=args["manifest_path"],
        delimiter=args["delimiter"],
        quote=args["quote"],
        columns=parse_columns(args.get("columns_json")),
        partition_by=args.get("partition_by") or None,
        transform_module=args.get("transform_module") or None,
        transform_function=args.get("transform_function") or "transform",
        added_columns=parse_columns(args.get("added_columns_json"), "--added_columns_json"),
        arguments=dict(every if every is not None else args),
    )
