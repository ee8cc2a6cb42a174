/**
 * Glue job activities: start a run at most once per pipeline run (found again by its run tag after a
 * crash), wait for it with heartbeats (stopping it when the workflow cancels the wait), and stop it on
 * its own when the wait was not there to be cancelled.
 */
import {
  BatchStopJobRunCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  StartJobRunCommand,
  type GlueClient,
  type JobRun,
  type JobRunState,
} from '@aws-sdk/client-glue';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../workflow-safe/failures';
import { RUN_TAG_ARGUMENT } from '../workflow-safe/layout';
import { DEFAULT_POLLING } from '../workflow-safe/spec';
import { awsCall, awsErrorName, awsFailure, invalidInput, isTemporalFailure, type AwsTarget } from './errors';
import {
  callAfterCancel,
  cancelRequested,
  expectedDurationOf,
  expectedEndDelayMs,
  heartbeatingSleep,
  nextIntervalMs,
  pollAfterCancel,
  pollUntilSettled,
  type Outcome,
} from './poll';
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
import type { ActivityDeps } from './deps';

/** What each Glue job run state means for the wait. STOPPED is a failure: the run did not do its work. */
export const GLUE_JOB_RUN_OUTCOME = {
  STARTING: 'wait',
  RUNNING: 'wait',
  STOPPING: 'wait',
  WAITING: 'wait',
  SUCCEEDED: 'done',
  FAILED: 'fail',
  ERROR: 'fail',
  TIMEOUT: 'fail',
  STOPPED: 'fail',
  EXPIRED: 'fail',
} as const satisfies Record<JobRunState, Outcome>;

/** How far back startGlueJobRun looks for a run with its tag: pages of GetJobRuns, newest first. */
export const RUN_TAG_SCAN_PAGES = 5;
const RUN_TAG_SCAN_PAGE_SIZE = 200;
/**
 * How long a cancelled wait keeps trying to stop the run, and then waits for it to reach STOPPED, before
 * reporting the cancellation.
 */
const STOP_WAIT_MS = 10 * 60_000;

const DEFAULT_LOG_GROUP = '/aws-glue/jobs';
/** How many of the job's latest runs smart polling reads for their durations. */
export const HISTORY_RUNS = 10;

/** How long a finished run took: CompletedOn - StartedOn (ms), else ExecutionTime (s). */
export function runDurationMs(run: Pick<JobRun, 'StartedOn' | 'CompletedOn' | 'ExecutionTime'>): number | undefined {
  if (run.StartedOn && run.CompletedOn) return run.CompletedOn.getTime() - run.StartedOn.getTime();
  return run.ExecutionTime === undefined ? undefined : run.ExecutionTime * 1000;
}

/** The CloudWatch log groups a run writes to: `<LogGroupName or /aws-glue/jobs>/error` and `/output`. */
export function glueLogGroups(run: Pick<JobRun, 'LogGroupName'>): string[] {
  const base = (run.LogGroupName ?? DEFAULT_LOG_GROUP).replace(/\/+$/, '');
  return [`${base}/error`, `${base}/output`];
}

const stateOutcome = (state: string | undefined): Outcome => GLUE_JOB_RUN_OUTCOME[state as JobRunState] ?? 'wait';

/** Why a run failed, in Glue's words, with where to look next. */
function jobRunFailure(region: string, jobName: string, run: JobRun): ApplicationFailure {
  const state = run.JobRunState ?? 'UNKNOWN';
  const logGroups = glueLogGroups(run);
  const hint =
    state === 'TIMEOUT'
      ? ` (the run reached its timeout of ${run.Timeout ?? '?'} minutes: raise transform.timeoutMinutes if the batch needs longer)`
      : state === 'STOPPED'
        ? ' (the run was stopped before it finished)'
        : '';
  const errorMessage = run.ErrorMessage ?? '(Glue gave no ErrorMessage)';
  return ApplicationFailure.create({
    type: FailureType.GlueJobRunFailed,
    nonRetryable: true,
    message:
      `glue job run ${run.Id} of job ${jobName} ended ${state}: ${errorMessage}${hint}. ` +
      `Logs: CloudWatch log groups ${logGroups.join(' and ')} in ${region}, log stream ${run.Id}`,
    details: [
      {
        region,
        jobName,
        jobRunId: run.Id,
        jobRunState: state,
        errorMessage: run.ErrorMessage,
        logGroups,
        logStream: run.Id,
        executionTimeSeconds: run.ExecutionTime,
        attempt: run.Attempt,
      },
    ],
  });
}

