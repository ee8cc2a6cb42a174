import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { DeleteObjectsInput, FailureNotice } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import { copyManifestKey, manifestKey } from '../../src/workflow-safe/layout';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import {
  MANIFEST,
  nonRetryable,
  PRIMARY,
  REPLICA,
  testInput,
  testSpec,
  useWorkflowTestBed,
  type ActivityName,
  type FakeOptions,
} from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

type Input = { region?: string; crawlerName?: string; source?: { bucket: string } };

interface FailureCase {
  step: string;
  activity: ActivityName;
  when: (input: Input) => boolean;
  type: string;
}

const CASES: FailureCase[] = [
  {
    step: 'stage-raw',
    activity: 'copyObjects',
    when: (i) => i.source?.bucket === 'landing',
    type: FailureType.NoSourceObjects,
  },
  {
    step: 'crawl-raw',
    activity: 'waitForCrawler',
    when: (i) => i.crawlerName === 'sales-raw',
    type: FailureType.CrawlFailed,
  },
  { step: 'transform', activity: 'waitForGlueJobRun', when: () => true, type: FailureType.GlueJobRunFailed },
  {
    step: 'replicate-curated',
    activity: 'copyObjects',
    when: (i) => i.source?.bucket === 'sales-curated-use1',
    type: 'AccessDenied',
  },
  {
    step: `crawl-curated@${REPLICA}`,
    activity: 'startCrawler',
    when: (i) => i.crawlerName === 'sales-curated-euw1',
    type: 'EntityNotFoundException',
  },
  {
    step: `redshift-refresh@${PRIMARY}`,
    activity: 'waitForStatement',
    when: (i) => i.region === PRIMARY,
    type: FailureType.StatementFailed,
  },
];

const failWhere = (c: FailureCase): FakeOptions => ({
  fail: {
    [c.activity]: (input: Input) => (c.when(input) ? nonRetryable(c.type, `fake ${c.type} in ${c.step}`) : undefined),
  },
});

/** The failure an activity raised, from the error the run failed with. */
function activityCause(error: unknown): ApplicationFailure {
  assert.ok(error instanceof WorkflowFailedError, `expected the run to fail, got ${String(error)}`);
  assert.ok(error.cause instanceof ActivityFailure, `expected an activity failure, got ${String(error.cause)}`);
  assert.ok(error.cause.cause instanceof ApplicationFailure);
  return error.cause.cause;
}

