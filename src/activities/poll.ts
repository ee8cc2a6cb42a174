/**
 * The Temporal side of the one poll loop (src/aws/waiter.ts): heartbeat after every check and while
 * sleeping, stop at once when the activity is cancelled or the worker begins to shut down, and keep
 * calling AWS for a bounded time after a cancellation to stop the work the wait watched.
 */
import { setTimeout as plainSleep } from 'node:timers/promises';
import { Context, sleep } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isRetryableAwsError } from '../aws/errors';
import { waitUntil, type Outcome, type SettledResult } from '../aws/waiter';
import { workerShutdown as workerShutdownFailure } from '../workflow-safe/failures';
import type { PollPolicy } from '../workflow-safe/spec';
import { failureOf } from './errors';

export type { Outcome } from '../aws/waiter';

export interface PollOptions<T> {
  policy: PollPolicy;
  /** One look at the operation (one AWS call). An AwsCallError it throws becomes a Temporal failure. */
  check: () => Promise<T>;
  /** The outcome of what `check` saw, normally a lookup in a state table. */
  outcome: (value: T) => Outcome;
  /** Heartbeat details for what `check` saw. @default - the poll count only */
  describe?: (value: T) => Record<string, unknown>;
  /**
   * Transient errors of `check` (retryable failures) tolerated in a row before the attempt fails;
   * a throttled poll should not cost an activity attempt. @default 5
   */
  maxConsecutiveErrors?: number;
  /**
   * The wait before the next check, from what the last check saw (undefined after an error); return
   * undefined to use the policy's backoff. @default - capped exponential backoff from the policy
   */
  delayMs?: (last: T | undefined) => number | undefined;
  /**
   * What this wait is for (a statement id, a crawler and its crawl): a retry of the activity whose last heartbeat
   * names the same goes on with that attempt's schedule and poll count (after a worker crash or shutdown) instead of
   * starting over with the shortest intervals. @default - every attempt starts its schedule afresh
   */
  resumeKey?: string;
  /**
   * The worker's shutdown signal ({@link ActivityDeps.workerShutdown}): when it aborts, the attempt ends at once
   * with a retryable, benign WorkerShutdown failure. @default - the wait sleeps on until the shutdown grace time ends
   */
  workerShutdown?: AbortSignal;
}

export interface PollResult<T> {
  value: T;
  outcome: 'done' | 'fail';
  /** Checks made, including the last. */
  polls: number;
}

/**
 * How often a wait heartbeats while it sleeps between polls: every second (half the heartbeat timeout if that is
 * shorter). A wait hears of a cancel only in the answer to a heartbeat, and the worker sends at most one per
 * GLUELINE_HEARTBEAT_INTERVAL_MS (1 s unless set): a wait sleeping a minute between polls must still hear of a
 * cancel within seconds (issue 22). Heartbeats the worker holds back cost nothing but a call into the SDK.
 */
export const SLEEP_HEARTBEAT_MS = 1_000;

function heartbeatEveryMs(): number {
  const timeout = Context.current().info.heartbeatTimeoutMs;
  return Math.max(100, Math.min(SLEEP_HEARTBEAT_MS, (timeout ?? 20_000) / 2));
}

/**
 * Sleeps `ms`, heartbeating `details` every {@link SLEEP_HEARTBEAT_MS}; rejects as soon as the activity is cancelled, and
 * with a retryable WorkerShutdown failure (retried after 1 s) as soon as `workerShutdown` aborts.
 */
export async function heartbeatingSleep(ms: number, details: unknown, workerShutdown?: AbortSignal): Promise<void> {
  const every = heartbeatEveryMs();
  let left = ms;
  while (left > 0) {
    const step = Math.min(left, every);
    await (workerShutdown ? sleepUntilShutdown(step, workerShutdown, details) : sleep(step));
    left -= step;
    Context.current().heartbeat(details);
  }
}

/** Sleeps like the activity's `sleep`, but ends the attempt as soon as the worker begins to shut down. */
async function sleepUntilShutdown(ms: number, workerShutdown: AbortSignal, details: unknown): Promise<void> {
  const ctx = Context.current();
  try {
    await plainSleep(ms, undefined, { signal: AbortSignal.any([ctx.cancellationSignal, workerShutdown]) });
  } catch (err) {
    if (ctx.cancellationSignal.aborted) await ctx.cancelled;
    if (!workerShutdown.aborted) throw err;
    ctx.heartbeat(details);
    throw workerShutdownFailure(details);
  }
}

