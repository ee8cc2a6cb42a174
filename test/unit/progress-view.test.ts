import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PipelineResult } from '../../src/workflow-safe/pipeline';
import { formatBytes, formatDuration, formatProgressLines, formatSummary } from '../../src/starters/progress-view';

const result: PipelineResult = {
  workflowType: 'csvPipeline',
  pipeline: 'sales',
  batchId: 'b1',
  workflowId: 'csv-pipeline-sales-b1',
  runId: 'r1',
  status: 'succeeded',
  startedAt: '2026-11-26T10:00:00.000Z',
  endedAt: '2026-11-26T10:07:30.000Z',
  durationMs: 450_000,
  steps: [
    {
      step: 'stage-raw',
      name: 'stage-raw',
      status: 'succeeded',
      startedAt: '2026-11-26T10:00:00.000Z',
      durationMs: 1200,
      awsIds: {},
      counts: { objects: 2, bytes: 2048 },
    },
    {
      step: 'transform',
      name: 'transform',
      status: 'running',
      startedAt: '2026-11-26T10:00:01.000Z',
      awsIds: { jobRunId: 'jr_1' },
      counts: {},
    },
    {
      step: 'redshift-refresh@eu-west-1',
      name: 'redshift-refresh',
      region: 'eu-west-1',
      status: 'skipped',
      skipReason: 'region eu-west-1 has no redshift target',
      awsIds: {},
      counts: {},
    },
  ],
  totals: {
    rawObjects: 2,
    rawBytes: 2048,
    curatedObjects: 1,
    curatedBytes: 1500,
    rowsIn: 10,
    rowsOut: 9,
    rowsRejected: 1,
  },
};

describe('the progress view', () => {
  test('bytes and durations read as people write them', () => {
    assert.deepEqual([formatBytes(12), formatBytes(1500), formatBytes(3_200_000)], ['12 B', '1.5 kB', '3.2 MB']);
    assert.deepEqual(
      [formatDuration(850), formatDuration(12_300), formatDuration(245_000), formatDuration(5 * 3_600_000 + 120_000)],
      ['850ms', '12.3s', '4m05s', '5h02m'],
    );
  });

  test('a running step counts its time up to now and shows its job run id', () => {
    const lines = formatProgressLines(result, Date.parse('2026-11-26T10:01:01.000Z'));
    assert.equal(lines[1], '… transform                   running      1m00s  job run jr_1');
  });

  test('a crawl step names its crawler and the crawl it joined', () => {
    const crawling: PipelineResult = {
      ...result,
      steps: [
        {
          step: 'crawl-raw',
          name: 'crawl-raw',
          status: 'running',
          awsIds: { crawlerName: 'sales-raw' },
          counts: {},
          crawl: { how: 'joined', crawlId: '3f2a9c1e-0000-4000-8000-000000000000', reason: 'covers the batch' },
        },
      ],
    };
    assert.match(formatProgressLines(crawling)[0]!, /crawler sales-raw \(joined crawl 3f2a9c1e\)$/);
  });

  test('a skipped step says why', () => {
    assert.match(formatProgressLines(result)[2]!, /skipped .*\(region eu-west-1 has no redshift target\)$/);
  });

  test('the summary gives files, rows, bytes and time per step', () => {
    const summary = formatSummary(result);
    assert.deepEqual(summary.slice(0, 4), [
      'csvPipeline csv-pipeline-sales-b1 succeeded in 7m30s',
      'files in:   2 CSV, 2.0 kB',
      'files out:  1 Parquet, 1.5 kB (per region)',
      'rows:       10 in, 9 out, 1 rejected',
    ]);
    assert.deepEqual(summary.slice(4), ['time per step:', '  stage-raw     1.2s']);
  });

  test('the summary and the transform step say where the rejected rows are, and what the transform dropped', () => {
    const quarantineUri = 's3://cur/quarantine/batch_id=b1/';
    const done = {
      ...result,
      steps: result.steps.map((s) =>
        s.step === 'transform'
          ? {
              ...s,
              status: 'succeeded' as const,
              durationMs: 60_000,
              awsIds: { jobRunId: 'jr_1', quarantineUri },
              counts: { rowsIn: 10, rowsOut: 7, rowsRejected: 1, rowsDropped: 2 },
            }
          : s,
      ),
      totals: { ...result.totals, rowsOut: 7, rowsDropped: 2, quarantineUri },
    };
    assert.deepEqual(formatSummary(done).slice(3, 5), [
      'rows:       10 in, 7 out, 1 rejected, 2 dropped by the transform',
      `rejected:   ${quarantineUri} (glueline rejects prints them)`,
    ]);
    assert.match(
      formatProgressLines(done)[1]!,
      / 10 rows in, 7 out, 1 rejected, 2 dropped by the transform; rejected rows in s3:\/\/cur\/quarantine\/batch_id=b1\/; job run jr_1$/,
    );
  });
});
