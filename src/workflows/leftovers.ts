/**
 * AWS work a failed step may have left running (a Glue job run, a Redshift statement): when it may still
 * run, and how it is stopped. The two patch ids mark the histories whose runs stop it.
 *
 * A step stops a leftover in the catch of the call that may leave it, not from a compensation list the runner
 * runs (the saga pattern): each stop depends on that call's own failure and must not run when a later call
 * fails, and a stop run one await later could be scheduled after a command another region's redshift-refresh
 * schedules in the same workflow task, which would change the command order recorded histories replay.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  log,
  patched,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { StoppedOnCancel } from '../workflow-safe/activity-types';
import type { FailureType } from '../workflow-safe/failures';
import type { StepProgress } from '../workflow-safe/pipeline';

/** Marks histories whose runs stop, by its run tag, a Glue run whose start was cancelled or timed out. */
export const STOP_BY_RUN_TAG_PATCH = 'stop-glue-run-by-tag';

/**
 * Marks histories whose runs stop what a failed wait left running (and whose executeStatements waits out a
 * cancellation); runs started before it replay as before.
 */
export const STOP_LEFTOVERS_PATCH = 'stop-aws-work-left-running';

/**
 * Whether the AWS work a wait watched may still be running after the wait failed with `err`. Not when
 * the work ended on its own (the wait's `endedType` failure), nor when the cancelled wait stopped it
 * itself (its cancellation carries {@link StoppedOnCancel}). Otherwise yes: above all a cancellation that
 * reached the wait while it was not running (worker down, between attempts, never started), which no
 * activity saw.
 */
export function mayStillRun(err: unknown, endedType: FailureType): boolean {
  const inner = err instanceof ActivityFailure ? err.cause : err;
  if (inner instanceof ApplicationFailure && inner.type === endedType) return false;
  const stopped = (d: unknown) => typeof (d as Partial<StoppedOnCancel> | null)?.finalState === 'string';
  return !(inner instanceof CancelledFailure && inner.details.some(stopped));
}

/**
 * Whether a failed startGlueJobRun may have left a run the workflow never heard of: it was cancelled or timed
 * out (an attempt may have died after StartJobRun). A start that Glue refused started nothing.
 */
export function startMayHaveRun(err: unknown): boolean {
  return isCancellation(err) || (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure);
}

/**
 * Stops AWS work a failed step may have left running, in a scope the run's cancellation cannot interrupt.
 * A failure to stop it is logged (the step's own failure is what the run fails with).
 */
export async function stopLeftover(p: StepProgress, what: string, stop: () => Promise<unknown>): Promise<void> {
  if (!patched(STOP_LEFTOVERS_PATCH)) return;
  try {
    await CancellationScope.nonCancellable(stop);
  } catch (err) {
    log.error(`could not stop ${what}: it may still be running`, { step: p.step, error: String(err) });
  }
}
