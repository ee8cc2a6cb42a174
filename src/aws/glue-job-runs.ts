/**
 * Glue job runs: the calls (start, look, find by run tag, stop, recent durations) and the state table.
 * Every call that fails throws an {@link AwsCallError} naming the job or the run.
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
import type { StartGlueJobRunInput } from '../workflow-safe/activity-types';
import type { GlueJobRunFailedDetails } from '../workflow-safe/failures';
import { RUN_TAG_ARGUMENT } from '../workflow-safe/layout';
import { awsCall, missingField, type AwsTarget } from './errors';
import type { Outcome } from './waiter';

/** What each Glue job run state means for a wait. STOPPED is a failure: the run did not do its work. */
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

/** The outcome of a run's state; a state this SDK does not know yet is waited on. */
export const jobRunOutcome = (state: string | undefined): Outcome =>
  GLUE_JOB_RUN_OUTCOME[state as JobRunState] ?? 'wait';

/**
 * How far back {@link findTaggedRun} looks for a run with its tag when it has no start time to stop at: pages of
 * GetJobRuns, newest first.
 */
export const RUN_TAG_SCAN_PAGES = 5;
const RUN_TAG_SCAN_PAGE_SIZE = 200;
/**
 * How far AWS's clock (a run's StartedOn) may be behind Temporal's (when the start activity was first scheduled): the
 * run-tag lookup reads runs back to this long before the first attempt. A larger skew could hide our own run
 * from the lookup; a smaller one only costs pages of GetJobRuns.
 */
export const RUN_TAG_CLOCK_SKEW_MS = 60 * 60_000;

/** How many of the job's latest runs {@link recentRunDurationsMs} reads. */
export const HISTORY_RUNS = 10;
const DEFAULT_LOG_GROUP = '/aws-glue/jobs';

/** One run of one job in one region. */
export interface JobRunRef {
  region: string;
  jobName: string;
  jobRunId: string;
}

const jobTarget = (operation: string, region: string, jobName: string): AwsTarget => ({
  operation,
  resource: `glue job ${jobName}`,
  region,
  notFoundFix: 'create it (npm run provision) or fix transform.jobName in the spec',
});

const runTarget = (operation: string, run: JobRunRef): AwsTarget => ({
  ...jobTarget(operation, run.region, run.jobName),
  resource: `glue job run ${run.jobRunId} of job ${run.jobName}`,
  notFoundFix: 'check the job name and run id (a run is kept by Glue for 90 days)',
});

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

/** What a run that ended badly tells: Glue's ErrorMessage and where its logs are. */
export function jobRunFailedDetails(region: string, jobName: string, run: JobRun): GlueJobRunFailedDetails {
  return {
    region,
    jobName,
    jobRunId: run.Id,
    jobRunState: run.JobRunState ?? 'UNKNOWN',
    errorMessage: run.ErrorMessage,
    logGroups: glueLogGroups(run),
    logStream: run.Id,
    executionTimeSeconds: run.ExecutionTime,
    attempt: run.Attempt,
  };
}

/** One GetJobRun of the run. */
export async function getJobRun(glue: GlueClient, run: JobRunRef): Promise<JobRun> {
  const target = runTarget('GetJobRun', run);
  const out = await awsCall(target, () =>
    glue.send(new GetJobRunCommand({ JobName: run.jobName, RunId: run.jobRunId })),
  );
  if (!out.JobRun) throw missingField(target, 'JobRun');
  return out.JobRun;
}

/** Which runs {@link findTaggedRun} looks through for the one a pipeline run started. */
export interface TaggedRunLookup {
  region: string;
  jobName: string;
  runTag: string;
  /**
   * No run with the tag can have started before this (AWS's clock, skew allowed for): GetJobRuns lists runs
   * newest first, so the lookup reads pages until it reaches a run that started earlier, however many pages
   * that takes. @default - none: the last {@link RUN_TAG_SCAN_PAGES} pages of runs
   */
  startedAfter?: Date;
}

