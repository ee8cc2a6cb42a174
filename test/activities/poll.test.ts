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
    const slow = { initialIntervalMs: 60_000, maxIntervalMs: 60_000, backoffCoefficient: 1 };
    const poll = () =>
      pollUntilSettled({
        policy: slow,
        check: () => Promise.resolve('RUNNING'),
        outcome: () => 'wait',
        workerShutdown: shutdown.signal,
      });
    const env = activityEnv();
    const started = Date.now();
    env.once('heartbeat', () => setTimeout(() => shutdown.abort(), 50));
    await assert.rejects(
      run(env, poll),
      (err) => err instanceof ApplicationFailure && err.type === 'WorkerShutdown' && !err.nonRetryable,
    );
    assert.ok(Date.now() - started < 5_000, 'the wait kept sleeping after the shutdown began');
  });

  test('stops sleeping at once when the activity is cancelled', async () => {
    const env = activityEnv();
    const slow = { initialIntervalMs: 60_000, maxIntervalMs: 60_000, backoffCoefficient: 1 };
    const poll = () =>
      pollUntilSettled({ policy: slow, check: () => Promise.resolve('RUNNING'), outcome: () => 'wait' });
    const started = Date.now();
    env.once('heartbeat', () => setTimeout(() => env.cancel(), 50));
    await assert.rejects(run(env, poll), (err) => err instanceof CancelledFailure);
    assert.ok(Date.now() - started < 5_000, 'the cancelled poll kept sleeping');
  });
});
