/**
 * The refresh's transaction on the local stack, with a worker process and real SMTP (#14 finding 4): a Redshift
 * error in statement N of M rolls back statements 1..N-1, as BatchExecuteStatement does on Redshift, and fails
 * the run with the statement, its place and Redshift's error, in one email; the spec's autoCommitSql ran first,
 * each statement on its own, and stays committed; its autoCommitAfterSql (a VACUUM, which the local Redshift, as
 * Redshift, refuses inside a transaction block) ran after the transaction committed, only where it committed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { runStatement } from '../../src/aws/redshift-data';
import { FailureType } from '../../src/workflow-safe/failures';
import { primaryRegion, replicaRegions } from '../../src/workflow-safe/layout';
import { PROGRESS_QUERY, type PipelineProgress } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { SinkMessage } from '../../devstack/mail-sink';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { landBatch } from '../../devstack/testkit/scripted-pipeline';
import { provisionQuietly, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';
import { startStackWorker, type StackWorker } from '../../devstack/testkit/worker-process';

/** Runs `sql` on a region's target and returns its rows as text (glueline's own runStatement). */
async function query(spec: PipelineSpec, region: string, sql: string): Promise<(string | undefined)[][]> {
  const target = spec.regions.find((r) => r.region === region)!.redshift!;
  const redshift = new RedshiftDataClient(awsClientConfig(region));
  try {
    const { records } = await runStatement(redshift, { region, target, sqls: [sql] });
    return records.map((row) => row.map((f) => f.stringValue));
  } finally {
    redshift.destroy();
  }
}

describe('the refresh transaction end to end (issue 14)', () => {
  const taskQueue = unique('refresh-tx');
  let base: PipelineSpec;
  let stackWorker: StackWorker | undefined;
  let client: Client;

  before(
    async () => {
      base = uniqueSalesSpec();
      await provisionQuietly(base);
      // Bundling the workflows takes minutes on a loaded machine.
      stackWorker = await startStackWorker(taskQueue, { startTimeoutMs: 300_000 });
      client = stackWorker.client;
    },
    { timeout: 400_000 },
  );

  after(async () => {
    await stackWorker?.stop();
  });

  test(
    'an error in statement 4 of 4 in one region rolls back statements 1-3 there, fails the run, one email; autoCommitAfterSql runs where it committed',
    { timeout: 600_000 },
    async () => {
      const primary = primaryRegion(base).region;
      const replica = replicaRegions(base)[0]!.region;
      const spec: PipelineSpec = {
        ...base,
        redshift: {
          autoCommitSql: ["insert into refresh_tx values ('${batch_id}', 'auto')"],
          sql: [
            "delete from refresh_tx where batch_id = '${batch_id}' and origin <> 'auto'",
            "insert into refresh_tx values ('${batch_id}', 'tx-1')",
            "insert into refresh_tx values ('${batch_id}', 'tx-2')",
            // Division by zero in the replica only: the primary's refresh commits, the replica's rolls back.
            `insert into refresh_tx select '\${batch_id}', 'tx-3' where 1 / (case when '\${region}' = '${replica}' then 0 else 1 end) = 1`,
          ],
          // After the commit: a VACUUM, then a count that sees what the transaction committed.
          autoCommitAfterSql: [
            'vacuum refresh_tx',
            "insert into refresh_tx_after select '${batch_id}', count(*) from refresh_tx where batch_id = '${batch_id}'",
          ],
          reconcile: false,
        },
      };
      for (const region of [primary, replica]) {
        await query(spec, region, 'create table if not exists refresh_tx (batch_id varchar(63), origin varchar(8))');
        await query(spec, region, 'create table if not exists refresh_tx_after (batch_id varchar(63), n bigint)');
      }
      const batch = await landBatch(spec, unique('tx'));
      await new GatewayControl().scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED' }]);
      const handle = await client.workflow.start('csvPipeline', {
        taskQueue,
        workflowId: unique(`refresh-tx-${batch.id}`),
        args: [{ spec, batch }],
      });
      const error = await handle.result().then(
        () => assert.fail('the run should fail'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof WorkflowFailedError, String(error));
      // The step's activity failed: its cause is what the wait raised.
      const failure = error.cause instanceof ActivityFailure ? error.cause.cause : error.cause;
      assert.ok(failure instanceof ApplicationFailure, String(failure));
      assert.equal(failure.type, FailureType.StatementFailed);
      assert.match(failure.message, new RegExp(`${replica}.*at statement 4 of 4 \\(insert into refresh_tx select`));
      assert.match(failure.message, /division by zero/);

      const origins = async (region: string) =>
        (await query(spec, region, `select origin from refresh_tx where batch_id = '${batch.id}' order by origin`)).map(
          (row) => row[0],
        );
      assert.deepEqual(await origins(replica), ['auto'], 'the replica keeps the auto-commit row only');
      assert.deepEqual(await origins(primary), ['auto', 'tx-1', 'tx-2', 'tx-3']);
      const counted = async (region: string) =>
        (await query(spec, region, `select n::text from refresh_tx_after where batch_id = '${batch.id}'`)).map(
          (row) => row[0],
        );
      assert.deepEqual(await counted(primary), ['4'], 'after the VACUUM, the count saw the committed transaction');
      assert.deepEqual(await counted(replica), [], 'no autoCommitAfterSql runs where the transaction failed');

      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
      const steps = Object.fromEntries(progress.steps.map((s) => [s.step, s]));
      assert.equal(steps[`redshift-refresh@${primary}`]!.status, 'succeeded');
      assert.equal(steps[`redshift-refresh@${replica}`]!.status, 'failed');
      // The auto-commit statement and the batch each have an id of their own.
      assert.ok((steps[`redshift-refresh@${replica}`]!.awsIds.statementIds ?? []).length >= 2);

      const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
      const emails = inbox.filter((m) => m.subject.includes(`batch ${batch.id} `));
      assert.deepEqual(
        emails.map((m) => m.subject),
        [`[glueline] ${spec.name} batch ${batch.id} failed at redshift-refresh@${replica}`],
      );
      assert.match(emails[0]!.text, /Error type: StatementFailed/);
      assert.match(emails[0]!.text, /division by zero/);
    },
  );
});
