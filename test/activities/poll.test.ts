import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { pollUntilSettled } from '../../src/activities/poll';
import { activityEnv, fastPolling, run } from '../../devstack/testkit/aws';

describe('the poll loop', () => {
  test('fails the attempt after too many transient errors in a row', async () => {
    let calls = 0;
    const poll = () =>
      pollUntilSettled({
        policy: fastPolling,
        maxConsecutiveErrors: 2,
        check: () => {
          calls++;
          return Promise.reject(ApplicationFailure.retryable('throttled', 'ThrottlingException'));
        },
        outcome: () => 'wait',
      });
    await assert.rejects(run(activityEnv(), poll), /throttled/);
    assert.equal(calls, 3);
  });

  test('passes a non-retryable error through at once', async () => {
    let calls = 0;
    const poll = () =>
      pollUntilSettled({
        policy: fastPolling,
        check: () => {
          calls++;
          return Promise.reject(ApplicationFailure.nonRetryable('gone', 'EntityNotFoundException'));
        },
        outcome: () => 'wait',
      });
    await assert.rejects(run(activityEnv(), poll), /gone/);
    assert.equal(calls, 1);
  });

  test('ends the attempt at once, retryably, when the worker begins to shut down', async () => {
    const shutdown = new AbortController();
    // An hour between polls: the test ends only if the sleep does (the test runner stops a file that never ends).
    const slow = { initialIntervalMs: 3_600_000, maxIntervalMs: 3_600_000, backoffCoefficient: 1 };
    const poll = () =>
      pollUntilSettled({
        policy: slow,
        check: () => Promise.resolve('RUNNING'),
        outcome: () => 'wait',
        workerShutdown: shutdown.signal,
      });
    const env = activityEnv();
    env.once('heartbeat', () => setTimeout(() => shutdown.abort(), 50));
    await assert.rejects(
      run(env, poll),
      (err) => err instanceof ApplicationFailure && err.type === 'WorkerShutdown' && !err.nonRetryable,
    );
  });

  test("a retry resumes the wait its last attempt's heartbeat names, and no other", async () => {
    const policy = { initialIntervalMs: 50, maxIntervalMs: 10_000, elapsedRatio: 0.5 };
    const waitedOnce = async (resumeKey: string, heartbeatDetails: unknown) => {
      const env = activityEnv({ heartbeatDetails, attempt: 2 });
      let checks = 0;
      await run(env, () =>
        pollUntilSettled({
          policy,
          resumeKey,
          check: () => Promise.resolve(++checks),
          outcome: (n) => (n >= 2 ? 'done' : 'wait'),
        }),
      );
      return env.heartbeats as { polls: number; waitingSince: number; resumeKey: string }[];
    };
    // The previous attempt began its wait 4 s ago and made 9 checks: this one counts on and keeps its start.
    const since = Date.now() - 4_000;
    const resumed = await waitedOnce('statement s-1', { resumeKey: 'statement s-1', waitingSince: since, polls: 9 });
    assert.equal(resumed.at(-1)!.polls, 11);
    assert.equal(resumed.at(-1)!.waitingSince, since);
    // A heartbeat of another wait (another statement) is not resumed: the schedule and count start afresh.
    const fresh = await waitedOnce('statement s-2', { resumeKey: 'statement s-1', waitingSince: since, polls: 9 });
    assert.equal(fresh.at(-1)!.polls, 2);
    assert.ok(fresh.at(-1)!.waitingSince > since);
  });

  test('stops sleeping at once when the activity is cancelled', async () => {
    const env = activityEnv();
    // An hour between polls: the test ends only if the sleep does (the test runner stops a file that never ends).
    const slow = { initialIntervalMs: 3_600_000, maxIntervalMs: 3_600_000, backoffCoefficient: 1 };
    const poll = () =>
      pollUntilSettled({ policy: slow, check: () => Promise.resolve('RUNNING'), outcome: () => 'wait' });
    env.once('heartbeat', () => setTimeout(() => env.cancel(), 50));
    await assert.rejects(run(env, poll), (err) => err instanceof CancelledFailure);
  });
});
