/**
 * The freshness watch (issue 18) on the time-skipping test server, with a fake checkFreshness that plays the
 * pipeline's runs: a missed window sends one `freshness-missed` notice naming the last good batch, the rechecks
 * while it is missed send nothing more, a late batch sends one `freshness-back` notice, and the next window is
 * fresh. A failed run and a run still going are named in the notice. A watch that starts inside a window of a
 * pipeline with no run yet leaves that window unjudged, and judges the next, which it watched whole. The real stack's test: test/e2e/freshness.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type {
  CheckFreshnessInput,
  FreshnessFindings,
  FreshnessState,
  GoodBatch,
} from '../../src/workflow-safe/freshness';
import {
  FRESHNESS_CONFIGURE_SIGNAL,
  FRESHNESS_FIRST_WINDOW_PATCH,
  FRESHNESS_MEMO,
  FRESHNESS_MEMO_PATCH,
  FRESHNESS_QUERY,
  freshnessWatchInput,
  nextDeadline,
} from '../../src/workflow-safe/freshness';
import type { FailureNotice } from '../../src/workflow-safe/activity-types';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { fakeActivities, testSpec, useWorkflowTestBed, type Call } from '../../devstack/testkit/workflow-harness';
import { pollUntil } from '../../devstack/testkit/poll';
import { unique } from '../../devstack/testkit/stack';

const bed = useWorkflowTestBed();

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The pipeline's runs as the fake check sees them. */
interface PlayedRuns {
  completed: GoodBatch[];
  failed: NonNullable<FreshnessFindings['failed']>[];
  running: NonNullable<FreshnessFindings['running']>[];
}

/** A checkFreshness that answers from `runs`, as the real one answers from Temporal's visibility. */
function playedCheck(runs: PlayedRuns) {
  return async ({ from, to }: CheckFreshnessInput): Promise<FreshnessFindings> => {
    const within = (at: string) => at >= from && at <= to;
    const completed = runs.completed.filter((b) => within(b.completedAt)).at(-1);
    const failed = runs.failed.filter((f) => within(f.closedAt)).at(-1);
    const lastGood = runs.completed.filter((b) => b.completedAt <= to).at(-1);
    const running = runs.running.at(-1);
    return {
      ...(completed ? { completed } : {}),
      ...(failed ? { failed } : {}),
      ...(running ? { running } : {}),
      ...(lastGood ? { lastGood } : {}),
    };
  };
}

const notices = (calls: Call[]) =>
  calls.filter((c) => c.name === 'sendFailureEmail').map((c) => c.input as FailureNotice);

