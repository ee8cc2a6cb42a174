import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EntityNotFoundException, InternalServiceException, ThrottlingException } from '@aws-sdk/client-glue';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { awsFailure, failureOf, reportingAttempts } from '../../src/activities/errors';
import { AwsCallError, awsCall, isRetryableAwsError } from '../../src/aws/errors';
import { activityEnv, awsDeps, countingClients, fastPolling, rejection, run } from '../../devstack/testkit/aws';
import { stack, unique } from '../../devstack/testkit/stack';

const awsError = (name: string, status: number) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
const crawler = { operation: 'GetCrawler', resource: 'crawler raw-sales', region: 'us-east-1' };

describe('AWS error mapping', () => {
  test('keeps the exception class name as the failure type', () => {
    const failure = awsFailure(
      new EntityNotFoundException({ message: 'nope', $metadata: { httpStatusCode: 400 } }),
      crawler,
    );
    assert.equal(failure.type, 'EntityNotFoundException');
  });

  test('makes a missing resource non-retryable and says how to fix it', () => {
    const failure = awsFailure(
      new EntityNotFoundException({
        message: 'Crawler entry with name raw-sales does not exist',
        $metadata: { httpStatusCode: 400 },
      }),
      { ...crawler, notFoundFix: 'run npm run provision' },
    );
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /^crawler raw-sales does not exist in us-east-1 .*: run npm run provision$/);
  });

  test('makes access denied non-retryable and names the operation to allow', () => {
    const failure = awsFailure(awsError('AccessDeniedException', 400), crawler);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /allow the worker's AWS identity to call GetCrawler/);
  });

  test("turns the AWS layer's error into the same failure as the SDK exception it wraps", async () => {
    const sdkError = awsError('AccessDeniedException', 400);
    const layerError = await awsCall(crawler, () => Promise.reject(sdkError)).catch((err: unknown) => err);
    assert.ok(layerError instanceof AwsCallError);
    assert.equal(layerError.name, 'AccessDeniedException');
    assert.equal(isRetryableAwsError(layerError), false);
    const failure = failureOf(layerError);
    const direct = awsFailure(sdkError, crawler);
    assert.ok(failure instanceof ApplicationFailure);
    assert.deepEqual(
      [failure.type, failure.nonRetryable, failure.message, failure.details],
      [direct.type, direct.nonRetryable, direct.message, direct.details],
    );
  });

  test('retries throttling whatever its status code', () => {
    assert.equal(
      isRetryableAwsError(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } })),
      true,
    );
    assert.equal(isRetryableAwsError(awsError('SlowDown', 503)), true);
  });

  test('retries server faults, 408 and 429', () => {
    assert.equal(
      isRetryableAwsError(new InternalServiceException({ message: 'oops', $metadata: { httpStatusCode: 500 } })),
      true,
    );
    assert.equal(isRetryableAwsError(awsError('RequestTimeout', 408)), true);
    assert.equal(isRetryableAwsError(awsError('TooManyRequests', 429)), true);
  });

  test('does not retry other client faults', () => {
    assert.equal(isRetryableAwsError(awsError('InvalidParameterValue', 400)), false);
    assert.equal(isRetryableAwsError(awsError('ValidationException', 400)), false);
  });

  test('retries errors that never reached AWS (network)', () => {
    assert.equal(isRetryableAwsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
  });
});

describe('the attempt number on every failure an activity raises', () => {
  test('an AWS failure of a real activity carries the attempt it happened on', async () => {
    const activities = createActivities(awsDeps(countingClients().aws));
    const err = await rejection(
      run(activityEnv({ attempt: 4 }), activities.waitForGlueJobRun, {
        region: stack().aws.regions[0]!,
        jobName: unique('act-no-such-job'),
        jobRunId: 'jr_unknown',
        polling: fastPolling,
      }),
    );
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.deepEqual(err.details?.at(-1), { activityAttempt: 4 });
    assert.equal((err.details?.[0] as { operation?: string }).operation, 'GetJobRun', 'the original details are kept');
  });

  test('a plain Error becomes a retryable failure of its name, with the attempt', async () => {
    const wrapped = reportingAttempts({
      boom: async () => {
        throw new TypeError('no JobRunId');
      },
    });
    const err = await rejection(run(activityEnv({ attempt: 2 }), wrapped.boom));
    assert.equal(err.type, 'TypeError');
    assert.equal(err.message, 'no JobRunId');
    assert.equal(err.nonRetryable, false);
    assert.deepEqual(err.details, [{ activityAttempt: 2 }]);
  });

  test('a cancellation passes through unchanged', async () => {
    const cancelled = new CancelledFailure('stopped', [{ stoppedId: 'jr_1', finalState: 'STOPPED' }]);
    const wrapped = reportingAttempts({
      wait: async () => {
        throw cancelled;
      },
    });
    await assert.rejects(run(activityEnv({ attempt: 3 }), wrapped.wait), (err) => err === cancelled);
  });
});
