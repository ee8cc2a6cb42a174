/**
 * Issue 22: cancelling a run while both regions' curated crawls run, on the real stack. The gateway keeps each
 * crawl RUNNING until StopCrawler. The cancel must reach each crawl (one StopCrawler per crawler, the crawl ends
 * CANCELLED), close the run as Cancelled without starting the refresh, and send exactly one notice. The waits
 * poll once a minute, so the cancel finds them sleeping between polls, as most waits on AWS are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetCrawlerCommand, GlueClient } from '@aws-sdk/client-glue';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import {
  CANCEL_STEP_TIMEOUT_MS,
  CancelTestWorker,
  scheduledActivities,
  type CancelledRun,
} from '../../devstack/testkit/cancel-run';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { provisionQuietly, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

describe('cancelling csvPipeline while both regions crawl, end to end', () => {
  const gateway = new GatewayControl();
  const worker = new CancelTestWorker();
  let spec: PipelineSpec;
  let batch: Batch;
  let run: CancelledRun;

  before(
    async () => {
      const base = uniqueSalesSpec();
      const onceAMinute = { initialIntervalMs: 60_000, maxIntervalMs: 60_000, backoffCoefficient: 1 };
      spec = { ...base, polling: { ...base.polling, crawler: onceAMinute } };
      batch = { id: unique('cancel-crawl'), source: { bucket: spec.regions[0]!.rawBucket, prefix: 'landing/none/' } };
      await provisionQuietly(spec);
      for (const r of spec.regions) await gateway.scriptCrawls(r.curatedCrawler, [{ status: 'RUNNING' }], r.region);
      await worker.start();
      run = await worker.cancelWhen({
        spec,
        batch,
        runOptions: { startAt: 'crawl-curated' },
        waitActivity: 'waitForCrawler',
        count: spec.regions.length,
        ready: (p) => p.steps.filter((s) => s.name === 'crawl-curated').every((s) => s.status === 'running'),
        // Each wait has looked at its crawl at least once: it is the one the cancel reaches.
        readyInAws: async () => {
          const looks = await Promise.all(
            spec.regions.map(async (r) => (await gateway.counts(r.curatedCrawler))['glue:GetCrawler']?.count ?? 0),
          );
          return looks.every((n) => n >= 1);
        },
      });
    },
    { timeout: 2 * CANCEL_STEP_TIMEOUT_MS },
  );

  after(() => worker.stop());

  test('the run closed as cancelled, with the cancellation as its cause', async () => {
    assert.ok(run.error instanceof WorkflowFailedError, `expected the run to be cancelled, got ${String(run.error)}`);
    const cause = run.error.cause instanceof ActivityFailure ? run.error.cause.cause : run.error.cause;
    assert.ok(cause instanceof CancelledFailure, `expected the cancellation as the cause, got ${String(cause)}`);
    assert.equal((await run.handle.describe()).status.name, 'CANCELLED');
  });

  test('each crawl got one StopCrawler and ended CANCELLED', async () => {
    for (const r of spec.regions) {
      const counts = await gateway.counts(r.curatedCrawler);
      assert.equal(counts['glue:StopCrawler']?.count, 1, `${r.region}: ${JSON.stringify(counts)}`);
      const glue = new GlueClient(awsClientConfig(r.region));
      try {
        // STOPPING for a moment, then READY with the crawl's outcome.
        const crawler = await pollUntil(
          async () => (await glue.send(new GetCrawlerCommand({ Name: r.curatedCrawler }))).Crawler,
          (c) => c?.State === 'READY',
        );
        assert.equal(crawler?.LastCrawl?.Status, 'CANCELLED', r.region);
      } finally {
        glue.destroy();
      }
    }
  });

  test('the refresh never started', async () => {
    assert.ok(!(await scheduledActivities(run.handle)).includes('executeStatements'));
  });

  test('exactly one failure email arrived, naming crawl-curated and the cancellation', () => {
    assert.equal(run.emails.length, 1, run.emails.map((m) => m.subject).join('\n'));
    assert.match(run.emails[0]!.subject, /failed at crawl-curated@/);
    assert.match(run.emails[0]!.text, /Cancelled/);
  });
});
