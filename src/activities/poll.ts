/**
 * The one poll loop every wait uses: look, map the AWS state to an outcome through a state table,
 * heartbeat, sleep with capped exponential backoff, and stop at once when the activity is cancelled.
 */
import { setTimeout as plainSleep } from 'node:timers/promises';
import { Context, sleep } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WORKER_SHUTDOWN_FAILURE } from '../workflow-safe/failures';
import type { PollPolicy } from '../workflow-safe/spec';
import { isRetryableAwsError } from './errors';

/** What an AWS state means for a wait: keep waiting, finished well, or finished badly. */
export type Outcome = 'wait' | 'done' | 'fail';

export interface PollOptions<T> {
  policy: PollPolicy;
  /** One look at the operation (one AWS call). */
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
   * The worker's shutdown signal ({@link ActivityDeps.workerShutdown}): when it aborts, the attempt ends at once
   * with a retryable WorkerShutdown failure. @default - the wait sleeps on until the shutdown grace time ends
   */
  workerShutdown?: AbortSignal;
}

export interface PollResult<T> {
  value: T;
  outcome: 'done' | 'fail';
  /** Checks made, including the last. */
  polls: number;
}

/** The wait after `currentMs`: times the coefficient, capped at the policy's maximum. */
export function nextIntervalMs(currentMs: number, policy: PollPolicy): number {
  return Math.min(policy.maxIntervalMs, Math.max(1, Math.round(currentMs * policy.backoffCoefficient)));
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
    throw ApplicationFailure.create({
      type: WORKER_SHUTDOWN_FAILURE,
      message: 'the worker is shutting down: the next attempt, on another worker, resumes this wait',
      nextRetryDelay: '1 second',
      details: [details],
    });
  }
}

/** Checks until the outcome is not 'wait', heartbeating after every check. */
export async function pollUntilSettled<T>(options: PollOptions<T>): Promise<PollResult<T>> {
  const maxErrors = options.maxConsecutiveErrors ?? 5;
  let intervalMs = options.policy.initialIntervalMs;
  let polls = 0;
  let errorsInARow = 0;
  for (;;) {
    Context.current().cancellationSignal.throwIfAborted();
    let details: Record<string, unknown>;
    let last: T | undefined;
    try {
      const value = await options.check();
      last = value;
      polls++;
      errorsInARow = 0;
      const outcome = options.outcome(value);
      details = { polls, ...options.describe?.(value) };
      Context.current().heartbeat(details);
      if (outcome !== 'wait') return { value, outcome, polls };
    } catch (err) {
      polls++;
      const transient = err instanceof ApplicationFailure && !err.nonRetryable;
      if (!transient || ++errorsInARow > maxErrors) throw err;
      details = { polls, lastError: err.message };
      Context.current().heartbeat(details);
    }
    await heartbeatingSleep(options.delayMs?.(last) ?? intervalMs, details, options.workerShutdown);
    intervalMs = nextIntervalMs(intervalMs, options.policy);
  }
}

/** How long a job's recent successful runs took. */
export interface ExpectedDuration {
  shortestMs: number;
  longestMs: number;
}

/** Dense polls near the expected end are at most this many, however wide the history's spread. */
const MAX_NEAR_END_POLLS = 10;

/**
 * The wait before the next poll of an operation `elapsedMs` old that usually takes `expected`: every
 * maxIntervalMs at most until nearEndIntervalMs before the shortest known duration, then every
 * nearEndIntervalMs (wider when the history spreads widely) until nearEndIntervalMs after the longest,
 * then backing off by half the overrun, capped at maxIntervalMs.
 */
export function expectedEndDelayMs(elapsedMs: number, expected: ExpectedDuration, policy: PollPolicy): number {
  const nearEndMs = policy.nearEndIntervalMs ?? 5_000;
  const denseFromMs = expected.shortestMs - nearEndMs;
  const denseUntilMs = expected.longestMs + nearEndMs;
  if (elapsedMs < denseFromMs) return Math.max(1, Math.min(policy.maxIntervalMs, denseFromMs - elapsedMs));
  if (elapsedMs < denseUntilMs) {
    return Math.max(nearEndMs, Math.round((denseUntilMs - denseFromMs) / MAX_NEAR_END_POLLS));
  }
  return Math.min(policy.maxIntervalMs, Math.max(nearEndMs, Math.round((elapsedMs - expected.longestMs) / 2)));
}

/** The shortest and longest of some durations, or undefined when there are none. */
export function expectedDurationOf(durationsMs: number[]): ExpectedDuration | undefined {
  const usable = durationsMs.filter((d) => Number.isFinite(d) && d > 0);
  if (usable.length === 0) return undefined;
  return { shortestMs: Math.min(...usable), longestMs: Math.max(...usable) };
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
 * by `maxWaitMs`. Resolves with the last value, settled or not.
 */
export async function pollAfterCancel<T>(
  check: () => Promise<T>,
  settled: (value: T) => boolean,
  policy: PollPolicy,
  maxWaitMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + maxWaitMs;
  const backoff = afterCancelPolicy(policy);
  let intervalMs = backoff.initialIntervalMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await check();
      if (settled(last)) return last;
    } catch {
      // Best effort: the cancellation is reported whatever happens here.
    }
    if (Date.now() + intervalMs > deadline) return last;
    await plainSleep(intervalMs);
    intervalMs = nextIntervalMs(intervalMs, backoff);
  }
}

/**
 * Makes the call that carries a cancellation to AWS (stop the job run, cancel the statement), trying
 * again with backoff while it fails retryably (throttling, 5xx, network): the SDK's own few retries are
 * not enough to give up on work left running. Rejects with the last error when it fails for good or
 * `maxWaitMs` runs out.
 */
export async function callAfterCancel<T>(call: () => Promise<T>, policy: PollPolicy, maxWaitMs: number): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  const backoff = afterCancelPolicy(policy);
  let intervalMs = backoff.initialIntervalMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isRetryableAwsError(err) || Date.now() + intervalMs > deadline) throw err;
    }
    await plainSleep(intervalMs);
    intervalMs = nextIntervalMs(intervalMs, backoff);
  }
}
