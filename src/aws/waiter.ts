/**
 * The one poll loop every wait uses, in the style of aws-sdk-js-v3's util-waiter: a `check` makes one
 * AWS call, a `state` function (normally a lookup in a state table) says what it means, and the loop
 * sleeps with capped exponential backoff and jitter between checks, so a thousand waits resumed by one
 * worker restart do not poll in lock-step. Abort-aware; no Temporal here (src/activities/poll.ts adds
 * heartbeats and cancellation on top).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PollPolicy } from '../workflow-safe/spec';

/** What an AWS state means for a wait: keep waiting, finished well, or finished badly. */
export type Outcome = 'wait' | 'done' | 'fail';

/**
 * How much of each delay is random: a delay d becomes a uniform pick in [d × (1 − JITTER_RATIO), d]
 * ("equal jitter"). Jitter only shortens a delay, so the policy's cap still holds.
 */
export const JITTER_RATIO = 0.5;

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
   * undefined to use the policy's backoff. Jitter applies to it too. @default - the policy's backoff
   */
  delayMs?: (last: T | undefined) => number | undefined;
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

/** The wait after `currentMs`: times the coefficient, capped at the policy's maximum. */
export function nextIntervalMs(currentMs: number, policy: PollPolicy): number {
  return Math.min(policy.maxIntervalMs, Math.max(1, Math.round(currentMs * policy.backoffCoefficient)));
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
  const deadline = options.maxWaitMs === undefined ? Infinity : Date.now() + options.maxWaitMs;
  const nap =
    options.sleep ??
    ((ms: number) =>
      sleep(ms, undefined, { signal: abortSignal }).catch((err: unknown) => {
        abortSignal?.throwIfAborted(); // the signal's own reason, not the timer's AbortError
        throw err;
      }));
  let intervalMs = policy.initialIntervalMs;
  let checks = 0;
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
    const delayMs = jitteredDelayMs(options.delayMs?.(seen) ?? intervalMs, options.random);
    if (Date.now() + delayMs > deadline) return { state: 'timeout', value, lastError, checks };
    await nap(delayMs);
    intervalMs = nextIntervalMs(intervalMs, policy);
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