describe('csvPipeline, a failing step', () => {
  for (const c of CASES) {
    test(`a failure in ${c.step} sends one email and one webhook and fails the run with that step's cause`, async () => {
      const { error, called, progress } = await bed.runToEnd('csvPipeline', testInput(), failWhere(c));
      assert.equal(activityCause(error).type, c.type);
      assert.equal(activityCause(error).message, `fake ${c.type} in ${c.step}`);
      const emails = called('sendFailureEmail');
      assert.equal(emails.length, 1);
      assert.equal(called('postFailureWebhook').length, 1);
      const notice = emails[0]!.input as FailureNotice;
      assert.equal(notice.step, c.step);
      assert.deepEqual(notice.error, { type: c.type, message: `fake ${c.type} in ${c.step}` });
      assert.equal(progress?.steps.find((s) => s.step === c.step)?.status, 'failed');
      assert.equal(progress?.status, 'failed');
    });
  }

  test('the notice names the run, the region, the recipients and the AWS ids known so far', async () => {
    const input = testInput();
    const { called, handle } = await bed.runToEnd('csvPipeline', input, failWhere(CASES[5]!));
    const notice = called('sendFailureEmail')[0]!.input as FailureNotice;
    assert.equal(notice.pipeline, 'sales');
    assert.equal(notice.batchId, (input.batch as { id: string }).id);
    assert.equal(notice.region, PRIMARY);
    assert.equal(notice.workflowId, handle.workflowId);
    assert.equal(notice.workflowType, 'csvPipeline');
    assert.deepEqual(notice.email, { to: ['team@example.com'], from: 'glueline@example.com' });
    assert.deepEqual(notice.webhook, { url: 'https://hooks.example.com/glueline' });
    assert.match(notice.awsIds?.statementId ?? '', new RegExp(`^st-${PRIMARY}-`));
    assert.ok(Date.parse(notice.failedAt) >= Date.parse(notice.startedAt));
  });

  test('a failure that used every retry reports the attempt count of its profile', async () => {
    const { error, called } = await bed.runToEnd(
      'csvPipeline',
      testInput({ options: { startAt: 'replicate-curated' } }),
      {
        fail: { readManifestSummary: () => ApplicationFailure.retryable('slow down', 'ThrottlingException') },
      },
    );
    assert.equal(activityCause(error).type, 'ThrottlingException');
    assert.equal(called('readManifestSummary').length, 10);
    const notice = called('sendFailureEmail')[0]!.input as FailureNotice;
    assert.equal(notice.attempt, 10);
    assert.match(notice.step, /^replicate-curated$/);
  });

  test("an activity's own attempt number in the failure details reaches the notice, not Glue's attempt", async () => {
    const { called } = await bed.runToEnd('csvPipeline', testInput(), {
      fail: {
        waitForGlueJobRun: () =>
          ApplicationFailure.create({
            type: FailureType.GlueJobRunFailed,
            message: 'ended FAILED',
            nonRetryable: true,
            details: [{ jobRunId: 'jr_test_1', attempt: 0 }, { activityAttempt: 3 }],
          }),
      },
    });
    assert.equal((called('sendFailureEmail')[0]!.input as FailureNotice).attempt, 3);
  });

  test('the notice gives the attempt the activity failed on, from the failure the activity raised', async () => {
    const { error, called } = await bed.runToEnd(
      'csvPipeline',
      testInput({ options: { startAt: 'replicate-curated' } }),
      {
        replace: {
          readManifestSummary: async () => {
            // Throttled twice, then a failure no retry fixes: the run fails on attempt 3 of 10.
            if (Context.current().info.attempt < 3)
              throw ApplicationFailure.retryable('slow down', 'ThrottlingException');
            throw ApplicationFailure.nonRetryable('manifest is not JSON', FailureType.ManifestInvalid);
          },
        },
      },
    );
    assert.equal(activityCause(error).type, FailureType.ManifestInvalid);
    assert.deepEqual(activityCause(error).details, [{ activityAttempt: 3 }]);
    assert.equal(called('readManifestSummary').length, 3);
    assert.equal((called('sendFailureEmail')[0]!.input as FailureNotice).attempt, 3);
  });

  test('a failed replication deletes the unverified copy, manifests first', async () => {
    const input = testInput();
    const { called } = await bed.runToEnd('csvPipeline', input, failWhere(CASES[3]!));
    const deletes = called('deleteObjects').map((c) => c.input as DeleteObjectsInput);
    const spec = PipelineSpec.parse(input.spec);
    const batch = input.batch as { id: string } as never;
    // The replica's earlier manifests go before the copy; the clean-up of the failed copy comes last: its
    // manifests first, then the Parquet files the Glue manifest names (named by the manifest, not listed).
    assert.equal(deletes.length, 3);
    const [, manifests, data] = deletes;
    assert.equal(manifests!.bucket, 'sales-curated-euw1');
    assert.deepEqual(manifests!.keys, [manifestKey(spec, batch), copyManifestKey(spec, batch)]);
    assert.equal(data!.bucket, 'sales-curated-euw1');
    assert.equal(data!.keys, undefined);
    assert.equal(data!.manifestFiles?.key, manifestKey(spec, batch));
    assert.equal(data!.manifestFiles?.count, MANIFEST.outputFiles.length);
  });

  test('a Glue job that wrote nothing fails replicate-curated with NoSourceObjects and copies nothing', async () => {
    const { error, called, progress } = await bed.runToEnd('csvPipeline', testInput(), {
      manifest: { ...MANIFEST, rowsOut: 0, rowsRejected: 100, outputFiles: [] },
    });
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, FailureType.NoSourceObjects);
    assert.match(error.cause.message, /wrote no Parquet for batch/);
    assert.equal(called('copyObjects').length, 1, 'only stage-raw copied');
    assert.equal(progress?.steps.find((s) => s.step === 'replicate-curated')?.status, 'failed');
    assert.equal(called('sendFailureEmail').length, 1);
  });

  test('a failing email does not stop the webhook, and the run still fails with the step cause', async () => {
    const c = CASES[2]!;
    const { error, called, progress } = await bed.runToEnd('csvPipeline', testInput(), {
      fail: { ...failWhere(c).fail, sendFailureEmail: () => nonRetryable('EAUTH', 'smtp said no') },
    });
    assert.equal(activityCause(error).type, c.type);
    assert.equal(called('sendFailureEmail').length, 1);
    assert.equal(called('postFailureWebhook').length, 1);
    assert.deepEqual(progress?.notifications, { email: 'failed', webhook: 'sent' });
  });

  test('only the channels the spec configures are notified', async () => {
    const spec = testSpec({ notify: { webhook: { url: 'https://hooks.example.com/only' } } });
    const { called } = await bed.runToEnd('csvPipeline', testInput({ spec }), failWhere(CASES[0]!));
    assert.equal(called('sendFailureEmail').length, 0);
    assert.equal(called('postFailureWebhook').length, 1);
  });

  test('a failure in one region is notified at once, the other region still finishes, then the run fails', async () => {
    const { error, called, progress } = await bed.runToEnd('csvPipeline', testInput(), {
      // The replica's crawl goes on until the primary's failure was emailed.
      crawlUntil: {
        done: (i, calls) => i.crawlerName !== 'sales-curated-euw1' || calls.some((c) => c.name === 'sendFailureEmail'),
      },
      fail: {
        startCrawler: (i: Input) =>
          i.crawlerName === 'sales-curated-use1' ? nonRetryable('EntityNotFoundException') : undefined,
      },
    });
    assert.equal(activityCause(error).type, 'EntityNotFoundException');
    const status = (step: string) => progress?.steps.find((s) => s.step === step)?.status;
    assert.equal(status(`crawl-curated@${PRIMARY}`), 'failed');
    assert.equal(status(`redshift-refresh@${PRIMARY}`), 'pending');
    assert.equal(status(`redshift-refresh@${REPLICA}`), 'succeeded');
    const emails = called('sendFailureEmail');
    assert.equal(emails.length, 1);
    assert.equal((emails[0]!.input as FailureNotice).step, `crawl-curated@${PRIMARY}`);
    const replicaCrawl = called('waitForCrawler').find((c) => c.region === REPLICA)!;
    assert.ok(emails[0]!.startedAtMs < replicaCrawl.endedAtMs!, 'the email waited for the other region');
  });
});
