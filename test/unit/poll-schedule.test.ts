/**
 * The polling schedules (src/aws/waiter.ts) with the default spec's policies: calls and worst-case lag computed
 * from the schedule functions for given durations, never timed. Jitter only shortens a wait, so the worst-case
 * lag is the unjittered schedule's, and the most calls come when every wait is shortened by the full ratio.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runDurationMs } from '../../src/aws/glue-job-runs';
import {
  elapsedDelayMs,
  expectedDurationOf,
  expectedEndDelayMs,
  jobRunDelayMs,
  lookTimesMs,
  type ExpectedDuration,
} from '../../src/aws/waiter';
import { DEFAULT_POLLING, type PollPolicy } from '../../src/workflow-safe/spec';

const glueJob: PollPolicy = DEFAULT_POLLING.glueJob;
const tenMinutes = { shortestMs: 590_000, longestMs: 615_000 };

/** Unjittered (random 0), or every wait shortened by the full jitter ratio (random → 1). */
const JITTERS = { none: () => 0, most: () => 0.999_999 };

const lookTimes = lookTimesMs;

/** Calls, and the lag (seen this long after the end) of an operation ending after `durationMs`. */
function wait(durationMs: number, schedule: (elapsedMs: number) => number, random = JITTERS.none) {
  const times = lookTimes(durationMs, schedule, random);
  return { calls: times.length, lagMs: times.at(-1)! - durationMs };
}

/** The worst lag of any end between `fromMs` and `toMs` (every 100 ms). */
function worstLagMs(fromMs: number, toMs: number, schedule: (elapsedMs: number) => number): number {
  let worst = 0;
  for (let end = fromMs; end <= toMs; end += 100) worst = Math.max(worst, wait(end, schedule).lagMs);
  return worst;
}

const withHistory = (expected: ExpectedDuration) => (e: number) => jobRunDelayMs(e, expected, glueJob)!;
const noHistory = (e: number) => jobRunDelayMs(e, undefined, glueJob)!;

describe('the proportional schedule (elapsedRatio)', () => {
  const policy = { initialIntervalMs: 1_000, maxIntervalMs: 30_000, elapsedRatio: 0.25 };

  test('waits elapsedRatio × the time already waited, from initialIntervalMs up to maxIntervalMs', () => {
    assert.equal(elapsedDelayMs(0, policy), 1_000);
    assert.equal(elapsedDelayMs(3_000, policy), 1_000);
    assert.equal(elapsedDelayMs(40_000, policy), 10_000);
    assert.equal(elapsedDelayMs(600_000, policy), 30_000);
  });

  test('writes a backoffCoefficient policy the same way: initialIntervalMs + (coefficient − 1) × elapsed', () => {
    const exponential = { initialIntervalMs: 15_000, maxIntervalMs: 60_000, backoffCoefficient: 1.5 };
    assert.equal(elapsedDelayMs(0, exponential), 15_000);
    assert.equal(elapsedDelayMs(15_000, exponential), 22_500);
    assert.equal(elapsedDelayMs(37_500, exponential), 33_750);
    assert.equal(elapsedDelayMs(600_000, exponential), 60_000);
  });

  test('sees an operation end at most elapsedRatio of its duration late, until the cap', () => {
    for (const durationMs of [5_000, 40_000, 100_000]) {
      const { lagMs } = wait(durationMs, (e) => elapsedDelayMs(e, policy));
      assert.ok(lagMs <= 0.25 * durationMs + 1, `${durationMs} ms: lag ${lagMs} ms`);
    }
  });
});

