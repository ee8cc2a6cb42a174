/**
 * Issue 22: cancelling a run while both regions' refresh statements run, on the real stack. The refresh SQL of
 * this spec inserts the batch's row and then sleeps about 10 s in Postgres (the local Redshift), so the cancel
 * reaches each statement while it is STARTED. Each must be CancelStatement-ed and end ABORTED, its transaction
 * rolled back (no row of the batch), the run Cancelled, and exactly one notice sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { CANCEL_STEP_TIMEOUT_MS, CancelTestWorker, type CancelledRun } from '../../devstack/testkit/cancel-run';
import { GatewayControl, type RequestCounts } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { provisionQuietly, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

/** One-second sleeps: the local Redshift checks for a cancel between statements. */
const SLEEP_STATEMENTS = 10;

/** Runs one statement in a region and waits for it to end; returns its rows (values as strings). */
async function query(spec: PipelineSpec, region: string, sql: string): Promise<string[][]> {
  const target = spec.regions.find((r) => r.region === region)!.redshift!;
  const client = new RedshiftDataClient(awsClientConfig(region));
  try {
    const { Id } = await client.send(
      new ExecuteStatementCommand({ WorkgroupName: target.workgroupName, Database: target.database, Sql: sql }),
    );
    const done = await pollUntil(
      () => client.send(new DescribeStatementCommand({ Id })),
      (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status ?? ''),
      { timeoutMs: 60_000 },
    );
    assert.equal(done.Status, 'FINISHED', `${sql}: ${done.Error}`);
    if (!done.HasResultSet) return [];
    const page = await client.send(new GetStatementResultCommand({ Id }));
    return (page.Records ?? []).map((r) => r.map((f) => String(f.stringValue ?? f.longValue ?? '')));
  } finally {
    client.destroy();
  }
}

async function statementStatus(region: string, id: string): Promise<string | undefined> {
  const client = new RedshiftDataClient(awsClientConfig(region));
  try {
    return (await client.send(new DescribeStatementCommand({ Id: id }))).Status;
  } finally {
    client.destroy();
  }
}

describe('cancelling csvPipeline while both regions refresh Redshift, end to end', () => {
  const gateway = new GatewayControl();
  const worker = new CancelTestWorker();
  let spec: PipelineSpec;
  let batch: Batch;
  let run: CancelledRun;
  let statements: { region: string; id: string }[];
  let counts: RequestCounts;

  before(
    async () => {
      const base = uniqueSalesSpec();
      batch = { id: unique('cancel-sql'), source: { bucket: base.regions[0]!.rawBucket, prefix: 'landing/none/' } };
      spec = {
        ...base,
        redshift: {
          sql: [
            "delete from glueline_cancel where batch_id = '${batch_id}'",
            "insert into glueline_cancel values ('${batch_id}', '${region}')",
            ...Array.from({ length: SLEEP_STATEMENTS }, () => 'select pg_sleep(1)'),
          ],
        },
      };
      await provisionQuietly(spec);
      // The table exists before the run, so a rolled-back refresh leaves it empty rather than absent.
      for (const r of spec.regions) {
        await query(spec, r.region, 'create table glueline_cancel (batch_id varchar(63), region varchar(32))');
      }
      await worker.start();
      run = await worker.cancelWhen({
        spec,
        batch,
        runOptions: { startAt: 'redshift-refresh' },
        waitActivity: 'waitForStatement',
        count: spec.regions.length,
        ready: (p) => {
          const refreshes = p.steps.filter((s) => s.name === 'redshift-refresh');
          return refreshes.every((s) => s.status === 'running' && (s.awsIds.statementIds?.length ?? 0) > 0);
        },
        // Both statements run (the local Redshift runs one region's statement at a time, in turns).
        readyInAws: async (p) => {
          const statuses = await Promise.all(statementIdsOf(p)!.map(({ region, id }) => statementStatus(region, id)));
          return statuses.every((s) => s === 'STARTED');
        },
      });
      statements = statementIdsOf(run.progressAtCancel)!;
      counts = await gateway.counts(spec.regions[0]!.redshift!.workgroupName!);
    },
    { timeout: 2 * CANCEL_STEP_TIMEOUT_MS },
  );

  after(() => worker.stop());

  function statementIdsOf(progress: CancelledRun['progressAtCancel'] | undefined) {
    return progress?.steps
      .filter((s) => s.name === 'redshift-refresh')
      .map((s) => ({ region: s.region!, id: s.awsIds.statementIds![0]! }));
  }

  test('the run closed as cancelled, with the cancellation as its cause', async () => {
    assert.ok(run.error instanceof WorkflowFailedError, `expected the run to be cancelled, got ${String(run.error)}`);
    const cause = run.error.cause instanceof ActivityFailure ? run.error.cause.cause : run.error.cause;
    assert.ok(cause instanceof CancelledFailure, `expected the cancellation as the cause, got ${String(cause)}`);
    assert.equal((await run.handle.describe()).status.name, 'CANCELLED');
  });

  test('each region got one CancelStatement and its statement ended ABORTED', async () => {
    assert.equal(counts['redshift-data:CancelStatement']?.count, spec.regions.length, JSON.stringify(counts));
    for (const { region, id } of statements) assert.equal(await statementStatus(region, id), 'ABORTED', region);
  });

  test("each refresh's transaction was rolled back: no row of the batch in either region", async () => {
    for (const r of spec.regions) {
      const rows = await query(spec, r.region, `select count(*) from glueline_cancel where batch_id = '${batch.id}'`);
      assert.deepEqual(rows, [['0']], r.region);
    }
  });

  test('exactly one failure email arrived, naming redshift-refresh and the cancellation', () => {
    assert.equal(run.emails.length, 1, run.emails.map((m) => m.subject).join('\n'));
    assert.match(run.emails[0]!.subject, /failed at redshift-refresh@/);
    assert.match(run.emails[0]!.text, /Cancelled/);
  });
});
