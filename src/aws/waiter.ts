/**
 * The one poll loop every wait uses, in the style of aws-sdk-js-v3's util-waiter: a `check` makes one
 * AWS call, a `state` function (normally a lookup in a state table) says what it means, and the loop
 * sleeps between checks on the policy's schedule (a fraction of the time already waited, or capped
 * exponential backoff), with jitter, so a thousand waits resumed by one worker restart do not poll in
 * lock-step. Abort-aware; no Temporal here (src/activities/poll.ts adds heartbeats and cancellation on top).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PollPolicy } from '../workflow-safe/spec';

/** What an AWS state means for a wait: keep waiting, finished well, or finished badly. */
export type Outcome = 'wait' | 'done' | 'fail';

/**
 * How much of each delay is random: a delay d becomes a uniform pick in [d × (1 − JITTER_RATIO), d]. Jitter
 * only shortens a delay, so the policy's cap, and the worst-case lag the schedule promises, still hold; a
 * fifth is enough to spread waits resumed together, and costs at most a quarter more polls.
 */
export const JITTER_RATIO = 0.2;

/** What one check saw, for heartbeats and logs. */
export type CheckReport<T> = { checks: number } & ({ value: T; outcome: Outcome } | { error: unknown });

export interface WaiterOptions<T> {
  policy: PollPolicy;
  /** One look at the operation (one AWS call). */
  check: () => Promise<T>;
  /** The outcome of what `check` saw, normally a lookup in a state table. */
  state: (value: T) => Outcome;
  /**
   * Whether the loop goes on after `check` threw `err` (the `errorsInARow`th error in a row); when false
   * the error ends the wait. @default - never: any error ends the wait
   */
  retryError?: (err: unknown, errorsInARow: number) => boolean;
  /**
   * The wait before the next check, from what the last check saw (undefined after an error); return
   * undefined to use the policy's schedule (from the time since this wait began). Jitter applies to it too.
   * @default - the policy's schedule
   */
  delayMs?: (last: T | undefined) => number | undefined;
  /**
   * When this wait began, when it resumes one an earlier attempt began (epoch ms): the schedule goes on from the
   * time waited since then, not from its first, shortest interval. @default - now
   */
  startedMs?: number;
  /** Checks an earlier attempt of this wait made: counted on from there. @default 0 */
  checksBefore?: number;
  /** Called after every check, before the sleep. @default - nothing */
  onCheck?: (report: CheckReport<T>) => void;
  /**
   * How to sleep between checks. @default - a timer that rejects when `abortSignal` aborts
   */
  sleep?: (ms: number) => Promise<void>;
  /** Ends the wait at once (with the signal's reason) when aborted. @default - never aborted */
  abortSignal?: AbortSignal;
  /** Gives up (state 'timeout') when the next check would come later than this. @default - no limit */
  maxWaitMs?: number;
  /** Random numbers in [0, 1), for tests. @default Math.random */
  random?: () => number;
  /** The clock the schedule reads, for tests. @default Date.now */
  now?: () => number;
}

export interface WaiterResult<T> {
  /** 'timeout' only with `maxWaitMs`. */
  state: 'done' | 'fail' | 'timeout';
  /** What the last successful check saw (undefined on a timeout with no successful check). */
  value: T | undefined;
  /** The last error of `check`, on a timeout. */
  lastError?: unknown;
  /** Checks made, including the last. */
  checks: number;
}

/** A settled wait: what the last check saw. */
export interface SettledResult<T> extends WaiterResult<T> {
  state: 'done' | 'fail';
  value: T;
}

/** The wait after `currentMs` under exponential backoff: times the coefficient, capped at the policy's maximum. */
export function nextIntervalMs(currentMs: number, policy: PollPolicy): number {
  return Math.min(policy.maxIntervalMs, Math.max(1, Math.round(currentMs * (policy.backoffCoefficient ?? 1))));
}

function clamp(ms: number, policy: PollPolicy): number {
  return Math.min(policy.maxIntervalMs, Math.max(policy.initialIntervalMs, Math.round(ms)));
}

/**
 * How fast a policy backs off, as a fraction of the time already waited: its elapsedRatio, or for capped
 * exponential backoff the ratio that gives the same schedule (c^n grows by (c − 1) × what was waited so far).
 */