/** Starts the watch (every hour) with `runs` played by its check; runs `body` while its worker runs. */
async function withWatch(
  runs: PlayedRuns,
  body: (handle: WorkflowHandle, calls: Call[], firstDeadline: number) => Promise<void>,
): Promise<void> {
  const fakes = fakeActivities({ replace: { checkFreshness: playedCheck(runs) } });
  const { worker, taskQueue } = await bed.worker(fakes);
  const spec = PipelineSpec.parse(testSpec({ freshness: { every: '1h' } }));
  const input = freshnessWatchInput(spec)!;
  await worker.runUntil(async () => {
    const handle = await bed.env.client.workflow.start('freshnessWatch', {
      taskQueue,
      workflowId: unique('freshness-watch'),
      args: [input],
    });
    const state = await pollUntil(
      () => handle.query<FreshnessState>(FRESHNESS_QUERY).catch(() => undefined),
      (s) => s !== undefined,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await body(handle, fakes.calls, Date.parse(state!.nextDeadline));
    await handle.signal(FRESHNESS_CONFIGURE_SIGNAL, null);
    const stopped = (await handle.result()) as FreshnessState;
    assert.equal(stopped.pipeline, spec.name);
  });
}

/** Moves the test server's clock to `at` (firing the timers on the way). */
async function skipTo(at: number): Promise<void> {
  const now = await bed.env.currentTimeMs();
  if (at > now) await bed.env.sleep(at - now);
}

/** Waits (real time) until the watch has sent `count` notices, then returns them. */
async function noticesWhen(calls: Call[], count: number): Promise<FailureNotice[]> {
  await pollUntil(
    async () => notices(calls).length,
    (n) => n >= count,
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return notices(calls);
}

const stateOf = (handle: WorkflowHandle) => handle.query<FreshnessState>(FRESHNESS_QUERY);

/** Waits (real time) until the watch's memo holds a state that `ok` accepts, then returns it. */
async function memoWhen(handle: WorkflowHandle, ok: (state: FreshnessState) => boolean): Promise<FreshnessState> {
  const memo = await pollUntil(
    async () => (await handle.describe()).memo?.[FRESHNESS_MEMO] as FreshnessState | undefined,
    (m) => m !== undefined && ok(m),
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return memo!;
}

describe('freshness watch', () => {
  test('a missed window sends one no-data notice naming the last good batch; a late batch one data-back notice', async () => {
    const start = await bed.env.currentTimeMs();
    const good: GoodBatch = {
      batchId: 'b-good',
      workflowId: 'csv-pipeline-sales-b-good',
      completedAt: iso(start - 2 * HOUR),
    };
    const runs: PlayedRuns = { completed: [good], failed: [], running: [] };
    await withWatch(runs, async (handle, calls, d1) => {
      assert.equal(d1, nextDeadline({ every: '1h', timeZone: 'UTC' }, start));
      // The window ending at d1 holds no batch: one notice, sent when the deadline passes.
      await skipTo(d1 + 1000);
      const [missed] = await noticesWhen(calls, 1);
      assert.equal(missed!.kind, 'freshness-missed');
      assert.equal(missed!.batchId, 'b-good');
      assert.equal(missed!.step, `freshness@${iso(d1)}`);
      assert.equal(missed!.error.type, 'NoBatchStarted');
      assert.match(missed!.error.message, /no run started; the last good batch is b-good/);
      assert.equal(calls.filter((c) => c.name === 'postFailureWebhook').length, 1);
      const state = await stateOf(handle);
      assert.equal(state.status, 'missed');
      assert.deepEqual(
        state.missed.map((m) => [m.start, m.end, m.found]),
        [[iso(d1 - HOUR), iso(d1), 'no-run']],
      );
      assert.equal(state.lastGood?.batchId, 'b-good');
      // The same state in the memo, for health when no worker answers (the run after the deadline writes it).
      const missedMemo = await memoWhen(handle, (m) => m.status === 'missed');
      assert.deepEqual(missedMemo.missed, state.missed);
      assert.equal(missedMemo.nextDeadline, iso(d1 + HOUR));
      // 40 minutes on: the watch looked again (every 15 minutes) and told nobody twice.
      await skipTo(d1 + 40 * 60_000);
      await pollUntil(
        async () => calls.filter((c) => c.name === 'checkFreshness').length,
        (n) => n >= 3,
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      assert.equal(notices(calls).length, 1);
      // A late batch: the next look finds it and says so, once.
      const late: GoodBatch = {
        batchId: 'b-late',
        workflowId: 'csv-pipeline-sales-b-late',
        completedAt: iso(d1 + 41 * 60_000),
      };
      runs.completed.push(late);
      await skipTo(d1 + 56 * 60_000);
      const [, back] = await noticesWhen(calls, 2);
      assert.equal(back!.kind, 'freshness-back');
      assert.equal(back!.batchId, 'b-late');
      assert.equal(back!.step, `freshness-back@${iso(d1)}`);
      assert.match(back!.error.message, /data is back: batch b-late .* after 1 missed window/);
      const fresh = await stateOf(handle);
      assert.equal(fresh.status, 'fresh');
      assert.deepEqual(fresh.missed, []);
      assert.equal(fresh.lastGood?.batchId, 'b-late');
      assert.equal((await memoWhen(handle, (m) => m.status === 'fresh')).lastGood?.batchId, 'b-late');
      // The next window holds the late batch: fresh, nothing sent.
      await skipTo(d1 + HOUR + 1000);
      await pollUntil(
        () => stateOf(handle),
        (s) => s.nextDeadline === iso(d1 + 2 * HOUR),
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      assert.equal(notices(calls).length, 2);
      assert.equal((await stateOf(handle)).status, 'fresh');
    });
  });

  test('a window whose run failed names the run and its step; one still going is named as going', async () => {
    const start = await bed.env.currentTimeMs();
    const runs: PlayedRuns = { completed: [], failed: [], running: [] };
    await withWatch(runs, async (handle, calls, d1) => {
      runs.failed.push({
        batchId: 'b-bad',
        workflowId: 'csv-pipeline-sales-b-bad',
        status: 'FAILED',
        failedStep: 'redshift-refresh@eu-west-1',
        closedAt: iso(Math.max(start, d1 - 30 * 60_000)),
      });
      await skipTo(d1 + 1000);
      const [failed] = await noticesWhen(calls, 1);
      assert.equal(failed!.error.type, 'BatchFailed');
      assert.equal(failed!.batchId, 'none');
      assert.match(
        failed!.error.message,
        /a run failed, batch b-bad .* at redshift-refresh@eu-west-1; the pipeline has no completed batch yet/,
      );
      assert.match(failed!.error.message, /glueline redrive csv-pipeline-sales-b-bad --from redshift-refresh/);
      runs.running.push({ batchId: 'b-slow', workflowId: 'csv-pipeline-sales-b-slow', startedAt: iso(d1 + 5000) });
      await skipTo(d1 + HOUR + 1000);
      const [, going] = await noticesWhen(calls, 2);
      assert.equal(going!.error.type, 'BatchStillRunning');
      assert.equal(going!.step, `freshness@${iso(d1 + HOUR)}`);
      assert.match(going!.error.message, /a run is still going, batch b-slow/);
      assert.equal((await stateOf(handle)).missed.length, 2);
    });
  });

  test('the first window of a pipeline with no run yet is not judged (the watch started inside it); the next one is', async () => {
    const runs: PlayedRuns = { completed: [], failed: [], running: [] };
    await withWatch(runs, async (handle, calls, d1) => {
      const firstRun = (await handle.describe()).runId;
      await skipTo(d1 + 1000);
      // The first deadline passed and was checked: the watch moved on to the next, and told nobody.
      const after1 = await pollUntil(
        () => stateOf(handle),
        (s) => s.lastDeadline === iso(d1),
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      assert.equal(after1.status, 'waiting');
      assert.deepEqual(after1.missed, []);
      assert.equal(after1.nextDeadline, iso(d1 + HOUR));
      assert.equal(calls.filter((c) => c.name === 'checkFreshness').length, 1);
      assert.deepEqual(notices(calls), []);
      const history = await bed.env.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
      const patchIds = (history.events ?? []).flatMap((e) =>
        Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((d) =>
          (d.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload<{ id: string }>(p).id),
        ),
      );
      assert.deepEqual(patchIds, [FRESHNESS_MEMO_PATCH, FRESHNESS_FIRST_WINDOW_PATCH]);
      // The second window, watched whole, holds no run either: missed, one notice.
      await skipTo(d1 + HOUR + 1000);
      const [missed] = await noticesWhen(calls, 1);
      assert.equal(missed!.step, `freshness@${iso(d1 + HOUR)}`);
      assert.equal(missed!.error.type, 'NoBatchStarted');
      assert.match(missed!.error.message, /no run started; the pipeline has no completed batch yet/);
      assert.deepEqual(
        (await stateOf(handle)).missed.map((m) => [m.start, m.end]),
        [[iso(d1), iso(d1 + HOUR)]],
      );
    });
  });
});
