/**
 * Glue job activities: start a run at most once per pipeline run (found again by its run tag after a
 * crash), wait for it with heartbeats (stopping it when the workflow cancels the wait), and stop it on
 * its own when the wait was not there to be cancelled. The calls and the state table are in
 * src/aws/glue-job-runs.ts; here are the Temporal decisions.
 */
import type { GlueClient } from '@aws-sdk/client-glue';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { awsErrorName, errorText, mayHaveTakenEffect } from '../aws/errors';
import {
  findTaggedRun,
  RUN_TAG_CLOCK_SKEW_MS,
  getJobRun,
  jobRunFailedDetails,
  jobRunOutcome,
  recentRunDurationsMs,
  startJobRun,
  stopJobRun,
  type JobRunRef,
} from '../aws/glue-job-runs';
import { expectedDurationOf, expectedEndDelayMs } from '../aws/waiter';
import { glueJobRunFailed, invalidInput, jobRunNotStopped } from '../workflow-safe/failures';
import { failureOf, viaAws } from './errors';
import { callAfterCancel, cancelRequested, pollAfterCancel, pollUntilSettled } from './poll';
import type {
  GlueJobRunResult,
  GluelineActivities,
  StartGlueJobRunInput,
  StartGlueJobRunResult,
  StopGlueJobRunInput,
  StopGlueJobRunResult,
  StoppedOnCancel,
  WaitForGlueJobRunInput,
} from '../workflow-safe/activity-types';
import { DEFAULT_POLLING } from '../workflow-safe/spec';
import type { ActivityDeps } from './deps';

/**
 * How long a cancelled wait keeps trying to stop the run, and then waits for it to reach STOPPED, before
 * reporting the cancellation.
 */
const STOP_WAIT_MS = 10 * 60_000;

/**
 * What a start attempt found: our run, a job at its MaxConcurrentRuns, or a StartJobRun that failed after
 * Glue may have acted on it (`unsure`).
 */
type StartLook = StartGlueJobRunResult | { busy: true } | { unsure: unknown };

async function startGlueJobRun(deps: ActivityDeps, input: StartGlueJobRunInput): Promise<StartGlueJobRunResult> {
  const { aws, workerShutdown } = deps;
  const glue = { look: aws.glue(input.region), start: aws.glueNoRetry(input.region) };
  // Our run cannot have started before the first attempt of this activity was scheduled.
  const startedAfter = new Date(Context.current().info.scheduledTimestampMs - RUN_TAG_CLOCK_SKEW_MS);
  const { value } = await pollUntilSettled<StartLook>({
    workerShutdown,
    policy: input.polling ?? DEFAULT_POLLING.glueJob,
    check: () => startOnce(glue, { ...input, startedAfter }),
    // The job is at its MaxConcurrentRuns: wait for a slot rather than failing or starting blindly.
    outcome: (look) => ('busy' in look ? 'wait' : 'done'),
    describe: (look) =>
      'busy' in look
        ? { waitingFor: 'ConcurrentRunsExceededException', jobName: input.jobName }
        : 'unsure' in look
          ? { startUnsure: errorText(look.unsure) }
          : { ...look },
  });
  if ('unsure' in value) throw startUnsure(value.unsure);
  return value as StartGlueJobRunResult;
}

/**
 * The retryable failure of an attempt whose StartJobRun may have started the run: Temporal's retry makes the
 * next attempt, which looks for the run by its tag before it starts one.
 */
function startUnsure(err: unknown): unknown {
  const failure = failureOf(err);
  if (!(failure instanceof ApplicationFailure)) return failure;
  return ApplicationFailure.create({
    type: failure.type ?? undefined,
    nonRetryable: false,
    message:
      `${failure.message}; the run may have started all the same (StartJobRun has no idempotency token, so it is ` +
      'not resent): the next attempt looks for it by its run tag before starting one',
    details: failure.details ?? [],
  });
}

