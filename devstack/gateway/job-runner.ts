/**
 * The extension point for running a Glue job's script locally (for example on a local Spark). When no
 * scripted outcome is queued for a job, StartJobRun hands the run to the registered {@link JobRunner}
 * (see main.ts); the run's JobRunState follows the promise it returns.
 */
import type { Job } from '@aws-sdk/client-glue';
import { setTimeout as sleep } from 'node:timers/promises';

/** One job run, as a runner receives it. */
export interface JobRunRequest {
  jobName: string;
  /** `jr_` + 64 hex digits, as GetJobRun reports it. */
  jobRunId: string;
  /** The region the run was started in. */
  region: string;
  /** The job's DefaultArguments with the run's Arguments over them: what the script would see. */
  arguments: Record<string, string>;
  /** The job's definition, as moto's GetJob returns it. */
  job: Job;
  /**
   * The job's runs in the run's region (this one included), as GetJobRuns reports them now: the job refuses a
   * batch that an earlier live run holds (glue/glueline_transform/claim.py). @default - none known
   */
  jobRuns?: () => Record<string, unknown>[];
  /** Aborts when BatchStopJobRun stops the run; the run is STOPPED once the promise settles. */
  signal: AbortSignal;
}

/** How a run ended. A runner that throws ends the run FAILED with the error's message. */
export interface JobRunResult {
  state: 'SUCCEEDED' | 'FAILED' | 'TIMEOUT';
  /** Reported as the run's ErrorMessage. */
  errorMessage?: string;
}

/** Runs one Glue job run to its end. */
export type JobRunner = (run: JobRunRequest) => Promise<JobRunResult>;

/** The default runner: every run succeeds after `delayMs`, without running anything. */
export function delayedSuccessRunner(delayMs = 1000): JobRunner {
  return async ({ signal }) => {
    await sleep(delayMs, undefined, { signal });
    return { state: 'SUCCEEDED' };
  };
}