describe('the default Glue job schedule with a history (expectedDurationFrom: history)', () => {
  test('polls every nearEndIntervalMs near the expected end: a sixtieth of the longest run, 1 to 8 s', () => {
    assert.equal(expectedEndDelayMs(600_000, tenMinutes, glueJob), 8_000);
    assert.equal(expectedEndDelayMs(60_000, { shortestMs: 60_000, longestMs: 60_000 }, glueJob), 1_000);
    assert.equal(expectedEndDelayMs(600_000, tenMinutes, { ...glueJob, nearEndIntervalMs: 5_000 }), 5_000);
  });

  test('lands its first dense poll nearEndIntervalMs before the shortest run', () => {
    const times = lookTimes(600_000, withHistory(tenMinutes));
    assert.ok(times.includes(582_000), `looks at ${times.join(', ')}`);
  });

  test('far from the end, waits the time already waited, up to a sixth of the shortest run', () => {
    assert.equal(expectedEndDelayMs(30_000, tenMinutes, glueJob), 30_000);
    assert.equal(expectedEndDelayMs(300_000, tenMinutes, glueJob), 98_333);
  });

  test('spreads the dense polls when the history spreads widely', () => {
    assert.equal(expectedEndDelayMs(600_000, { shortestMs: 300_000, longestMs: 900_000 }, glueJob), 61_600);
  });

  test('backs off by half the overrun once the longest run is passed, from nearEndIntervalMs to maxIntervalMs', () => {
    assert.equal(expectedEndDelayMs(640_000, tenMinutes, glueJob), 12_500);
    assert.equal(expectedEndDelayMs(2_000_000, tenMinutes, glueJob), 60_000);
  });

  test("finds a ten-minute run within its history's range in ≤ 19 GetJobRun calls (20 with GetJobRuns) and ≤ 10 s", () => {
    for (const durationMs of [590_000, 600_000, 615_000]) {
      const { calls } = wait(durationMs, withHistory(tenMinutes));
      assert.ok(calls <= 19, `${durationMs} ms: ${calls} calls`);
    }
    const worst = worstLagMs(590_000, 615_000, withHistory(tenMinutes));
    assert.ok(worst <= 10_000, `worst lag ${worst} ms`);
  });

  test('with every wait jittered short, a ten-minute run costs at most a few more calls', () => {
    const { calls } = wait(615_000, withHistory(tenMinutes), JITTERS.most);
    assert.ok(calls <= 22, `${calls} calls`);
  });

  test('finds a one-minute run within a second of its end', () => {
    const oneMinute = { shortestMs: 60_000, longestMs: 60_000 };
    assert.ok(worstLagMs(59_000, 61_000, withHistory(oneMinute)) <= 1_000);
    assert.ok(wait(60_000, withHistory(oneMinute)).calls <= 10);
  });

  test('sees an early failure at most the time already waited late', () => {
    for (const failedAtMs of [3_000, 30_000, 90_000]) {
      const { lagMs } = wait(failedAtMs, withHistory(tenMinutes));
      assert.ok(lagMs <= failedAtMs, `failed at ${failedAtMs} ms: lag ${lagMs} ms`);
    }
  });

  test('bounds the lag of a run half or twice its history by a sixth of the shortest run, and maxIntervalMs', () => {
    assert.ok(wait(300_000, withHistory(tenMinutes)).lagMs <= 590_000 / 6);
    assert.ok(wait(1_200_000, withHistory(tenMinutes)).lagMs <= 60_000);
  });
});

describe('the default Glue job schedule without a history', () => {
  test('backs off to half the time already waited: a ten-minute run in ≤ 20 calls, seen ≤ 60 s late', () => {
    const { calls, lagMs } = wait(600_000, noHistory);
    assert.ok(calls <= 20, `${calls} calls`);
    assert.ok(lagMs <= 60_000, `lag ${lagMs} ms`);
  });

  test('a backoffCoefficient policy without history keeps the waiter’s own backoff', () => {
    const exponential = { initialIntervalMs: 15_000, maxIntervalMs: 60_000, backoffCoefficient: 1.5 };
    assert.equal(jobRunDelayMs(30_000, undefined, exponential), undefined);
  });
});

describe('the default crawl and statement schedules', () => {
  test("a pipeline's short waits (1 s crawls, a sub-second statement) add under 2.5 s of lag in all", () => {
    const crawl = wait(1_500, (e) => elapsedDelayMs(e, DEFAULT_POLLING.crawler)).lagMs;
    const statement = wait(300, (e) => elapsedDelayMs(e, DEFAULT_POLLING.redshift)).lagMs;
    const job = worstLagMs(59_000, 61_000, withHistory({ shortestMs: 60_000, longestMs: 60_000 }));
    assert.ok(2 * crawl + statement + job < 2_500, `crawls ${crawl} ms, statement ${statement} ms, job ${job} ms`);
  });

  test('a one-minute crawl is seen at most a quarter of a minute late; a ten-minute one within 30 s', () => {
    const crawler = (e: number) => elapsedDelayMs(e, DEFAULT_POLLING.crawler);
    assert.ok(worstLagMs(55_000, 65_000, crawler) <= 15_000);
    assert.ok(worstLagMs(590_000, 610_000, crawler) <= 30_000);
  });
});

describe('expectedDurationOf', () => {
  test('is the shortest and longest of the usable durations', () => {
    assert.deepEqual(expectedDurationOf([610_000, 0, 590_000, Number.NaN]), {
      shortestMs: 590_000,
      longestMs: 610_000,
    });
  });

  test('is undefined without history', () => {
    assert.equal(expectedDurationOf([]), undefined);
  });
});

describe('runDurationMs', () => {
  test('prefers CompletedOn minus StartedOn, to the millisecond', () => {
    const StartedOn = new Date('2026-01-01T00:00:00.000Z');
    assert.equal(
      runDurationMs({ StartedOn, CompletedOn: new Date('2026-01-01T00:10:00.250Z'), ExecutionTime: 600 }),
      600_250,
    );
  });

  test('falls back to ExecutionTime in seconds', () => {
    assert.equal(runDurationMs({ ExecutionTime: 600 }), 600_000);
  });
});