async function waitForGlueJobRun(deps: ActivityDeps, input: WaitForGlueJobRunInput): Promise<GlueJobRunResult> {
  const { aws, workerShutdown } = deps;
  const glue = aws.glue(input.region);
  try {
    const expected = input.polling.expectedDurationFrom === 'history' ? await recentDuration(glue, input) : undefined;
    const waitStartedMs = Date.now();
    const {
      value: run,
      outcome,
      polls,
    } = await pollUntilSettled({
      workerShutdown,
      policy: input.polling,
      check: () => getJobRun(glue, input),
      delayMs: (run) =>
        expected &&
        expectedEndDelayMs(Date.now() - (run?.StartedOn?.getTime() ?? waitStartedMs), expected, input.polling),
      outcome: (run) => jobRunOutcome(run.JobRunState),
      describe: (run) => ({ jobRunId: input.jobRunId, jobRunState: run.JobRunState }),
    });
    if (outcome === 'fail') throw glueJobRunFailed(jobRunFailedDetails(input.region, input.jobName, run), run.Timeout);
    return {
      jobRunId: input.jobRunId,
      jobRunState: 'SUCCEEDED',
      executionTimeSeconds: run.ExecutionTime ?? 0,
      startedOn: run.StartedOn?.toISOString(),
      completedOn: run.CompletedOn?.toISOString(),
      polls,
    };
  } catch (err) {
    if (!cancelRequested(err)) throw err;
    const ended = await stopAfterCancel(glue, input);
    if (!ended) throw err;
    // Tells the workflow the run is over, so it does not stop it again.
    const details: StoppedOnCancel = { stoppedId: input.jobRunId, finalState: ended };
    throw new CancelledFailure(`the wait was cancelled and glue job run ${input.jobRunId} ended ${ended}`, [details]);
  }
}

async function stopGlueJobRun(deps: ActivityDeps, input: StopGlueJobRunInput): Promise<StopGlueJobRunResult> {
  const { aws, workerShutdown } = deps;
  const glue = aws.glue(input.region);
  // Without an id, the run is the one a start attempt made and died (or was cancelled) before reporting:
  // found by its tag, as a retry of startGlueJobRun would find it.
  if (!input.jobRunId && !input.runTag) throw invalidInput('stopGlueJobRun needs a jobRunId or a runTag');
  const jobRunId = input.jobRunId ?? (await viaAws(() => findTaggedRun(glue, { ...input, runTag: input.runTag! })));
  if (!jobRunId) {
    log.info('no glue job run to stop: none carries the run tag', { jobName: input.jobName, runTag: input.runTag });
    return { jobRunState: 'NOT_STARTED', stopRequested: false };
  }
  const ref = { ...input, jobRunId };
  let stopRequested = false;
  // Look first, so a run that already ended (stopped by the cancelled wait, or finished) is left alone.
  // A throttled or refused BatchStopJobRun is a transient error of a poll: tried again with backoff.
  const { value: run } = await pollUntilSettled({
    workerShutdown,
    policy: input.polling ?? DEFAULT_POLLING.glueJob,
    check: async () => {
      const run = await getJobRun(glue, ref);
      if (!stopRequested && jobRunOutcome(run.JobRunState) === 'wait' && run.JobRunState !== 'STOPPING') {
        await requestStop(glue, ref);
        stopRequested = true;
      }
      return run;
    },
    outcome: (run) => (jobRunOutcome(run.JobRunState) === 'wait' ? 'wait' : 'done'),
    describe: (run) => ({ jobRunId, jobRunState: run.JobRunState, stopRequested }),
  });
  log.info('glue job run is over', { jobRunId, jobRunState: run.JobRunState, stopRequested });
  return { jobRunId, jobRunState: run.JobRunState ?? 'UNKNOWN', stopRequested };
}

/**
 * One try at starting the run: a run a previous attempt started (and died, or lost StartJobRun's answer, before
 * recording it) is found by its tag and reused; a job at its MaxConcurrentRuns answers busy. StartJobRun is sent
 * once, by a client without SDK retries, and only after the lookup.
 */
