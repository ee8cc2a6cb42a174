"""One live run per batch: the later of two live runs of a batch refuses before it touches the output."""

import json
import os
import subprocess
import sys

import pytest
from glueline_transform import TransformError
from glueline_transform.claim import earlier_live_run, refuse_if_batch_is_held

GLUE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(id_, state, started, batch="b1"):
    return {"Id": id_, "JobRunState": state, "StartedOn": started, "Arguments": {"--batch_id": batch}}


def test_the_later_of_two_live_runs_of_a_batch_refuses_and_the_earlier_goes_on():
    runs = [run("jr_b", "RUNNING", 1_700_000_010), run("jr_a", "RUNNING", 1_700_000_000)]
    with pytest.raises(TransformError, match="job run jr_a of batch b1 is still RUNNING .* this run jr_b stops"):
        refuse_if_batch_is_held("jr_b", "b1", runs)
    refuse_if_batch_is_held("jr_a", "b1", runs)


def test_runs_that_ended_or_hold_other_batches_do_not_hold_it():
    runs = [
        run("jr_a", "SUCCEEDED", 1),
        run("jr_b", "FAILED", 2),
        run("jr_c", "RUNNING", 3, batch="b2"),
        run("jr_d", "RUNNING", 4),
    ]
    assert earlier_live_run("jr_d", "b1", runs) is None


def test_runs_started_in_the_same_second_are_ordered_by_id_the_same_way_for_both():
    runs = [run("jr_2", "RUNNING", "2026-11-30T14:00:00Z"), run("jr_1", "STARTING", "2026-11-30T14:00:00Z")]
    assert earlier_live_run("jr_2", "b1", runs)["Id"] == "jr_1"
    assert earlier_live_run("jr_1", "b1", runs) is None


def test_a_run_missing_from_the_list_counts_as_the_latest():
    assert earlier_live_run("jr_x", "b1", [run("jr_a", "RUNNING", 5)])["Id"] == "jr_a"


def test_the_local_entry_point_refuses_before_it_deletes_the_batch_output(tmp_path):
    out = tmp_path / "s3" / "curated" / "out"
    out.mkdir(parents=True)
    (out / "part-0.parquet").write_bytes(b"the first run's output")
    runs = tmp_path / "runs.json"
    runs.write_text(json.dumps([run("jr_first", "RUNNING", 100), run("jr_second", "RUNNING", 101)]))
    argv = [
        "--batch_id", "b1", "--input_path", "s3://raw/in/", "--output_path", "s3://curated/out/",
        "--quarantine_path", "s3://curated/q/", "--manifest_path", "s3://curated/m.json",
        "--delimiter", ",", "--quote", '"', "--local_root", str(tmp_path / "s3"),
    ]
    env = {**os.environ, "GLUELINE_LOCAL_JOB_RUN_ID": "jr_second", "GLUELINE_LOCAL_JOB_RUNS": str(runs)}
    done = subprocess.run([sys.executable, os.path.join(GLUE, "glueline_local.py"), *argv], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "glueline-local-error: TransformError: job run jr_first of batch b1 is still RUNNING" in done.stderr
    assert (out / "part-0.parquet").read_bytes() == b"the first run's output"
    assert not (tmp_path / "s3" / "curated" / "m.json").exists()
