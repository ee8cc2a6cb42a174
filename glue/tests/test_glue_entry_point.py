"""glueline_job.py as Glue runs it, with stand-ins for the awsglue modules (only Glue ships them)."""

import json
import os
import runpy
import sys
import types

import glueline_transform
import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "glueline_job.py")


@pytest.fixture
def fake_awsglue(spark, monkeypatch):
    """awsglue.utils/context/job stand-ins that behave as Glue's do where the script relies on them."""
    calls = {}

    def get_resolved_options(argv, names):
        # Like Glue's: every name asked for must be in argv, and only those come back.
        found = {}
        for name in names:
            flag = f"--{name}"
            if flag not in argv:
                raise SystemExit(f"error: the following arguments are required: {flag}")
            found[name] = argv[argv.index(flag) + 1]
        return found

    class GlueContext:
        def __init__(self, sc):
            self.spark_session = spark

    class Job:
        def __init__(self, context):
            pass

        def init(self, name, args):
            calls["init"] = (name, args)

        def commit(self):
            calls["commit"] = True

    modules = {
        "awsglue": types.ModuleType("awsglue"),
        "awsglue.utils": types.SimpleNamespace(getResolvedOptions=get_resolved_options),
        "awsglue.context": types.SimpleNamespace(GlueContext=GlueContext),
        "awsglue.job": types.SimpleNamespace(Job=Job),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_the_glue_script_runs_the_transform_with_the_arguments_the_pipeline_passes(fake_awsglue, tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(b"id,name\n1,a\n2,b\nx,c\n")
    root = "file:" + str(tmp_path) + "/"
    # Local folders stand in for s3:// here; the manifest keys are what follows the folder.
    monkeypatch.setattr(glueline_transform, "s3_key", lambda path: path[len(root) :])
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "glueline_job.py",
            "--JOB_NAME", "sales-to-parquet",
            "--batch_id", "b1",
            "--input_path", str(tmp_path / "in"),
            "--output_path", str(tmp_path / "out"),
            "--quarantine_path", str(tmp_path / "quarantine"),
            "--manifest_path", str(tmp_path / "manifest.json"),
            "--delimiter", ",",
            "--quote", '"',
            "--columns_json", json.dumps([{"name": "id", "type": "int"}, {"name": "name", "type": "string"}]),
            "--glueline_run_tag", "run-1",
            "--extra-py-files", "s3://b/_glueline/scripts/glueline_transform.zip",
        ],
    )

    runpy.run_path(SCRIPT, run_name="__main__")

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["rowsIn"], manifest["rowsOut"], manifest["rowsRejected"]) == (3, 2, 1)
    assert manifest["inputFiles"] == ["in/a.csv"]
    assert fake_awsglue["init"][0] == "sales-to-parquet"
    assert fake_awsglue["commit"] is True


def test_the_glue_script_asks_glue_for_the_jobs_runs_and_refuses_a_batch_an_earlier_run_holds(
    fake_awsglue, tmp_path, monkeypatch
):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kept.parquet").write_bytes(b"first run's")
    asked = []

    class FakeGlue:
        def get_job_runs(self, **kwargs):
            asked.append(kwargs)
            runs = [
                {"Id": "jr_later", "JobRunState": "RUNNING", "StartedOn": 20, "Arguments": {"--batch_id": "b1"}},
                {"Id": "jr_first", "JobRunState": "RUNNING", "StartedOn": 10, "Arguments": {"--batch_id": "b1"}},
            ]
            return {"JobRuns": runs}

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda name: FakeGlue()))
    monkeypatch.setattr(
        sys,
        "argv",
        ["glueline_job.py", "--JOB_NAME", "sales-to-parquet", "--JOB_RUN_ID", "jr_later", "--batch_id", "b1"]
        + ["--input_path", str(tmp_path / "in"), "--output_path", str(tmp_path / "out")]
        + ["--quarantine_path", str(tmp_path / "q"), "--manifest_path", str(tmp_path / "m.json")]
        + ["--delimiter", ",", "--quote", '"'],
    )
    with pytest.raises(glueline_transform.TransformError, match="job run jr_first of batch b1 is still RUNNING"):
        runpy.run_path(SCRIPT, run_name="__main__")
    assert asked == [{"JobName": "sales-to-parquet", "MaxResults": 200}]
    assert (tmp_path / "out" / "kept.parquet").read_bytes() == b"first run's"
    assert "commit" not in fake_awsglue
