import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JITTER_RATIO, jitteredDelayMs, nextIntervalMs, waitUntil, type Outcome } from '../../src/aws/waiter';

/** A policy whose sleeps would outlast any test: only an abort or a settled state ends the wait. */
const hourly = { initialIntervalMs: 3_600_000, maxIntervalMs: 3_600_000, backoffCoefficient: 1 };
const fast = { initialIntervalMs: 1, maxIntervalMs: 2, backoffCoefficient: 2 };

/** A check that answers `states` in turn (the last one forever), counting its calls. */
function scripted(...states: Outcome[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    check: () => Promise.resolve(states[Math.min(calls++, states.length - 1)]!),
  };
}

describe('the waiter', () => {
  test('grows the interval by the coefficient up to the cap', () => {
    const policy = { initialIntervalMs: 1000, maxIntervalMs: 5000, backoffCoefficient: 2 };
    const seen = [1000];
    for (let i = 0; i < 4; i++) seen.push(nextIntervalMs(seen.at(-1)!, policy));
    assert.deepEqual(seen, [1000, 2000, 4000, 5000, 5000]);
  });

  test('jitter keeps every delay between (1 - ratio) times the delay and the delay itself', () => {
    assert.equal(
      jitteredDelayMs(10_000, () => 0),
      10_000,
    );
    assert.equal(
      jitteredDelayMs(10_000, () => 0.999_999),
      Math.round(10_000 * (1 - JITTER_RATIO * 0.999_999)),
    );
    for (let i = 0; i < 1000; i++) {
      const d = jitteredDelayMs(10_000);
      assert.ok(d >= 10_000 * (1 - JITTER_RATIO) && d <= 10_000, `delay ${d} is outside the jitter bounds`);
    }
  });

  test('jitter spreads the delays of many waits instead of repeating one value', () => {
    const delays = new Set(Array.from({ length: 100 }, () => jitteredDelayMs(10_000)));
    assert.ok(delays.size > 10, `only ${delays.size} distinct delays in 100 picks`);
  });

  test('jitter never makes a delay shorter than 1 ms', () => {
    assert.equal(
      jitteredDelayMs(1, () => 0.999),
      1,
    );
  });

  test('sleeps the jittered policy interval between checks', async () => {
    const slept: number[] = [];
    const policy = { initialIntervalMs: 1000, maxIntervalMs: 4000, backoffCoefficient: 2 };
    const states = scripted('wait', 'wait', 'wait', 'wait', 'done');
    const result = await waitUntil({
      policy,
      check: states.check,
      state: (s) => s,
      random: () => 1,
      sleep: async (ms) => void slept.push(ms),
    });
    const f = 1 - JITTER_RATIO;
    assert.deepEqual(slept, [1000 * f, 2000 * f, 4000 * f, 4000 * f]);
    assert.equal(result.state, 'done');
    assert.equal(result.checks, 5);
  });

  test('with elapsedRatio, sleeps that fraction of the time since the wait began, from the initial to the cap', async () => {
    let clock = 0;
    const slept: number[] = [];
    const policy = { initialIntervalMs: 1000, maxIntervalMs: 5000, elapsedRatio: 0.5 };
    const states = scripted('wait', 'wait', 'wait', 'wait', 'wait', 'wait', 'done');
    await waitUntil({
      policy,
      check: states.check,
      state: (s) => s,
      random: () => 0,
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    });
    assert.deepEqual(slept, [1000, 1000, 1000, 1500, 2250, 3375]);
  });

  test('a resumed wait goes on from the time already waited and the checks already made', async () => {
    let clock = 600_000;
    const slept: number[] = [];
    const policy = { initialIntervalMs: 1000, maxIntervalMs: 60_000, backoffCoefficient: 2 };
    const states = scripted('wait', 'wait', 'done');
    const result = await waitUntil({
      policy,
      check: states.check,
      state: (s) => s,
      random: () => 0,
      now: () => clock,
      // Begun 10 minutes ago by an earlier attempt, which made 7 checks.
      startedMs: 0,
      checksBefore: 7,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    });
    // Not 1 s, 2 s as a fresh wait would: the capped schedule after 10 minutes of waiting.
    assert.deepEqual(slept, [60_000, 60_000]);
    assert.equal(result.checks, 10);
  });

  test('ends with fail when the state table says fail', async () => {
    const result = await waitUntil({ policy: fast, check: scripted('wait', 'fail').check, state: (s) => s });
    assert.equal(result.state, 'fail');
    assert.equal(result.checks, 2);
  });

  test('rethrows an error of the check unless retryError keeps it going', async () => {
    let calls = 0;
    const failing = () => Promise.reject(new Error(`throttled ${++calls}`));
    await assert.rejects(waitUntil({ policy: fast, check: failing, state: () => 'wait' }), /throttled 1/);
    calls = 0;
    const retry = (_: unknown, inARow: number) => inARow < 3;
    await assert.rejects(
      waitUntil({ policy: fast, check: failing, state: () => 'wait', retryError: retry }),
      /throttled 3/,
    );
  });

  test('stops sleeping at once when aborted, with the abort reason', async () => {
    const controller = new AbortController();
    const states = scripted('wait');
    const waiting = waitUntil({
      policy: hourly,
      abortSignal: controller.signal,
      check: states.check,
      state: (s) => s,
      onCheck: () => setImmediate(() => controller.abort(new Error('shutting down'))),
    });
    await assert.rejects(waiting, /shutting down/);
    assert.equal(states.calls, 1);
  });

  test('makes no check when already aborted', async () => {
    const states = scripted('done');
    await assert.rejects(
      waitUntil({ policy: fast, abortSignal: AbortSignal.abort(), check: states.check, state: (s) => s }),
      (err) => err instanceof Error && err.name === 'AbortError',
    );
    assert.equal(states.calls, 0);
  });

  test('gives up with timeout and the last value when the next check would pass maxWaitMs', async () => {
    const states = scripted('wait');
    const result = await waitUntil({ policy: hourly, maxWaitMs: 1_000, check: states.check, state: (s) => s });
    assert.equal(result.state, 'timeout');
    assert.equal(result.value, 'wait');
    assert.equal(states.calls, 1);
  });
});