export function backoffRatio(policy: PollPolicy): number {
  return policy.elapsedRatio ?? Math.max(0.01, (policy.backoffCoefficient ?? 1) - 1);
}

/**
 * The wait before the next look at an operation that has run `elapsedMs`: elapsedRatio × elapsedMs, between
 * initialIntervalMs and maxIntervalMs (for a backoffCoefficient policy, its exponential schedule written the
 * same way: initialIntervalMs + (coefficient − 1) × elapsedMs). An operation that ends between two looks is
 * seen at most this long after its end; unjittered.
 */
export function elapsedDelayMs(elapsedMs: number, policy: PollPolicy): number {
  const elapsed = Math.max(0, elapsedMs);
  if (policy.elapsedRatio !== undefined) return clamp(policy.elapsedRatio * elapsed, policy);
  return clamp(policy.initialIntervalMs + backoffRatio(policy) * elapsed, policy);
}

/**
 * The policy's next wait, unjittered: from the time waited so far for an elapsedRatio policy, from the
 * previous wait (`previousMs`, none before the first) for a backoffCoefficient one.
 */
export function policyDelayMs(policy: PollPolicy, elapsedMs: number, previousMs?: number): number {
  if (policy.elapsedRatio !== undefined) return elapsedDelayMs(elapsedMs, policy);
  return previousMs === undefined ? policy.initialIntervalMs : nextIntervalMs(previousMs, policy);
}

/** `delayMs` with jitter: uniform in [delayMs × (1 − ratio), delayMs], at least 1 ms. */
export function jitteredDelayMs(delayMs: number, random: () => number = Math.random, ratio = JITTER_RATIO): number {
  return Math.max(1, Math.round(delayMs * (1 - ratio * random())));
}

/** Checks until the state is not 'wait' (or `maxWaitMs` runs out), sleeping with jittered backoff between checks. */
export async function waitUntil<T>(options: WaiterOptions<T> & { maxWaitMs?: undefined }): Promise<SettledResult<T>>;
export async function waitUntil<T>(options: WaiterOptions<T>): Promise<WaiterResult<T>>;
export async function waitUntil<T>(options: WaiterOptions<T>): Promise<WaiterResult<T>> {
  const { policy, abortSignal } = options;
  const now = options.now ?? Date.now;
  const deadline = options.maxWaitMs === undefined ? Infinity : now() + options.maxWaitMs;
  const nap =
    options.sleep ??
    ((ms: number) =>
      sleep(ms, undefined, { signal: abortSignal }).catch((err: unknown) => {
        abortSignal?.throwIfAborted(); // the signal's own reason, not the timer's AbortError
        throw err;
      }));
  const startedMs = options.startedMs ?? now();
  let intervalMs: number | undefined;
  let checks = options.checksBefore ?? 0;
  let errorsInARow = 0;
  let value: T | undefined;
  let lastError: unknown;
  for (;;) {
    abortSignal?.throwIfAborted();
    let seen: T | undefined;
    try {
      seen = value = await options.check();
      checks++;
      errorsInARow = 0;
      const outcome = options.state(seen);
      options.onCheck?.({ checks, value: seen, outcome });
      if (outcome !== 'wait') return { state: outcome, value: seen, checks };
    } catch (err) {
      checks++;
      if (!options.retryError?.(err, ++errorsInARow)) throw err;
      lastError = err;
      options.onCheck?.({ checks, error: err });
    }
    // A resumed wait's first interval is where the schedule had got to; the exponential one is written by elapsed time.
    intervalMs =
      intervalMs === undefined && options.startedMs !== undefined
        ? elapsedDelayMs(now() - startedMs, policy)
        : policyDelayMs(policy, now() - startedMs, intervalMs);
    const delayMs = jitteredDelayMs(options.delayMs?.(seen) ?? intervalMs, options.random);
    if (now() + delayMs > deadline) return { state: 'timeout', value, lastError, checks };
    await nap(delayMs);
  }
}

/** How long a job's recent successful runs took. */
export interface ExpectedDuration {
  shortestMs: number;
  longestMs: number;
}

/** Dense polls near the expected end are at most this many, however wide the history's spread. */
const MAX_NEAR_END_POLLS = 10;

