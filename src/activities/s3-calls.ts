/** The S3 activities' way of calling the AWS layer: cancellable calls, failures as Temporal failures. */
import { Context } from '@temporalio/activity';
import type { CallOptions } from '../aws/s3-objects';
import { failureOf } from './errors';

/** The signal that aborts SDK calls when the activity is cancelled, as the calls' options. */
export const cancellable = (): CallOptions => ({ abortSignal: Context.current().cancellationSignal });

/** Runs calls of the AWS layer; an abort after cancellation comes out as the cancellation itself. */
export async function s3Calls<T>(calls: () => Promise<T>): Promise<T> {
  try {
    return await calls();
  } catch (err) {
    // An aborted call fails with whatever the SDK makes of the abort: report the cancellation instead.
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) throw signal.reason;
    throw failureOf(err);
  }
}
