/**
 * How activities turn AWS SDK exceptions into Temporal failures: the exception's class name becomes
 * the failure type, client faults are non-retryable, throttling and server faults retry, and the
 * message names the operation, the resource and, where there is one, the fix. Every failure an activity
 * raises carries the activity's attempt number in its details ({@link withActivityAttempt}).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType, NON_RETRYABLE_AWS_ERRORS } from '../workflow-safe/failures';

/** Error names that a later attempt can get past (mostly "slow down"), whatever the status code. */
const THROTTLING_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'ActiveStatementsExceededException',
  'ConcurrentRunsExceededException',
  'ConcurrentModificationException',
  'OperationTimeoutException',
  // The source changed between our HEAD and the copy (CopySourceIfMatch): the next attempt copies the new one.
  'PreconditionFailed',
]);

/** Error names that say the resource is not there: the fix is to create it (or to fix its name). */
const NOT_FOUND_ERRORS = new Set([
  'EntityNotFoundException',
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'ResourceNotFoundException',
]);

const NON_RETRYABLE = new Set<string>(NON_RETRYABLE_AWS_ERRORS);

/** What an AWS SDK v3 exception carries that we use. */
interface AwsErrorLike {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: { throttling?: boolean };
}

function isAwsError(err: unknown): err is AwsErrorLike {
  return err instanceof Error && typeof (err as { $metadata?: unknown }).$metadata === 'object';
}

/** The AWS error name of `err`, when it is an AWS SDK exception. */
export function awsErrorName(err: unknown): string | undefined {
  return isAwsError(err) ? err.name : undefined;
}

/** True for throttling and server faults (and network errors): a later attempt may succeed. */
export function isRetryableAwsError(err: unknown): boolean {
  if (!isAwsError(err)) return true;
  if (THROTTLING_ERRORS.has(err.name) || err.$retryable?.throttling) return true;
  if (NON_RETRYABLE.has(err.name)) return false;
  const status = err.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  if (status === 408 || status === 429) return true;
  return !(status >= 400 && status < 500);
}

/** What an AWS call acts on, for messages: `crawler raw-sales`, `object s3://b/k`. */
export interface AwsTarget {
  /** The SDK command name without `Command`: `GetCrawler`. */
  operation: string;
  /** The resource, as a person names it: `crawler raw-sales`. */
  resource: string;
  region: string;
  /** The bucket the call acts on, so NoSuchBucket names the bucket rather than the object. @default - none */
  bucket?: string;
  /** What to do when the resource does not exist. @default - no advice */
  notFoundFix?: string;
}

/** The error as an ApplicationFailure that names the operation, the resource and the fix. */
export function awsFailure(err: unknown, target: AwsTarget): ApplicationFailure {
  const name = err instanceof Error ? err.name : 'Error';
  const awsMessage = (err instanceof Error ? err.message : String(err)) || 'no message';
  const status = isAwsError(err) ? err.$metadata?.httpStatusCode : undefined;
  const where = `${target.resource} in ${target.region}`;
  let message: string;
  if (name === 'NoSuchBucket' && target.bucket !== undefined) {
    message =
      `bucket ${target.bucket} does not exist in ${target.region} (${target.operation} on ${target.resource}: ${awsMessage}): ` +
      'create the bucket (npm run provision) or fix the bucket name in the spec';
  } else if (NOT_FOUND_ERRORS.has(name)) {
    message = `${target.resource} does not exist in ${target.region} (${target.operation}: ${name}: ${awsMessage})`;
    if (target.notFoundFix) message += `: ${target.notFoundFix}`;
  } else if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    message =
      `${target.operation} on ${where} was denied (${awsMessage}): ` +
      `allow the worker's AWS identity to call ${target.operation} on it`;
  } else {
    message = `${target.operation} on ${where} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${awsMessage}`;
  }
  return ApplicationFailure.create({
    message,
    type: isAwsError(err) ? name : err instanceof Error && name !== 'Error' ? name : 'AwsCallFailed',
    nonRetryable: !isRetryableAwsError(err),
    details: [
      {
        operation: target.operation,
        resource: target.resource,
        region: target.region,
        awsErrorName: name,
        httpStatusCode: status,
        requestId: isAwsError(err) ? err.$metadata?.requestId : undefined,
      },
    ],
  });
}

/** True for a Temporal failure that must pass through unchanged (already converted, or a cancellation). */
export function isTemporalFailure(err: unknown): err is ApplicationFailure | CancelledFailure {
  return err instanceof ApplicationFailure || err instanceof CancelledFailure;
}

/** Runs one AWS call; any exception it throws comes out as {@link awsFailure}. */
export async function awsCall<T>(target: AwsTarget, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isTemporalFailure(err)) throw err;
    throw awsFailure(err, target);
  }
}

/** A non-retryable failure of bad input: the message says what was wrong and how to fix it. */
export function invalidInput(message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: FailureType.InvalidInput,
    nonRetryable: true,
    details: details ? [details] : undefined,
  });
}

/** The detail that names the attempt an activity failed on; the workflow cannot see attempt numbers itself. */
export interface ActivityAttemptDetail {
  /** Temporal's attempt number of the activity (1 for the first), not an AWS service's own attempt count. */
  activityAttempt: number;
}

const hasAttempt = (failure: ApplicationFailure) =>
  (failure.details ?? []).some(
    (d) => typeof (d as Partial<ActivityAttemptDetail> | null)?.activityAttempt === 'number',
  );

/**
 * The error an activity is about to raise, with `{ activityAttempt }` added to its details, so the
 * workflow's failure notice can say which attempt failed. A cancellation, and anything raised after the
 * activity was cancelled, passes through unchanged (the worker must still see it as a cancellation); a
 * plain Error becomes the ApplicationFailure the SDK would have made of it (type = its name, retryable).
 */
export function withActivityAttempt(err: unknown): unknown {
  if (err instanceof CancelledFailure || !(err instanceof Error)) return err;
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return err; // called outside an activity (a direct call in a test): there is no attempt to report
  }
  if (ctx.cancellationSignal.aborted) return err;
  const detail: ActivityAttemptDetail = { activityAttempt: ctx.info.attempt };
  if (err instanceof ApplicationFailure) {
    if (hasAttempt(err)) return err;
    const failure = ApplicationFailure.create({
      message: err.message,
      type: err.type ?? undefined,
      nonRetryable: err.nonRetryable ?? false,
      details: [...(err.details ?? []), detail],
      cause: err.cause,
      nextRetryDelay: err.nextRetryDelay ?? undefined,
      category: err.category ?? undefined,
    });
    failure.stack = err.stack;
    return failure;
  }
  const failure = ApplicationFailure.create({ message: err.message, type: err.name, details: [detail] });
  failure.stack = err.stack;
  return failure;
}

/** Wraps each activity so every failure it raises carries its attempt number ({@link withActivityAttempt}). */
export function reportingAttempts<T extends object>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } catch (err) {
          throw withActivityAttempt(err);
        }
      },
    ]),
  ) as T;
}