/** The newest run of the job tagged with `runTag`, among the runs that started after `startedAfter`. */
export async function findTaggedRun(glue: GlueClient, job: TaggedRunLookup): Promise<string | undefined> {
  const bound = job.startedAfter?.getTime();
  let token: string | undefined;
  for (let page = 0; bound !== undefined || page < RUN_TAG_SCAN_PAGES; page++) {
    const out = await awsCall(jobTarget('GetJobRuns', job.region, job.jobName), () =>
      glue.send(new GetJobRunsCommand({ JobName: job.jobName, NextToken: token, MaxResults: RUN_TAG_SCAN_PAGE_SIZE })),
    );
    const runs = out.JobRuns ?? [];
    const found = runs.find((r) => r.Arguments?.[RUN_TAG_ARGUMENT] === job.runTag);
    if (found?.Id) return found.Id;
    token = out.NextToken;
    if (!token) return undefined;
    // Newest first: once a page reaches a run older than the bound, the pages after it hold only older runs.
    if (bound !== undefined && runs.some((r) => r.StartedOn !== undefined && r.StartedOn.getTime() < bound)) {
      return undefined;
    }
  }
  return undefined;
}

/**
 * What StartJobRun needs: the job, its arguments, the run tag (added as the {@link RUN_TAG_ARGUMENT}
 * argument, so {@link findTaggedRun} finds the run after a crash) and an optional timeout.
 */
export type StartJobRunOptions = Omit<StartGlueJobRunInput, 'polling'>;

/**
 * StartJobRun, sent once: `glue` must be a client without SDK retries (`AwsClients.glueNoRetry`), as
 * StartJobRun has no idempotency token and a resent request whose first answer was lost starts a second run.
 * @returns the JobRunId. ConcurrentRunsExceededException comes out as is, for the caller to wait.
 */
export async function startJobRun(glue: GlueClient, options: StartJobRunOptions): Promise<string> {
  const target = jobTarget('StartJobRun', options.region, options.jobName);
  const out = await awsCall(target, () =>
    glue.send(
      new StartJobRunCommand({
        JobName: options.jobName,
        Arguments: { ...options.arguments, [RUN_TAG_ARGUMENT]: options.runTag },
        Timeout: options.timeoutMinutes,
      }),
    ),
  );
  if (!out.JobRunId) throw missingField(target, 'JobRunId');
  return out.JobRunId;
}

/** How long the job's latest successful runs (other than `exceptRunId`) took, in ms. */
export async function recentRunDurationsMs(glue: GlueClient, jobName: string, exceptRunId: string): Promise<number[]> {
  const out = await glue.send(new GetJobRunsCommand({ JobName: jobName, MaxResults: HISTORY_RUNS }));
  return (out.JobRuns ?? [])
    .filter((r) => r.JobRunState === 'SUCCEEDED' && r.Id !== exceptRunId)
    .map(runDurationMs)
    .filter((d): d is number => d !== undefined);
}

/** Why BatchStopJobRun did not stop a run, in its ErrorDetail. */
export interface StopRefusal {
  /** ErrorDetail.ErrorCode (`EntityNotFoundException`, ...). */
  code: string;
  /** `<code>: <message>`, for messages and logs. */
  why: string;
  /** The resource, as a person names it. */
  resource: string;
  /** What to do when the run does not exist. */
  notFoundFix: string;
}

/** BatchStopJobRun of one run. @returns why Glue refused to stop it, or undefined when it accepted */
export async function stopJobRun(glue: GlueClient, run: JobRunRef): Promise<StopRefusal | undefined> {
  const target = runTarget('BatchStopJobRun', run);
  const out = await awsCall(target, () =>
    glue.send(new BatchStopJobRunCommand({ JobName: run.jobName, JobRunIds: [run.jobRunId] })),
  );
  const refused = out.Errors?.find((e) => e.JobRunId === run.jobRunId);
  if (!refused) return undefined;
  const code = refused.ErrorDetail?.ErrorCode ?? 'UnknownError';
  const why = `${code}: ${refused.ErrorDetail?.ErrorMessage ?? 'no message'}`;
  return { code, why, resource: target.resource, notFoundFix: target.notFoundFix! };
}
