/**
 * A full Glue script of your own (transform.script, glue/README.md "A full script of your own"): `provision`
 * refuses one that does not read the contract's arguments, naming them, and uploads nothing; one that does becomes
 * the job's ScriptLocation; and the local stack, which runs only glueline's script, fails its job run saying so
 * instead of passing it as run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetJobCommand, GetJobRunCommand, GlueClient, StartJobRunCommand } from '@aws-sdk/client-glue';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { glueJobArguments, primaryRegion } from '../../src/workflow-safe/layout';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { scriptContractProblems } from '../../src/provisioning/custom-script';
import { glueline } from '../../devstack/testkit/cli';
import { pollUntil } from '../../devstack/testkit/poll';
import { uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack } from '../../devstack/testkit/stack';

const GOOD = `import sys
from awsglue.utils import getResolvedOptions

args = getResolvedOptions(sys.argv, ["batch_id", "input_path", "output_path", "quarantine_path", "manifest_path"])
# ... read args["input_path"], write Parquet to args["output_path"], then the manifest to args["manifest_path"]
`;
const NO_MANIFEST = `import sys
from awsglue.utils import getResolvedOptions

# manifest_path is only in this comment
args = getResolvedOptions(sys.argv, ["batch_id", "input_path", "output_path"])
`;

describe('scriptContractProblems', () => {
  test('is empty for a script that reads every contract argument, and names the ones a script never reads', () => {
    assert.deepEqual(scriptContractProblems(GOOD), []);
    const problems = scriptContractProblems(NO_MANIFEST);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^never reads --quarantine_path, --manifest_path: a script of yours gets the batch/);
  });
});

describe('transform.script through provision and the local stack', () => {
  let workDir: string;
  const spec = uniqueSalesSpec();
  const primary = primaryRegion(spec);
  const specFile = () => path.join(workDir, 'spec.json');
  const withScript = (script: string, module?: string) =>
    fs.writeFileSync(specFile(), JSON.stringify({ ...spec, transform: { ...spec.transform, script, module } }));

  before(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-custom-script-'));
    fs.mkdirSync(path.join(workDir, 'jobs'));
    fs.writeFileSync(path.join(workDir, 'jobs', 'good_job.py'), GOOD);
    fs.writeFileSync(path.join(workDir, 'jobs', 'bad_job.py'), NO_MANIFEST);
  });
  after(() => fs.rmSync(workDir, { recursive: true, force: true }));

  test('the spec refuses a script beside a module', () => {
    const result = PipelineSpec.safeParse({
      ...spec,
      transform: { ...spec.transform, script: 'jobs/good_job.py', module: 'transforms/orders.py' },
    });
    assert.equal(result.success, false);
    assert.match(
      result.error!.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('\n'),
      /transform\.script and transform\.module both replace the transform/,
    );
  });

  test('provision refuses a script that never reads the manifest path, and uploads nothing', async () => {
    withScript('jobs/bad_job.py');
    const refused = await glueline('provision', '--spec', specFile(), '--endpoint', stack().aws.endpoint);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(
      refused.stderr,
      /transform\.script .*jobs\/bad_job\.py never reads --quarantine_path, --manifest_path: .*getResolvedOptions/,
    );
    const s3 = new S3Client(awsClientConfig(primary.region));
    try {
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: primary.curatedBucket, Key: '_glueline/scripts/glueline_job.py' })),
      );
    } finally {
      s3.destroy();
    }
  });

  test('a script that honours the contract is the job script; the local stack fails its run saying why', async () => {
    withScript('jobs/good_job.py');
    const provisioned = await glueline('provision', '--spec', specFile(), '--endpoint', stack().aws.endpoint);
    assert.equal(provisioned.code, 0, provisioned.stderr);
    const location = `s3://${primary.curatedBucket}/_glueline/scripts/${spec.transform.jobName}/good_job.py`;
    const glue = new GlueClient(awsClientConfig(primary.region));
    try {
      const { Job } = await glue.send(new GetJobCommand({ JobName: spec.transform.jobName }));
      assert.equal(Job?.Command?.ScriptLocation, location);
      const batch = { id: 'b1', source: { bucket: primary.rawBucket, prefix: 'landing/b1/' } };
      const { JobRunId } = await glue.send(
        new StartJobRunCommand({ JobName: spec.transform.jobName, Arguments: glueJobArguments(spec, batch) }),
      );
      const ended = await pollUntil(
        async () =>
          (await glue.send(new GetJobRunCommand({ JobName: spec.transform.jobName, RunId: JobRunId! }))).JobRun!,
        (r) => !['STARTING', 'RUNNING', 'STOPPING', 'WAITING'].includes(r.JobRunState!),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.equal(ended.JobRunState, 'FAILED');
      assert.match(
        ended.ErrorMessage ?? '',
        /runs a script of your own .*the local stack runs only glueline's job script/,
      );
    } finally {
      glue.destroy();
    }
  });
});
