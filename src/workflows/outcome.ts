/**
 * What a run says about itself outside its history: a log line per step instance as it ends (the worker's log;
 * the workflow logger is silent while a history replays, so each line is written once), and the outcome memo that
 * `glueline list` shows (rows, failed step).
 */
import { log, patched, upsertMemo } from '@temporalio/workflow';
import { OUTCOME_MEMO_KEY, type RunOutcomeMemo, type StepProgress } from '../workflow-safe/pipeline';
import type { PipelineRun } from './run-state';

/** Recording the outcome memo is a command (ModifyWorkflowProperties): runs that closed before it do not. */
export const OUTCOME_MEMO_PATCH = 'outcome-memo';

/** Sets the run's outcome memo, once it has ended. */
export function publishOutcome(run: PipelineRun): void {
  if (!patched(OUTCOME_MEMO_PATCH)) return;
  const { totals } = run.result();
  const outcome: RunOutcomeMemo = {
    ...(totals.rowsIn !== undefined
      ? { rowsIn: totals.rowsIn, rowsOut: totals.rowsOut, rowsRejected: totals.rowsRejected }
      : {}),
    ...(run.progress.status === 'failed' && run.failure ? { failedStep: run.failure.step.step } : {}),
  };
  upsertMemo({ [OUTCOME_MEMO_KEY]: outcome });
}

/**
 * One INFO line (WARN when it failed) for a step instance that ended: its step, batch, status, duration, the AWS
 * ids it used (job run, crawler, statements) and its counts. The worker adds the workflow id, run id and type.
 */
export function logStepEnd(run: PipelineRun, p: StepProgress): void {
  const fields = {
    step: p.step,
    batchId: run.batch.id,
    pipeline: run.spec.name,
    status: p.status,
    durationMs: p.durationMs,
    ...p.awsIds,
    ...p.counts,
    ...(p.error ? { error: `${p.error.type}: ${p.error.message}` } : {}),
  };
  if (p.status === 'failed') log.warn(`step ${p.step} failed`, fields);
  else log.info(`step ${p.step} ${p.status}`, fields);
}
