/**
 * `freshnessWatch`: one long-lived workflow per pipeline (`freshness-watch-<pipeline>`) that holds the spec's
 * freshness deadlines. It sleeps on a durable timer until the next deadline, asks Temporal's visibility (the
 * checkFreshness activity) whether a csvPipeline run of the pipeline completed in the window that just ended, and
 * when none did sends one `freshness-missed` notice for the window, saying what it found: no run started (naming the
 * last good batch), a run failed (and at which step), or a run still going. While windows are missed it looks
 * again every quarter window (at most 15 minutes) and sends one `freshness-back` notice when a batch has
 * completed. Each deadline ends the run with continue-as-new, carrying the state, so the history stays short and
 * the watch survives worker restarts like any workflow. `glueline provision` and `glueline freshness` start it and
 * signal new settings (`configure`), or `null` to stop it. The first window of a pipeline with no run yet is not
 * judged (patch `freshness-first-window-partial`): the watch started inside it.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { FailureNotice, GluelineActivities } from '../workflow-safe/activity-types';
import {
  describeRule,
  FRESHNESS_CONFIGURE_SIGNAL,
  FRESHNESS_FIRST_WINDOW_PATCH,
  FRESHNESS_MEMO,
  FRESHNESS_MEMO_PATCH,
  FRESHNESS_QUERY,
  FRESHNESS_WORKFLOW,
  nextDeadline,
  recheckMs,
  windowStart,
  type FreshnessCarry,
  type FreshnessFindings,
  type FreshnessState,
  type FreshnessWatchInput,
  type GoodBatch,
  type MissedWindow,
} from '../workflow-safe/freshness';
import { AWS_CALL_OPTIONS, notifyActivities } from './activity-options';

export const freshnessQuery = defineQuery<FreshnessState>(FRESHNESS_QUERY);
export const configureSignal = defineSignal<[FreshnessWatchInput | null]>(FRESHNESS_CONFIGURE_SIGNAL);

const { checkFreshness } = proxyActivities<Pick<GluelineActivities, 'checkFreshness'>>({
  ...AWS_CALL_OPTIONS,
  startToCloseTimeout: '1 minute',
});

/** The notice's error type for what a missed window's check found. */
const MISSED_TYPES = { 'no-run': 'NoBatchStarted', failed: 'BatchFailed', running: 'BatchStillRunning' } as const;

const iso = (ms: number) => new Date(ms).toISOString();

/** Watches the pipeline's freshness until told to stop. @returns the state it stopped in. */
export async function freshnessWatch(input: FreshnessWatchInput): Promise<FreshnessState> {
  const carry: FreshnessCarry = { missed: [], ...input.carry };
  const after = Math.max(Date.now(), carry.lastDeadline ? Date.parse(carry.lastDeadline) : 0);
  const deadline = nextDeadline(input.freshness, after);
  let reconfigured: { next: FreshnessWatchInput | null } | undefined;
  const state = (): FreshnessState => ({
    pipeline: input.pipeline,
    rule: describeRule(input.freshness),
    status: carry.missed.length ? 'missed' : carry.lastGood ? 'fresh' : 'waiting',
    nextDeadline: iso(deadline),
    ...carry,
  });
  setHandler(freshnessQuery, state);
  setHandler(configureSignal, (next) => void (reconfigured = { next }));
  // The state in the memo too, so health can show it when no worker answers the query: at the start of each run
  // (a deadline's verdict is carried into the next run) and when data comes back.
  const publish = () => {
    if (patched(FRESHNESS_MEMO_PATCH)) upsertMemo({ [FRESHNESS_MEMO]: state() });
  };
  publish();
  const continueWith = (next: FreshnessWatchInput) => continueAsNew<typeof freshnessWatch>({ ...next, carry });

  for (;;) {
    const wakeAt = carry.missed.length ? Math.min(deadline, Date.now() + recheckMs(input.freshness)) : deadline;
    if (wakeAt > Date.now()) await condition(() => reconfigured !== undefined, wakeAt - Date.now());
    if (reconfigured) {
      if (reconfigured.next === null) return state();
      return continueWith(reconfigured.next);
    }
    if (Date.now() >= deadline) break;
    // A window is missed: has data arrived since it began?
    const since = carry.missed[0]!.start;
    const found = await checkFreshness({ pipeline: input.pipeline, from: since, to: iso(Date.now()) });
    if (found.completed) {
      await dataBack(input, carry, found.completed);
      publish();
    }
  }
  await judge(input, carry, deadline);
  carry.lastDeadline = iso(deadline);
  // New settings that came while the window was judged are not lost in the continue-as-new.
  const next = reconfigured ? (reconfigured as { next: FreshnessWatchInput | null }).next : input;
  return next === null ? state() : continueWith(next);
}