/** What a wait's heartbeat carries so that the next attempt can resume it: see {@link PollOptions.resumeKey}. */
interface ResumeState {
  resumeKey: string;
  /** When the first attempt's wait began (epoch ms). */
  waitingSince: number;
  polls: number;
}

/** The schedule an earlier attempt's last heartbeat recorded for the same wait, if any. */
function resumedWait(resumeKey: string | undefined): Partial<ResumeState> {
  if (resumeKey === undefined) return {};
  const last = Context.current().info.heartbeatDetails as Partial<ResumeState> | undefined;
  if (last?.resumeKey !== resumeKey || typeof last.waitingSince !== 'number') return {};
  return { waitingSince: last.waitingSince, polls: typeof last.polls === 'number' ? last.polls : 0 };
}

/** Checks until the outcome is not 'wait', heartbeating after every check and while sleeping. */
export async function pollUntilSettled<T>(options: PollOptions<T>): Promise<PollResult<T>> {
  const maxErrors = options.maxConsecutiveErrors ?? 5;
  const resumed = resumedWait(options.resumeKey);
  const resume =
    options.resumeKey === undefined
      ? {}
      : { resumeKey: options.resumeKey, waitingSince: resumed.waitingSince ?? Date.now() };
  let details: Record<string, unknown> = {};
  const { state, value, checks }: SettledResult<T> = await waitUntil<T>({
    policy: options.policy,
    ...(resumed.waitingSince !== undefined ? { startedMs: resumed.waitingSince, checksBefore: resumed.polls } : {}),
    check: async () => {
      Context.current().cancellationSignal.throwIfAborted();
      try {
        return await options.check();
      } catch (err) {
        throw failureOf(err);
      }
    },
    state: options.outcome,
    retryError: (err, inARow) => err instanceof ApplicationFailure && !err.nonRetryable && inARow <= maxErrors,
    delayMs: options.delayMs,
    onCheck: (report) => {
      details =
        'error' in report
          ? { polls: report.checks, lastError: (report.error as Error).message, ...resume }
          : { polls: report.checks, ...options.describe?.(report.value), ...resume };
      Context.current().heartbeat(details);
    },
    sleep: (ms) => heartbeatingSleep(ms, details, options.workerShutdown),
  });
  return { value, outcome: state, polls: checks };
}

/**
 * True when the activity was cancelled because the workflow asked (not a worker shutdown, a timeout
 * or a pause): only then is the AWS operation ours to stop. After a shutdown the next attempt resumes it.
 */
export function cancelRequested(err: unknown): boolean {
  const ctx = Context.current();
  return (
    (err instanceof CancelledFailure || ctx.cancellationSignal.aborted) &&
    ctx.cancellationDetails?.cancelRequested === true
  );
}

/** Backoff for calls made after the activity was cancelled: short first waits, capped at 15 s. */
function afterCancelPolicy(policy: PollPolicy): PollPolicy {
  return {
    ...policy,
    initialIntervalMs: Math.min(policy.initialIntervalMs, 5_000),
    maxIntervalMs: Math.min(policy.maxIntervalMs, 15_000),
  };
}

/**
 * Polls after the activity was cancelled (activity `sleep` rejects at once then): plain timers, bounded
 * by `maxWaitMs`, errors ignored. Resolves with the last value, settled or not.
 */
export async function pollAfterCancel<T>(
  check: () => Promise<T>,
  settled: (value: T) => boolean,
  policy: PollPolicy,
  maxWaitMs: number,
): Promise<T | undefined> {
  const { value } = await waitUntil({
    policy: afterCancelPolicy(policy),
    maxWaitMs,
    check,
    state: (value) => (settled(value) ? 'done' : 'wait'),
    // Best effort: the cancellation is reported whatever happens here.
    retryError: () => true,
  });
  return value;
}

/**
 * Makes the call that carries a cancellation to AWS (stop the job run, cancel the statement), trying
 * again with backoff while it fails retryably (throttling, 5xx, network): the SDK's own few retries are
 * not enough to give up on work left running. Rejects with the last error when it fails for good or
 * `maxWaitMs` runs out.
 */
export async function callAfterCancel<T>(call: () => Promise<T>, policy: PollPolicy, maxWaitMs: number): Promise<T> {
  const result = await waitUntil({
    policy: afterCancelPolicy(policy),
    maxWaitMs,
    check: call,
    state: () => 'done',
    retryError: isRetryableAwsError,
  });
  if (result.state === 'timeout') throw result.lastError;
  return result.value as T;
}
