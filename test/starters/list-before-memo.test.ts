/**
 * `glueline list` of a completed run that has no outcome memo: the runs completed before the `outcome-memo` patch
 * (test/histories/success-before-transform-manifest-summary.json is one). Such a run is made on the test stack's
 * Temporal by a workflow that does what those workers did as far as `list` sees (test/fixtures/pre-memo-workflows.ts):
 * the search attributes and memo that recorded run started and upserted, its recorded result, no outcome memo. With
 * no worker left polling, `list` can take the rows only from that result.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NativeConnection, Worker } from '@temporalio/worker';
import { glueline, useCliEnv } from '../../devstack/testkit/cli';
import { pollUntil } from '../../devstack/testkit/poll';
import { stack, stackClient, unique } from '../../devstack/testkit/stack';
import type { ListedRun } from '../../src/starters/list';
import { OUTCOME_MEMO_KEY, SearchAttributeKeys, type PipelineResult } from '../../src/workflow-safe/pipeline';
import type { ConnectedClient } from '../../src/temporal/connection';
import type { RecordedRun } from '../fixtures/pre-memo-workflows';

interface Payload {
  metadata: Record<string, string>;
  data: string;
}
interface HistoryEvent {
  eventType: string;
  markerRecordedEventAttributes?: { details?: Record<string, { payloads: Payload[] }> };
  workflowPropertiesModifiedEventAttributes?: { upsertedMemo: { fields: Record<string, Payload> } };
  workflowExecutionCompletedEventAttributes?: { result: { payloads: Payload[] } };
}

/** A json/plain payload's value. */
const value = (p: Payload): unknown => JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));

const history = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'histories', 'success-before-transform-manifest-summary.json'), 'utf8'),
) as {
  events: HistoryEvent[];
};

describe('list of a run completed before the outcome-memo patch', () => {
  const pipeline = unique('pre-memo');
  const taskQueue = unique('pre-memo');
  const batchId = 'before-memo';
  let connected: ConnectedClient;
  let restoreEnv: () => void;
  let recorded: RecordedRun;

  before(async () => {
    const patches = history.events.flatMap((e) =>
      Object.values(e.markerRecordedEventAttributes?.details ?? {}).map((d) => JSON.stringify(value(d.payloads[0]!))),
    );
    assert.ok(patches.length > 0, 'the history records its patch markers');
    assert.ok(!patches.some((p) => p.includes('outcome-memo')), 'the history is from before the outcome-memo patch');
    const upserted = history.events.flatMap((e) =>
      Object.entries(e.workflowPropertiesModifiedEventAttributes?.upsertedMemo.fields ?? {}),
    );
    assert.ok(!upserted.some(([key]) => key === OUTCOME_MEMO_KEY), 'and it set no outcome memo');
    const completed = history.events.find((e) => e.workflowExecutionCompletedEventAttributes)!;
    const result = value(completed.workflowExecutionCompletedEventAttributes!.result.payloads[0]!) as PipelineResult;
    recorded = {
      upsertedMemo: Object.fromEntries(upserted.map(([key, p]) => [key, key === 'pipeline' ? pipeline : value(p)])),
      result: { ...result, pipeline, batchId },
    };

    connected = await stackClient();
    const connection = await NativeConnection.connect({ address: stack().temporal.address });
    try {
      const worker = await Worker.create({
        connection,
        namespace: stack().temporal.namespace,
        taskQueue,
        workflowsPath: require.resolve('../fixtures/pre-memo-workflows'),
      });
      await worker.runUntil(
        connected.client.workflow.execute('csvPipeline', {
          taskQueue,
          workflowId: `csv-pipeline-${pipeline}-${batchId}`,
          args: [recorded],
          memo: { pipeline, batchId },
          typedSearchAttributes: [
            { key: SearchAttributeKeys.pipeline, value: pipeline },
            { key: SearchAttributeKeys.batch, value: batchId },
          ],
        }),
      );
    } finally {
      await connection.close();
    }
    restoreEnv = useCliEnv(taskQueue);
  });

  after(async () => {
    restoreEnv?.();
    await connected?.connection.close();
  });

  test("list --json takes its rows from the run's result, with no worker polling", async () => {
    const run = await pollUntil(
      async () => {
        const { code, stdout } = await glueline('list', '--pipeline', pipeline, '--json');
        assert.equal(code, 0);
        return (JSON.parse(stdout) as { runs: ListedRun[] }).runs[0];
      },
      (r) => r?.status === 'COMPLETED',
    );
    const { memo } = await connected.client.workflow.getHandle(run!.workflowId).describe();
    assert.equal(memo?.[OUTCOME_MEMO_KEY], undefined, 'the run has no outcome memo');
    const { totals } = recorded.result;
    assert.equal(typeof totals.rowsIn, 'number', 'the recorded result has row totals');
    assert.deepEqual(
      {
        figuresFrom: run!.figuresFrom,
        figuresNote: run!.figuresNote,
        rowsIn: run!.rowsIn,
        rowsOut: run!.rowsOut,
        rowsRejected: run!.rowsRejected,
        failedStep: run!.failedStep,
        batchId: run!.batchId,
      },
      {
        figuresFrom: 'result',
        figuresNote: null,
        rowsIn: totals.rowsIn,
        rowsOut: totals.rowsOut,
        rowsRejected: totals.rowsRejected,
        failedStep: null,
        batchId,
      },
    );
  });

  test('the table shows the same rows and no note', async () => {
    const { code, stdout } = await glueline('list', '--pipeline', pipeline);
    assert.equal(code, 0);
    const { totals } = recorded.result;
    assert.match(
      stdout,
      new RegExp(`\\| ${batchId} +\\| COMPLETED .*\\| ${totals.rowsIn}/${totals.rowsOut}/${totals.rowsRejected} `),
    );
    assert.doesNotMatch(stdout, /without rows or failed step/);
  });
});
