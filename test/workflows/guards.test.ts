/**
 * Issue 18's guards in the workflow, with fake activities: reconciliation per region after the refresh, and the
 * thresholds judged at stage-raw (files) and transform (rows), failing or warning. The end-to-end tests on the
 * local stack are in test/e2e/guards.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FailureNotice, StatementResult, WaitForStatementInput } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import type { PipelineSpecInput } from '../../src/workflow-safe/spec';
import {
  MANIFEST,
  PRIMARY,
  REPLICA,
  testInput,
  testSpec,
  useWorkflowTestBed,
} from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

/** A waitForStatement whose reconciliation counts (fetchResults) are `counts[region]`. */
function countingWait(counts: Record<string, number>) {
  return async (input: WaitForStatementInput): Promise<StatementResult> => ({
    statementId: input.statementId,
    status: 'FINISHED',
    subStatements: [],
    polls: 1,
    ...(input.fetchResults ? { columns: ['count'], rows: [[String(counts[input.region])]] } : {}),
  });
}

const reconciled: PipelineSpecInput['redshift'] = {
  sql: ["delete from sales where batch_id = '${batch_id}'", 'call load_sales(${copy_manifest_uri})'],
};

describe('reconciliation', () => {
  test('a region whose target holds another count than rowsOut fails with both numbers and the SQL, notified once', async () => {
    const input = testInput({ spec: testSpec({ redshift: reconciled }) });
    const { error, progress, called } = await bed.runToEnd('csvPipeline', input, {
      replace: { waitForStatement: countingWait({ [PRIMARY]: MANIFEST.rowsOut, [REPLICA]: MANIFEST.rowsOut - 2 }) },
    });
    assert.ok(error instanceof WorkflowFailedError, String(error));
    const cause = error.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, FailureType.ReconciliationMismatch);
    const sql = `select count(*) from sales where batch_id = '${input.batch.id}'`;
    assert.match(cause.message, new RegExp(`holds ${MANIFEST.rowsOut - 2} row\\(s\\).*rowsOut ${MANIFEST.rowsOut}`));
    assert.ok(cause.message.includes(sql), cause.message);
    const step = (s: string) => progress!.steps.find((p) => p.step === s)!;
    assert.equal(step(`redshift-refresh@${PRIMARY}`).status, 'succeeded');
    assert.equal(step(`redshift-refresh@${REPLICA}`).status, 'failed');
    assert.deepEqual(step(`redshift-refresh@${REPLICA}`).reconciliation, {
      expectedRows: MANIFEST.rowsOut,
      actualRows: MANIFEST.rowsOut - 2,
      matched: false,
      sql,
      statementId: step(`redshift-refresh@${REPLICA}`).reconciliation!.statementId,
    });
    assert.equal(step(`redshift-refresh@${PRIMARY}`).reconciliation?.matched, true);
    const emails = called('sendFailureEmail').map((c) => c.input as FailureNotice);
    assert.deepEqual(
      emails.map((n) => [n.kind, n.step, n.error.type]),
      [[undefined, `redshift-refresh@${REPLICA}`, FailureType.ReconciliationMismatch]],
    );
    // The counts ran after each refresh, as single statements of their own.
    const counts = called('executeStatements').filter((c) => (c.input as { sqls: string[] }).sqls[0] === sql);
    assert.equal(counts.length, 2);
  });

  test('reconcile: false, or a spec whose refresh names no batch delete, counts nothing', async () => {
    for (const redshift of [{ ...reconciled, reconcile: false as const }, testSpec().redshift]) {
      const { result, called } = await bed.runToEnd('csvPipeline', testInput({ spec: testSpec({ redshift }) }));
      assert.equal(result?.status, 'succeeded');
      assert.equal(called('executeStatements').length, 2);
      assert.ok(result.steps.every((s) => s.reconciliation === undefined));
    }
  });

  test("the spec's own SQL, with its variables filled in, is run and compared", async () => {
    const spec = testSpec({
      redshift: {
        ...testSpec().redshift!,
        reconcile: { sql: "select n from c where b = '${batch_id}' and r = '${region}'" },
      },
    });
    const input = testInput({ spec });
    const { result } = await bed.runToEnd('csvPipeline', input, {
      replace: { waitForStatement: countingWait({ [PRIMARY]: MANIFEST.rowsOut, [REPLICA]: MANIFEST.rowsOut }) },
    });
    assert.equal(result?.status, 'succeeded');
    const replica = result.steps.find((s) => s.step === `redshift-refresh@${REPLICA}`)!;
    assert.equal(replica.reconciliation?.sql, `select n from c where b = '${input.batch.id}' and r = '${REPLICA}'`);
  });
});

describe('thresholds', () => {
  // MANIFEST: 100 rows in, 3 rejected.
  const withRatio = (action: 'fail' | 'warn') =>
    testInput({ spec: testSpec({ thresholds: { maxRejectedRatio: { value: 0.01, action } } }) });

  test('a fail limit crossed at transform fails it non-retryably, naming the limit, the value and the fix', async () => {
    const { error, progress, called } = await bed.runToEnd('csvPipeline', withRatio('fail'));
    assert.ok(error instanceof WorkflowFailedError, String(error));
    const cause = error.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, FailureType.ThresholdExceeded);
    assert.equal(cause.nonRetryable, true);
    assert.match(
      cause.message,
      /maxRejectedRatio: 0\.03 of the batch's rows were rejected \(3 of 100\), over the limit of 0\.01/,
    );
    assert.match(cause.message, /quarantine\/batch_id=/);
    assert.equal(progress?.steps.find((s) => s.step === 'transform')?.status, 'failed');
    assert.equal(called('copyObjects').length, 1, 'replicate-curated never ran');
    assert.deepEqual(
      called('sendFailureEmail').map((c) => (c.input as FailureNotice).kind),
      [undefined],
    );
  });

  test('a warn limit sends one warning notification on each channel, and the run completes', async () => {
    const { result, called } = await bed.runToEnd('csvPipeline', withRatio('warn'));
    assert.equal(result?.status, 'succeeded');
    assert.deepEqual(
      result.warnings?.map((w) => [w.step, w.limit, w.value, w.threshold]),
      [['transform', 'maxRejectedRatio', 0.03, 0.01]],
    );
    for (const channel of ['sendFailureEmail', 'postFailureWebhook'] as const) {
      const notices = called(channel).map((c) => c.input as FailureNotice);
      assert.deepEqual(
        notices.map((n) => [n.kind, n.step, n.error.type]),
        [['warning', 'transform', 'ThresholdWarning']],
      );
    }
    assert.deepEqual(result.warningNotifications, { email: 'sent', webhook: 'sent' });
  });

  test('file limits are judged at stage-raw, on the CSVs staged', async () => {
    const spec = testSpec({ thresholds: { minFiles: { value: 3 }, maxFiles: { value: 10, action: 'warn' } } });
    const { error, called } = await bed.runToEnd('csvPipeline', testInput({ spec }));
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, FailureType.ThresholdExceeded);
    assert.match(
      error.cause.message,
      /minFiles: the batch has 2 file\(s\), under the limit of 3: check the CSVs under s3:\/\/landing\/in\/2026\//,
    );
    assert.equal(called('startGlueJobRun').length, 0);
  });
});