/** The near-end interval without nearEndIntervalMs: a sixtieth of the longest recent run, between 1 and 8 s. */
export function nearEndIntervalMs(expected: ExpectedDuration, policy: PollPolicy): number {
  return policy.nearEndIntervalMs ?? Math.min(8_000, Math.max(1_000, Math.round(expected.longestMs / 60)));
}

/** How much faster than the policy's own schedule polls back off while a run with a history is far from its end. */
const EARLY_MIN_RATIO = 1;
/** While far from the expected end, the longest wait is this fraction of the shortest recent run (or maxIntervalMs). */
const EARLY_CAP_FRACTION = 1 / 6;

/**
 * The wait while a run is far from its expected end, when only an early failure can end it: the time already
 * waited (or the policy's ratio of it, when higher), up to a sixth of the shortest recent run (at least
 * maxIntervalMs). A run that fails that early is seen at most that late, and a ten-minute run costs few polls.
 */
function earlyDelayMs(elapsedMs: number, expected: ExpectedDuration, policy: PollPolicy): number {
  const capMs = Math.max(policy.maxIntervalMs, Math.round(expected.shortestMs * EARLY_CAP_FRACTION));
  const ratio = Math.max(EARLY_MIN_RATIO, backoffRatio(policy));
  return Math.min(capMs, Math.max(policy.initialIntervalMs, Math.round(ratio * Math.max(0, elapsedMs))));
}

/**
 * The wait before the next poll of an operation `elapsedMs` old whose recent successful runs took `expected`:
 * polls for an early failure only (see earlyDelayMs) until nearEndIntervalMs before the shortest of them, then every nearEndIntervalMs (wider when the history spreads
 * over more than ten of them) until nearEndIntervalMs after the longest, then backing off again in
 * proportion to the overrun, from nearEndIntervalMs up to maxIntervalMs.
 */
export function expectedEndDelayMs(elapsedMs: number, expected: ExpectedDuration, policy: PollPolicy): number {
  const nearEndMs = nearEndIntervalMs(expected, policy);
  const denseFromMs = expected.shortestMs - nearEndMs;
  const denseUntilMs = expected.longestMs + nearEndMs;
  // Within one near-end interval of the dense stretch counts as in it: a jittered landing falls a little short.
  if (elapsedMs < denseFromMs - nearEndMs)
    return Math.min(earlyDelayMs(elapsedMs, expected, policy), denseFromMs - elapsedMs);
  if (elapsedMs < denseUntilMs) {
    return Math.max(nearEndMs, Math.round((denseUntilMs - denseFromMs) / MAX_NEAR_END_POLLS));
  }
  const overrunDelayMs = Math.round(backoffRatio(policy) * (elapsedMs - expected.longestMs));
  return Math.min(policy.maxIntervalMs, Math.max(nearEndMs, overrunDelayMs));
}

/** The shortest and longest of some durations, or undefined when there are none. */
export function expectedDurationOf(durationsMs: number[]): ExpectedDuration | undefined {
  const usable = durationsMs.filter((d) => Number.isFinite(d) && d > 0);
  if (usable.length === 0) return undefined;
  return { shortestMs: Math.min(...usable), longestMs: Math.max(...usable) };
}

/**
 * The wait before the next look at a Glue job run `elapsedMs` old: from its history when it has one
 * ({@link expectedEndDelayMs}), otherwise the policy's schedule by elapsed time; undefined (the waiter's own
 * backoff) for a backoffCoefficient policy without history.
 */
export function jobRunDelayMs(
  elapsedMs: number,
  expected: ExpectedDuration | undefined,
  policy: PollPolicy,
): number | undefined {
  if (expected) return expectedEndDelayMs(elapsedMs, expected, policy);
  return policy.elapsedRatio === undefined ? undefined : elapsedDelayMs(elapsedMs, policy);
}

/**
 * The looks a wait on `schedule` makes at an operation that ends after `durationMs` (ms after it started): the
 * first at once, the last the first at or after the end. For tests and benchmarks: calls and worst-case lag
 * of a schedule, computed rather than timed. @param random jitter's random numbers @default () => 0 (none)
 */
export function lookTimesMs(
  durationMs: number,
  schedule: (elapsedMs: number) => number,
  random: () => number = () => 0,
): number[] {
  const times = [0];
  while (times.at(-1)! < durationMs) times.push(times.at(-1)! + jitteredDelayMs(schedule(times.at(-1)!), random));
  return times;
}