async function startOnce(
  glue: { look: GlueClient; start: GlueClient },
  input: StartGlueJobRunInput & { startedAfter: Date },
): Promise<StartLook> {
  const existing = await findTaggedRun(glue.look, input);
  if (existing) {
    log.info('reusing the glue job run this pipeline run started before', { jobRunId: existing });
    return { jobRunId: existing, reused: true };
  }
  try {
    return { jobRunId: await startJobRun(glue.start, input), reused: false };
  } catch (err) {
    if (awsErrorName(err) === 'ConcurrentRunsExceededException') return { busy: true };
    // Throttled or refused: Glue did not act on it, and the next look (lookup first) may start it again.
    if (mayHaveTakenEffect(err)) return { unsure: err };
    throw err;
  }
}

/**
 * How long the job's latest successful runs took, or undefined (then the wait backs off as usual):
 * one GetJobRuns call, whose failure only costs the smarter schedule.
 */
async function recentDuration(glue: GlueClient, input: WaitForGlueJobRunInput) {
  try {
    return expectedDurationOf(await recentRunDurationsMs(glue, input.jobName, input.jobRunId));
  } catch (err) {
    log.warn('GetJobRuns failed; polling without the job history', {
      jobName: input.jobName,
      error: errorText(err),
    });
    return undefined;
  }
}

/** BatchStopJobRun of one run; its per-run refusal becomes a failure (EntityNotFound is final, others retry). */
async function requestStop(glue: GlueClient, ref: JobRunRef): Promise<void> {
  const refused = await stopJobRun(glue, ref);
  if (!refused) return;
  const details = { region: ref.region, jobName: ref.jobName, jobRunId: ref.jobRunId, errorCode: refused.code };
  if (refused.code === 'EntityNotFoundException') {
    throw ApplicationFailure.create({
      type: refused.code,
      nonRetryable: true,
      message: `${refused.resource} does not exist in ${ref.region} (BatchStopJobRun: ${refused.why}): ${refused.notFoundFix}`,
      details: [details],
    });
  }
  // Often the run ended just now (the next look says so); otherwise the stop is asked for again.
  throw jobRunNotStopped(`BatchStopJobRun did not stop ${refused.resource}: ${refused.why}`, details);
}

/**
 * Stops the run the cancelled wait was watching, and waits (bounded) until Glue says it ended.
 * @returns the terminal state, or undefined when the run could not be seen to end
 */
async function stopAfterCancel(glue: GlueClient, input: WaitForGlueJobRunInput): Promise<string | undefined> {
  try {
    const refused = await callAfterCancel(() => stopJobRun(glue, input), input.polling, STOP_WAIT_MS);
    if (refused) log.warn('BatchStopJobRun did not stop the run', { jobRunId: input.jobRunId, error: refused.why });
  } catch (err) {
    log.warn('BatchStopJobRun failed; the run may still be running', {
      jobRunId: input.jobRunId,
      error: errorText(err),
    });
    return undefined;
  }
  const last = await pollAfterCancel(
    () => getJobRun(glue, input),
    (run) => jobRunOutcome(run.JobRunState) !== 'wait',
    input.polling,
    STOP_WAIT_MS,
  );
  log.info('glue job run stopped after cancellation', { jobRunId: input.jobRunId, jobRunState: last?.JobRunState });
  return last?.JobRunState !== undefined && jobRunOutcome(last.JobRunState) !== 'wait' ? last.JobRunState : undefined;
}
/** The Glue job activities, over the clients and settings in `deps`. */
export function createGlueActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'startGlueJobRun' | 'waitForGlueJobRun' | 'stopGlueJobRun'> {
  return {
    startGlueJobRun: (input) => startGlueJobRun(deps, input),
    waitForGlueJobRun: (input) => waitForGlueJobRun(deps, input),
    stopGlueJobRun: (input) => stopGlueJobRun(deps, input),
  };
}