/** Judges the window ending at `deadline`: fresh, back after a miss, or missed (one notice). */
async function judge(input: FreshnessWatchInput, carry: FreshnessCarry, deadline: number): Promise<void> {
  const start = windowStart(input.freshness, deadline);
  const found = await checkFreshness({ pipeline: input.pipeline, from: iso(start), to: iso(deadline) });
  if (found.lastGood && (!carry.lastGood || found.lastGood.completedAt > carry.lastGood.completedAt))
    carry.lastGood = found.lastGood;
  if (found.completed) {
    if (carry.missed.length) await dataBack(input, carry, found.completed);
    return;
  }
  if (unwatchedFirstWindow(carry, found) && patched(FRESHNESS_FIRST_WINDOW_PATCH)) {
    log.info(
      `freshness: the first window (${iso(start)} to ${iso(deadline)}) is not judged: the watch started inside it ` +
        'and the pipeline has no run yet (no completed batch ever, none failed or going in it)',
      { pipeline: input.pipeline },
    );
    return;
  }
  const missed = missedWindow(input, carry, start, deadline, found);
  carry.missed.push(missed);
  log.warn(`freshness: ${missed.detail}`, { pipeline: input.pipeline, deadline: missed.end });
  await send(input, {
    kind: 'freshness-missed',
    batchId: carry.lastGood?.batchId ?? 'none',
    step: `freshness@${missed.end}`,
    error: { type: MISSED_TYPES[missed.found], message: missed.detail },
    startedAt: missed.start,
    failedAt: missed.end,
  });
}

/**
 * Whether the window is the first the watch judges (it started inside it, so it could not have watched all of it)
 * and nothing in visibility says data is late: the pipeline never completed a batch, and no run of it failed or
 * is going in the window. A watch set up with a new pipeline (at 06:50 for `by: 07:00`) then waits for a window
 * it watched whole. A pipeline that has delivered before is judged in full: its runs are in visibility whenever
 * the watch started, so a window without a completed batch is late data (a missed window, notified).
 */
const unwatchedFirstWindow = (carry: FreshnessCarry, found: FreshnessFindings): boolean =>
  carry.lastDeadline === undefined && !carry.lastGood && !found.failed && !found.running;

/** The missed window, and in words what the check found in it. */
function missedWindow(
  input: FreshnessWatchInput,
  carry: FreshnessCarry,
  start: number,
  deadline: number,
  found: FreshnessFindings,
): MissedWindow {
  const lastGood = carry.lastGood
    ? `the last good batch is ${carry.lastGood.batchId} (completed ${carry.lastGood.completedAt}, workflow id ${carry.lastGood.workflowId})`
    : 'the pipeline has no completed batch yet';
  const head = `no batch of pipeline ${input.pipeline} completed between ${iso(start)} and ${iso(deadline)} (${describeRule(input.freshness)})`;
  const base = { start: iso(start), end: iso(deadline) };
  if (found.running)
    return {
      ...base,
      found: 'running',
      detail: `${head}: a run is still going, batch ${found.running.batchId} (workflow id ${found.running.workflowId}, started ${found.running.startedAt}); ${lastGood}. Follow it with: glueline follow ${found.running.workflowId}`,
    };
  if (found.failed) {
    const step = found.failed.failedStep ?? 'an unknown step';
    return {
      ...base,
      found: 'failed',
      detail: `${head}: a run failed, batch ${found.failed.batchId} (workflow id ${found.failed.workflowId}, ${found.failed.status} at ${found.failed.closedAt}) at ${step}; ${lastGood}. Re-run it with: glueline redrive ${found.failed.workflowId} --from ${step.split('@')[0]}`,
    };
  }
  return {
    ...base,
    found: 'no-run',
    detail: `${head}: no run started; ${lastGood}. Check what delivers the batches (the schedule, the landing folder, the S3 event consumer)`,
  };
}

/** Data arrived after missed windows: one `freshness-back` notice, and the state is fresh again. */
async function dataBack(input: FreshnessWatchInput, carry: FreshnessCarry, batch: GoodBatch): Promise<void> {
  const first = carry.missed[0]!;
  const message =
    `data is back: batch ${batch.batchId} of pipeline ${input.pipeline} completed at ${batch.completedAt} ` +
    `(workflow id ${batch.workflowId}), after ${carry.missed.length} missed window(s), the first ending ${first.end}`;
  log.info(`freshness: ${message}`, { pipeline: input.pipeline });
  carry.missed = [];
  carry.lastGood = batch;
  carry.back = batch;
  await send(input, {
    kind: 'freshness-back',
    batchId: batch.batchId,
    // The same for every attempt and every run of the watch: one notice per streak of missed windows.
    step: `freshness-back@${first.end}`,
    error: { type: 'DataBack', message },
    startedAt: first.start,
    failedAt: batch.completedAt,
  });
}

type NoticeParts = Pick<FailureNotice, 'kind' | 'batchId' | 'step' | 'error' | 'startedAt' | 'failedAt'>;

/** Sends a freshness notice on every channel the spec configures; a channel that fails is logged, not retried here. */
async function send(input: FreshnessWatchInput, parts: NoticeParts): Promise<void> {
  const info = workflowInfo();
  const notice: FailureNotice = {
    ...parts,
    pipeline: input.pipeline,
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: FRESHNESS_WORKFLOW,
    ...(input.notify.email ? { email: input.notify.email } : {}),
    ...(input.notify.webhook ? { webhook: input.notify.webhook } : {}),
    ...(input.sentRecord ? { sentRecord: input.sentRecord } : {}),
  };
  const channels = notifyActivities(input.notify.retryWindowMinutes);
  const summary = `${parts.kind}: ${parts.step}`;
  await CancellationScope.nonCancellable(async () => {
    const sent = await Promise.allSettled([
      ...(input.notify.email ? [channels.sendFailureEmail.executeWithOptions({ summary }, [notice])] : []),
      ...(input.notify.webhook ? [channels.postFailureWebhook.executeWithOptions({ summary }, [notice])] : []),
    ]);
    for (const outcome of sent)
      if (outcome.status === 'rejected')
        log.error(`the ${parts.kind} notice could not be sent`, { error: String(outcome.reason) });
  });
}
