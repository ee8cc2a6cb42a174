"""One live run per batch: a run of the job refuses to start work while an earlier run of the same batch is still
live, because both would delete and write the same output prefix, quarantine and manifest.

The job asks Glue for its job's runs (GetJobRuns: glueline_job.py; the local stack hands the same list to
glueline_local.py), before it deletes or writes anything. Of two live runs of a batch, the one that started
first (by StartedOn, then by run id) goes on; every later one fails at once with an error naming the earlier run.
A run that ended, whatever its state, holds nothing: a re-run after it replaces its output, as always.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

from .transform import TransformError

#: Glue's JobRunState values of a run that may still write.
LIVE_STATES = {"STARTING", "RUNNING", "STOPPING", "WAITING"}


def _started(run: Mapping[str, Any]) -> datetime:
    value = run.get("StartedOn")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.max.replace(tzinfo=timezone.utc)


def _batch(run: Mapping[str, Any]) -> Optional[str]:
    return (run.get("Arguments") or {}).get("--batch_id")


def earlier_live_run(own_run_id: str, batch_id: str, runs: Iterable[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The earliest live run of `batch_id` other than `own_run_id` that started before it, or None.

    `runs` are GetJobRuns' JobRun objects (Id, JobRunState, StartedOn, Arguments). A run that is not in the list
    counts as the latest (refusing is the safe side)."""
    runs = list(runs)
    own = next((r for r in runs if r.get("Id") == own_run_id), None)
    own_key = (_started(own), own_run_id) if own else (datetime.max.replace(tzinfo=timezone.utc), "\uffff")
    earlier = [
        r
        for r in runs
        if r.get("Id") != own_run_id
        and r.get("JobRunState") in LIVE_STATES
        and _batch(r) == batch_id
        and (_started(r), str(r.get("Id"))) < own_key
    ]
    return min(earlier, key=lambda r: (_started(r), str(r.get("Id")))) if earlier else None


def refuse_if_batch_is_held(own_run_id: Optional[str], batch_id: str, runs: Iterable[Mapping[str, Any]]) -> None:
    """Raises TransformError when an earlier live run of the batch holds its output (see the module's doc)."""
    if not own_run_id:
        return
    holder = earlier_live_run(own_run_id, batch_id, runs)
    if holder is not None:
        raise TransformError(
            f"job run {holder.get('Id')} of batch {batch_id} is still {holder.get('JobRunState')} (started "
            f"{_started(holder).isoformat()}): this run {own_run_id} stops before touching the batch's output, "
            "so that the two cannot overwrite each other; wait for that run to end, then run the batch again"
        )


def glue_job_runs(glue_client, job_name: str, pages: int = 5):
    """The job's most recent runs from Glue's GetJobRuns (newest first; a live run is among the recent ones)."""
    token = None
    for _ in range(pages):
        response = glue_client.get_job_runs(JobName=job_name, MaxResults=200, **({"NextToken": token} if token else {}))
        yield from response.get("JobRuns", [])
        token = response.get("NextToken")
        if not token:
            return