export function createGlueActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'startGlueJobRun' | 'waitForGlueJobRun' | 'stopGlueJobRun'> {
  const { aws } = deps;
  const jobTarget = (operation: string, region: string, jobName: string): AwsTarget => ({
    operation,
    resource: `glue job ${jobName}`,
    region,
    notFoundFix: 'create it (npm run provision) or fix transform.jobName in the spec',
  });
  const runTarget = (operation: string, input: { region: string; jobName: string; jobRunId: string }): AwsTarget => ({
    ...jobTarget(operation, input.region, input.jobName),
    resource: `glue job run ${input.jobRunId} of job ${input.jobName}`,
    notFoundFix: 'check the job name and run id (a run is kept by Glue for 90 days)',
  });

  /** One GetJobRun of the run, as a failure that names it when it fails. */
  async function getJobRun(
    glue: GlueClient,
    input: { region: string; jobName: string; jobRunId: string },
  ): Promise<JobRun> {
    const out = await awsCall(runTarget('GetJobRun', input), () =>
      glue.send(new GetJobRunCommand({ JobName: input.jobName, RunId: input.jobRunId })),
    );
    if (!out.JobRun) throw ApplicationFailure.retryable(`GetJobRun returned no JobRun for ${input.jobRunId}`);
    return out.JobRun;
  }

  /** The newest run of the job tagged with `runTag`, within the last RUN_TAG_SCAN_PAGES pages of runs. */
  async function findTaggedRun(
    glue: GlueClient,
    input: { region: string; jobName: string; runTag: string },
  ): Promise<string | undefined> {
    let token: string | undefined;
    for (let page = 0; page < RUN_TAG_SCAN_PAGES; page++) {
      const out = await awsCall(jobTarget('GetJobRuns', input.region, input.jobName), () =>
        glue.send(
          new GetJobRunsCommand({ JobName: input.jobName, NextToken: token, MaxResults: RUN_TAG_SCAN_PAGE_SIZE }),
        ),
      );
      const found = out.JobRuns?.find((r) => r.Arguments?.[RUN_TAG_ARGUMENT] === input.runTag);
      if (found?.Id) return found.Id;
      token = out.NextToken;
      if (!token) return undefined;
    }
    return undefined;
  }

  return {
    async startGlueJobRun(input: StartGlueJobRunInput): Promise<StartGlueJobRunResult> {
      const glue = aws.glue(input.region);
      const policy = input.polling ?? DEFAULT_POLLING.glueJob;
      let intervalMs = policy.initialIntervalMs;
      for (let waits = 0; ; waits++) {
        // A previous attempt may have started the run and died before recording it: find it by its tag.
        const existing = await findTaggedRun(glue, input);
        if (existing) {
          log.info('reusing the glue job run this pipeline run started before', { jobRunId: existing });
          return { jobRunId: existing, reused: true };
        }
        try {
          const out = await glue.send(
            new StartJobRunCommand({
              JobName: input.jobName,
              Arguments: { ...input.arguments, [RUN_TAG_ARGUMENT]: input.runTag },
              Timeout: input.timeoutMinutes,
            }),
          );
          if (!out.JobRunId) throw new Error(`StartJobRun of job ${input.jobName} returned no JobRunId`);
          return { jobRunId: out.JobRunId, reused: false };
        } catch (err) {
          if (isTemporalFailure(err)) throw err;
          if (awsErrorName(err) !== 'ConcurrentRunsExceededException') {
            throw awsFailure(err, jobTarget('StartJobRun', input.region, input.jobName));
          }
          // The job is at its MaxConcurrentRuns: wait for a slot rather than failing or starting blindly.
          const details = { waitingFor: 'ConcurrentRunsExceededException', jobName: input.jobName, waits: waits + 1 };
          Context.current().heartbeat(details);
          await heartbeatingSleep(intervalMs, details, deps.workerShutdown);
          intervalMs = nextIntervalMs(intervalMs, policy);
        }
      }
    },

    async waitForGlueJobRun(input: WaitForGlueJobRunInput): Promise<GlueJobRunResult> {
      const glue = aws.glue(input.region);
      const getRun = () => getJobRun(glue, input);
      try {
        const expected =
          input.polling.expectedDurationFrom === 'history' ? await recentDuration(glue, input) : undefined;
        const waitStartedMs = Date.now();
        const {
          value: run,
          outcome,
          polls,
        } = await pollUntilSettled({
          workerShutdown: deps.workerShutdown,
          policy: input.polling,
          check: getRun,
          delayMs: (run) =>
            expected &&
            expectedEndDelayMs(Date.now() - (run?.StartedOn?.getTime() ?? waitStartedMs), expected, input.polling),
          outcome: (run) => stateOutcome(run.JobRunState),
          describe: (run) => ({ jobRunId: input.jobRunId, jobRunState: run.JobRunState }),
        });
        if (outcome === 'fail') throw jobRunFailure(input.region, input.jobName, run);
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
        const ended = await stopRun(glue, input);
        if (!ended) throw err;
        // Tells the workflow the run is over, so it does not stop it again.
        const details: StoppedOnCancel = { stoppedId: input.jobRunId, finalState: ended };
        throw new CancelledFailure(`the wait was cancelled and glue job run ${input.jobRunId} ended ${ended}`, [
          details,
        ]);
      }
    },

    async stopGlueJobRun(input: StopGlueJobRunInput): Promise<StopGlueJobRunResult> {
      const glue = aws.glue(input.region);
      // Without an id, the run is the one a start attempt made and died (or was cancelled) before reporting:
      // found by its tag, as a retry of startGlueJobRun would find it.
      if (!input.jobRunId && !input.runTag) throw invalidInput('stopGlueJobRun needs a jobRunId or a runTag');
      const jobRunId = input.jobRunId ?? (await findTaggedRun(glue, { ...input, runTag: input.runTag! }));
      if (!jobRunId) {
        log.info('no glue job run to stop: none carries the run tag', { jobName: input.jobName, runTag: input.runTag });
        return { jobRunState: 'NOT_STARTED', stopRequested: false };
      }
      const target = { ...input, jobRunId };
      let stopRequested = false;
      // Look first, so a run that already ended (stopped by the cancelled wait, or finished) is left alone.
      // A throttled or refused BatchStopJobRun is a transient error of a poll: tried again with backoff.
      const { value: run } = await pollUntilSettled({
        workerShutdown: deps.workerShutdown,
        policy: input.polling ?? DEFAULT_POLLING.glueJob,
        check: async () => {
          const run = await getJobRun(glue, target);
          if (!stopRequested && stateOutcome(run.JobRunState) === 'wait' && run.JobRunState !== 'STOPPING') {
            await requestStop(glue, target);
            stopRequested = true;
          }
          return run;
        },
        outcome: (run) => (stateOutcome(run.JobRunState) === 'wait' ? 'wait' : 'done'),
        describe: (run) => ({ jobRunId, jobRunState: run.JobRunState, stopRequested }),
      });
      log.info('glue job run is over', { jobRunId, jobRunState: run.JobRunState, stopRequested });
      return { jobRunId, jobRunState: run.JobRunState ?? 'UNKNOWN', stopRequested };
    },
  };

  /**
   * How long the job's latest successful runs took, or undefined (then the wait backs off as usual):
   * one GetJobRuns call, whose failure only costs the smarter schedule.
   */
  async function recentDuration(glue: GlueClient, input: WaitForGlueJobRunInput) {
    try {
      const out = await glue.send(new GetJobRunsCommand({ JobName: input.jobName, MaxResults: HISTORY_RUNS }));
      const durations = (out.JobRuns ?? [])
        .filter((r) => r.JobRunState === 'SUCCEEDED' && r.Id !== input.jobRunId)
        .map(runDurationMs)
        .filter((d): d is number => d !== undefined);
      return expectedDurationOf(durations);
    } catch (err) {
      log.warn('GetJobRuns failed; polling without the job history', {
        jobName: input.jobName,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return undefined;
    }
  }

  /** BatchStopJobRun of one run; its per-run error becomes a failure (EntityNotFound is final, others retry). */
  async function requestStop(
    glue: GlueClient,
    input: { region: string; jobName: string; jobRunId: string },
  ): Promise<void> {
    const target = runTarget('BatchStopJobRun', input);
    const out = await awsCall(target, () =>
      glue.send(new BatchStopJobRunCommand({ JobName: input.jobName, JobRunIds: [input.jobRunId] })),
    );
    const refused = out.Errors?.find((e) => e.JobRunId === input.jobRunId);
    if (!refused) return;
    const code = refused.ErrorDetail?.ErrorCode ?? 'UnknownError';
    const why = `${code}: ${refused.ErrorDetail?.ErrorMessage ?? 'no message'}`;
    if (code === 'EntityNotFoundException') {
      throw ApplicationFailure.create({
        type: code,
        nonRetryable: true,
        message: `${target.resource} does not exist in ${input.region} (BatchStopJobRun: ${why}): ${target.notFoundFix}`,
        details: [{ region: input.region, jobName: input.jobName, jobRunId: input.jobRunId, errorCode: code }],
      });
    }
    // Often the run ended just now (the next look says so); otherwise the stop is asked for again.
    throw ApplicationFailure.retryable(`BatchStopJobRun did not stop ${target.resource}: ${why}`, 'JobRunNotStopped');
  }

  /**
   * Stops the run the cancelled wait was watching, and waits (bounded) until Glue says it ended.
   * @returns the terminal state, or undefined when the run could not be seen to end
   */
  async function stopRun(glue: GlueClient, input: WaitForGlueJobRunInput): Promise<string | undefined> {
    try {
      const out = await callAfterCancel(
        () => glue.send(new BatchStopJobRunCommand({ JobName: input.jobName, JobRunIds: [input.jobRunId] })),
        input.polling,
        STOP_WAIT_MS,
      );
      for (const e of out.Errors ?? []) {
        log.warn('BatchStopJobRun did not stop the run', {
          jobRunId: e.JobRunId,
          error: `${e.ErrorDetail?.ErrorCode}: ${e.ErrorDetail?.ErrorMessage}`,
        });
      }
    } catch (err) {
      log.warn('BatchStopJobRun failed; the run may still be running', {
        jobRunId: input.jobRunId,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return undefined;
    }
    const last = await pollAfterCancel(
      async () => (await glue.send(new GetJobRunCommand({ JobName: input.jobName, RunId: input.jobRunId }))).JobRun,
      (run) => run !== undefined && stateOutcome(run.JobRunState) !== 'wait',
      input.polling,
      STOP_WAIT_MS,
    );
    log.info('glue job run stopped after cancellation', { jobRunId: input.jobRunId, jobRunState: last?.JobRunState });
    return last?.JobRunState !== undefined && stateOutcome(last.JobRunState) !== 'wait' ? last.JobRunState : undefined;
  }
}
