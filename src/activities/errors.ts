/**
 * How activities turn the AWS layer's errors into Temporal failures (the classification itself is
 * src/aws/errors.ts): the exception's class name becomes the failure type, client faults are
 * non-retryable, throttling and server faults retry, and the message names the operation, the resource
 * and, where there is one, the fix. Every failure an activity raises carries the activity's attempt number in its details ({@link withActivityAttempt}).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { AwsCallError, describeAwsError, type AwsTarget } from '../aws/errors';

/** The error as an ApplicationFailure that names the operation, the resource and the fix. */
export function awsFailure(err: unknown, target: AwsTarget): ApplicationFailure {
  const { message, type, retryable, details } = describeAwsError(err, target);
  return ApplicationFailure.create({ message, type, nonRetryable: !retryable, details: [details] });
}

/** True for a Temporal failure that must pass through unchanged (already converted, or a cancellation). */
export function isTemporalFailure(err: unknown): err is ApplicationFailure | CancelledFailure {
  return err instanceof ApplicationFailure || err instanceof CancelledFailure;
}

/** What an activity raises for `err`: an AWS layer's {@link AwsCallError} as {@link awsFailure}, anything else as is. */
export function failureOf(err: unknown): unknown {
  return err instanceof AwsCallError ? awsFailure(err.cause, err.target) : err;
}

/** Runs a call of the AWS layer; its AwsCallError comes out as the Temporal failure {@link failureOf}. */
export async function viaAws<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw failureOf(err);
  }
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
export function withActivityAttempt(raised: unknown): unknown {
  const err = failureOf(raised);
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
