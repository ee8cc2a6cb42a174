import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runDurationMs } from '../../src/aws/glue-job-runs';
import { expectedDurationOf, expectedEndDelayMs } from '../../src/aws/waiter';
import { DEFAULT_POLLING } from '../../src/workflow-safe/spec';

const policy = { ...DEFAULT_POLLING.glueJob, expectedDurationFrom: 'history' as const };
const tenMinutes = { shortestMs: 590_000, longestMs: 610_000 };

/** The poll times (ms after the run started) until the first poll at or after `endMs`. */
function pollTimes(endMs: number, expected = tenMinutes): number[] {
  const times = [0];
  while (times.at(-1)! < endMs) times.push(times.at(-1)! + expectedEndDelayMs(times.at(-1)!, expected, policy));
  return times;
}

describe('expectedEndDelayMs', () => {
  test('polls at most every maxIntervalMs early in the run', () => {
    assert.equal(expectedEndDelayMs(0, tenMinutes, policy), 60_000);
  });

  test('lands the first dense poll nearEndIntervalMs before the shortest known duration', () => {
    assert.equal(expectedEndDelayMs(540_000, tenMinutes, policy), 45_000);
  });

  test('polls every nearEndIntervalMs between the shortest and the longest known duration', () => {
    assert.equal(expectedEndDelayMs(600_000, tenMinutes, policy), 5_000);
  });

  test('spreads the dense polls when the history spreads widely', () => {
    assert.equal(expectedEndDelayMs(600_000, { shortestMs: 300_000, longestMs: 900_000 }, policy), 61_000);
  });

  test('backs off by half the overrun once the longest known duration is passed, capped at maxIntervalMs', () => {
    assert.equal(expectedEndDelayMs(640_000, tenMinutes, policy), 15_000);
    assert.equal(expectedEndDelayMs(2_000_000, tenMinutes, policy), 60_000);
  });

  test('finds a 10-minute run within 20 polls and 10 s of its end', () => {
    const times = pollTimes(600_000);
    assert.ok(times.length <= 20, `${times.length} polls`);
    assert.ok(times.at(-1)! - 600_000 <= 10_000, `lag ${times.at(-1)! - 600_000} ms`);
  });
});

describe('expectedDurationOf', () => {
  test('is the shortest and longest of the usable durations', () => {
    assert.deepEqual(expectedDurationOf([610_000, 0, 590_000, Number.NaN]), tenMinutes);
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
