/**
 * Issue 16, "Your transform, as a hook with a contract" and "Rejected rows you can see", as
 * docs/your-own-pipeline.md walks it, on the local stack with real Spark: specs/local-orders.yaml (other
 * columns than the sales sample, and transforms/orders.py deriving `total` and rejecting non-positive
 * quantities) is copied to a folder outside the repository, provisioned with the CLI, and a batch of
 * samples/orders is run. `query` shows the derived column, `rejects` the rejected rows with the rule's
 * reason, and the counts add up. Then a transform that raises is provisioned over it (the changed module is
 * uploaded again) and its job run fails with the Python error as ErrorMessage.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetJobRunCommand, GlueClient, StartJobRunCommand, type JobRun } from '@aws-sdk/client-glue';
import { glueJobArguments, primaryRegion, rawBatchPrefix } from '../../src/workflow-safe/layout';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { loadSpecFile } from '../../src/starters/spec-file';
import { repoRoot } from '../../devstack/paths';
import { createSpecRedshiftTargets } from '../../devstack/redshift-targets';
import { glueline, queryRows, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { pollUntil } from '../../devstack/testkit/poll';
import { uniqueSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

/** One Spark run; Spark's start-up alone takes tens of seconds on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 600_000;
const CSV = path.join(repoRoot, 'samples', 'orders', 'orders-2026-11-30.csv');

/** specs/local-orders.yaml with names no other test uses, written with its transforms/ to a fresh folder. */
function uniqueOrdersSpec(workDir: string): { spec: PipelineSpec; specFile: string } {
  const spec = uniqueSpec(loadSpecFile(path.join(repoRoot, 'specs', 'local-orders.yaml')), 'o');
  fs.cpSync(path.join(repoRoot, 'specs', 'transforms'), path.join(workDir, 'transforms'), { recursive: true });
  const specFile = path.join(workDir, 'orders.json');
  fs.writeFileSync(specFile, JSON.stringify(spec));
  return { spec, specFile };
}

describe('your own pipeline: a transform of yours from a CSV to rows in Redshift (issue 16)', () => {
  let workDir: string;
  let spec: PipelineSpec;
  let specFile: string;
  let cli: CliWorker | undefined;
  const batchId = 'orders-1';

  before(
    async () => {
      workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-orders-'));
      ({ spec, specFile } = uniqueOrdersSpec(workDir));
      const provisioned = await glueline('provision', '--spec', specFile, '--endpoint', stack().aws.endpoint);
      assert.equal(provisioned.code, 0, provisioned.stderr);
      assert.match(provisioned.stdout, new RegExp(`_glueline/scripts/${spec.transform.jobName}/orders\\.py`));
      await createSpecRedshiftTargets(stack().aws.endpoint, spec);
      cli = await startCliWorker(unique('orders'));
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await cli?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test(
    'query shows the derived column, rejects the rule-rejected rows with the reason, and the counts add up',
    { timeout: RUN_TIMEOUT_MS },
    async () => {
      const run = await glueline('run', '--spec', specFile, '--batch-id', batchId, '--files', CSV, '--wait');
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      const primary = primaryRegion(spec);
      const quarantine = `s3://${primary.curatedBucket}/quarantine/batch_id=${batchId}/`;
      assert.match(run.stdout, /rows: +7 in, 4 out, 3 rejected/);
      assert.ok(run.stdout.includes(`rejected:   ${quarantine}`), run.stdout);

      const query = await glueline(
        'query',
        '--spec',
        specFile,
        '--region',
        primary.region,
        '--sql',
        `select order_id, quantity, total from orders where batch_id = '${batchId}' order by order_id`,
      );
      assert.equal(query.code, 0, query.stderr);
      const rows = queryRows(query.stdout);
      assert.deepEqual(rows, [
        ['5001', '2', '39.80'],
        ['5002', '1', '250.00'],
        ['5004', '3', '14.25'],
        ['5007', '4', '10.00'],
      ]);

      // The job reads the batch as stage-raw staged it; source_file is that object's s3:// URI.
      const staged = rawBatchPrefix(spec, { id: batchId } as Batch);
      const source = `s3://${primary.rawBucket}/${staged}orders-2026-11-30.csv`;
      const rejects = await glueline('rejects', '--spec', specFile, '--batch-id', batchId);
      assert.equal(rejects.code, 0, rejects.stderr);
      assert.deepEqual(rejects.stdout.split('\n'), [
        `${source} line 4: quantity must be positive`,
        '  5003,2026-11-30,Linus,0,12.50',
        `${source} line 6: quantity must be positive`,
        '  5005,2026-11-30,Ken,-2,8.00',
        `${source} line 7: quantity: 'five' is not a valid int`,
        '  5006,2026-11-30,Margaret,five,3.00',
        `(3 of 7 rows rejected; in ${quarantine})`,
      ]);

      const json = await glueline('rejects', '--spec', specFile, '--batch-id', batchId, '--json');
      assert.equal(json.code, 0, json.stderr);
      const document = JSON.parse(json.stdout) as { rowsIn: number; rowsRejected: number; rows: unknown[] };
      assert.equal(document.rows.length, document.rowsRejected);
      // rowsIn = rowsOut (the rows in Redshift) + rejected: the transform dropped nothing on its own.
      assert.equal(document.rowsIn, rows.length + document.rowsRejected);
    },
  );

  test('rejects of a batch whose transform has not run exits 1 and says so', async () => {
    const missing = await glueline('rejects', '--spec', specFile, '--batch-id', 'never-ran');
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(
        `batch never-ran of pipeline ${spec.name} has no manifest at s3://.*: its transform has not succeeded yet`,
      ),
    );
  });

  test(
    'a changed transform that raises is uploaded again, and its job run fails with the Python error',
    { timeout: RUN_TIMEOUT_MS },
    async () => {
      fs.writeFileSync(
        path.join(workDir, 'transforms', 'orders.py'),
        'def transform(df, ctx):\n    raise ValueError("no price list for batch " + ctx.batch_id)\n',
      );
      const provisioned = await glueline('provision', '--spec', specFile, '--endpoint', stack().aws.endpoint);
      assert.equal(provisioned.code, 0, provisioned.stderr);
      assert.match(provisioned.stdout, /plan \(1 change\)/);
      assert.match(provisioned.stdout, /update S3 object s3:\/\/\S+\/orders\.py:\n\s+content MD5/);

      const primary = primaryRegion(spec);
      const glue = new GlueClient(awsClientConfig(primary.region));
      try {
        // The same batch's CSV is already in the raw bucket, staged by the run above.
        const batch: Batch = { id: batchId, source: { bucket: primary.rawBucket, prefix: `landing/${batchId}/` } };
        const { JobRunId } = await glue.send(
          new StartJobRunCommand({ JobName: spec.transform.jobName, Arguments: glueJobArguments(spec, batch) }),
        );
        const ended: JobRun = await pollUntil(
          async () =>
            (await glue.send(new GetJobRunCommand({ JobName: spec.transform.jobName, RunId: JobRunId! }))).JobRun!,
          (r) => !['STARTING', 'RUNNING', 'STOPPING', 'WAITING'].includes(r.JobRunState!),
          { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 500 },
        );
        assert.equal(ended.JobRunState, 'FAILED');
        assert.equal(
          ended.ErrorMessage,
          `TransformError: orders.transform(df, ctx) raised ValueError: no price list for batch ${batchId}`,
        );
      } finally {
        glue.destroy();
      }
    },
  );
});
