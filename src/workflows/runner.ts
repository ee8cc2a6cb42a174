/**
 * The one step runner behind both workflows. `csvPipeline` runs the selected steps of the whole pipeline;
 * `pipelineStep` runs one step instance through exactly the same code. The pipeline:
 *
 *   stage-raw → crawl-raw → transform → replicate-curated → per region [crawl-curated → redshift-refresh]
 *
 * The step bodies are in ./steps, the run's state in ./run-state, the failure notice in ./notify, a cancel request
 * that came after the AWS work had finished in ./cancel-request.
 */
import {
  ApplicationFailure,
  defineQuery,
  isCancellation,
  setHandler,
  TemporalFailure,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { invalidInput } from '../workflow-safe/failures';
import {
  PROGRESS_QUERY,
  SearchAttributeKeys,
  type PipelineProgress,
  type PipelineResult,
} from '../workflow-safe/pipeline';
import { type StepName } from '../workflow-safe/run-input';
import { parseOrExplain, SpecValidationError } from '../workflow-safe/validation';
import { noteLateCancel, watchCancelRequest } from './cancel-request';
import { showDetails } from './details';
import { attemptOf, describeFailure } from './notify';
import { logStepEnd, publishOutcome } from './outcome';
import type { PipelineRun, StepBody } from './run-state';
import { STEP_BODIES } from './steps';
import type { z } from 'zod';

/** The `progress` query: every step instance's status, attempt, times, AWS ids and counts. */
export const progressQuery = defineQuery<PipelineProgress>(PROGRESS_QUERY);

/**
 * Validates workflow input. A bad spec fails the run at once, non-retryably, with every problem's path,
 * value and fix, before any step runs. No notification is sent here: nothing ran and the caller sees the error
 * as the run's result; a run nobody watched start (a schedule, an S3 event) is notified by ./refused.
 */
export function validateInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  try {
    return parseOrExplain(schema, input, 'input');
  } catch (err) {
    if (err instanceof SpecValidationError) {
      throw invalidInput(err.message, { problems: err.problems });
    }
    throw err;
  }
}

/**
 * Runs a pipeline run's step instances in order (regions in parallel after replicate-curated) and
 * returns the result. On any failure, including a timeout or a cancellation, it sends exactly one
 * failure notification, then rethrows the original failure.
 */
export async function runPipeline(run: PipelineRun): Promise<PipelineResult> {
  publishRun(run);
  watchCancelRequest(run);
  try {
    await runStep(run, 'stage-raw');
    await runStep(run, 'crawl-raw');
    await runStep(run, 'transform');
    await runStep(run, 'replicate-curated');
    await runRegions(run);
  } catch (err) {
    const failure = run.failure?.error ?? asTemporalFailure(err);
    run.progress.status = isCancellation(failure) ? 'cancelled' : 'failed';
    run.progress.endedAt = new Date().toISOString();
    publishOutcome(run);
    await run.notifyOnce(failure);
    await run.warningsOut();
    throw failure;
  }
  await run.warningsOut();
  run.progress.status = 'succeeded';
  run.progress.endedAt = new Date().toISOString();
  publishOutcome(run);
  noteLateCancel(run);
  showDetails(run);
  return run.result();
}

/** Answers the `progress` query, and sets the run's search attributes and memo. */
function publishRun(run: PipelineRun): void {
  setHandler(progressQuery, () => run.progress);
  // Starters set these at start (src/starters/start-options.ts); a run started by hand gets them here. Either way
  // the namespace must have them registered (the dev server of devstack/ does).
  const attributes = [
    { key: SearchAttributeKeys.pipeline, value: run.spec.name },
    { key: SearchAttributeKeys.batch, value: run.batch.id },
  ];
  const current = workflowInfo().typedSearchAttributes;
  if (attributes.some(({ key, value }) => current.get(key) !== value)) upsertSearchAttributes(attributes);
  upsertMemo({ pipeline: run.spec.name, batchId: run.batch.id, steps: run.progress.steps.map((s) => s.step) });
}

/** Runs one step instance through its body in STEP_BODIES (unless skipped or not in this run), keeping its progress. */
async function runStep(run: PipelineRun, name: StepName, region?: string): Promise<void> {
  const p = run.step(name, region);
  if (!p || p.status === 'skipped') return;
  const body: StepBody = STEP_BODIES[name];
  p.status = 'running';
  p.startedAt = new Date().toISOString();
  showDetails(run);
  try {
    await body(p, run);
    p.status = 'succeeded';
  } catch (err) {
    const failure = asTemporalFailure(err);
    p.status = isCancellation(failure) ? 'cancelled' : 'failed';
    const { type, message } = describeFailure(failure);
    p.error = { type, message };
    const attempt = attemptOf(failure);
    if (attempt !== undefined) p.attempt = attempt;
    run.failure ??= { step: p, error: failure };
    throw failure;
  } finally {
    p.endedAt = new Date().toISOString();
    p.durationMs = Date.parse(p.endedAt) - Date.parse(p.startedAt);
    showDetails(run);
    logStepEnd(run, p);
  }
}

/**
 * crawl-curated then redshift-refresh, in every region at once. Regions are independent: the first
 * failure is notified at once, the other regions still finish (their data is verified and their refresh
 * is a whole transaction), and then the run fails with the first failure. Not cancelling the others also
 * keeps a half-run statement from being aborted mid-refresh.
 */
async function runRegions(run: PipelineRun): Promise<void> {
  const outcomes = await Promise.allSettled(
    run.spec.regions.map(async (r) => {
      try {
        await runStep(run, 'crawl-curated', r.region);
        await runStep(run, 'redshift-refresh', r.region);
      } catch (err) {
        if (run.failure && !isCancellation(run.failure.error)) await run.notifyOnce(run.failure.error);
        throw err;
      }
    }),
  );
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw run.failure?.error ?? rejected.reason;
}

/** An error as a TemporalFailure: what the workflow can fail with (anything else would only fail the task). */
function asTemporalFailure(err: unknown): TemporalFailure {
  if (err instanceof TemporalFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
}
