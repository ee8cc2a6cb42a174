/**
 * Glue job runs, owned by the gateway (moto keeps the job definitions). A run follows a scripted
 * outcome when one is queued for its job, otherwise the registered {@link JobRunner}. Reported times
 * are AWS time: a scripted run at time scale 60 that lasts 600 s reports ExecutionTime 600.
 */
import { randomBytes } from 'node:crypto';
import { GetJobCommand, type Job, type JobRun, type JobRunState } from '@aws-sdk/client-glue';
import { AwsError, epochSeconds } from './aws-protocol';
import type { JobRunner } from './job-runner';
import type { Moto } from './moto';
import type { AwsJsonCall } from './router';
import { ScriptQueues } from './script-queue';
import type { TimeScale } from './time-scale';

/** A scripted outcome for one run of a job. */
export type JobRunOutcome =
  /** Ends SUCCEEDED after `afterSeconds` (AWS seconds, @default 1). */
  | { state: 'SUCCEEDED'; afterSeconds?: number }
  /** Ends FAILED with `errorMessage` after `afterSeconds` (@default 1). */
  | { state: 'FAILED'; errorMessage: string; afterSeconds?: number }
  /** Ends TIMEOUT after `afterSeconds` (@default 1). */
  | { state: 'TIMEOUT'; afterSeconds?: number; errorMessage?: string }
  /** Stays RUNNING until BatchStopJobRun stops it. */
  | { state: 'RUNNING' };

/** Whether a run still holds one of the job's concurrent-run slots (and can be stopped). */
const JOB_RUN_ACTIVE = {
  STARTING: true,
  RUNNING: true,
  STOPPING: true,
  WAITING: true,
  SUCCEEDED: false,
  FAILED: false,
  ERROR: false,
  TIMEOUT: false,
  STOPPED: false,
  EXPIRED: false,
} as const satisfies Record<JobRunState, boolean>;

/** How long a stopped run stays STOPPING, in AWS seconds. */
const STOPPING_SECONDS = 1;
/** How long a runner may take to settle after its run was stopped, before the run is STOPPED anyway. */
const RUNNER_STOP_GRACE_MS = 30_000;

interface JobRunRecord {
  run: JobRun & { Id: string; JobName: string; JobRunState: JobRunState; Attempt: number };
  region: string;
  /** Order of creation, for newest-first listings and their NextToken. */
  seq: number;
  /** Real time the run started, and how many AWS ms pass per real ms for it (1 for runner runs). */
  startedMs: number;
  scale: number;
  abort: AbortController;
  /** Settles when the script or runner behind the run has returned. */
  done: Promise<void>;
}

function validateOutcome(outcome: JobRunOutcome): void {
  const states = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'RUNNING'];
  if (!outcome || !states.includes(outcome.state)) {
    throw new Error(`a job run outcome needs state ${states.join(' | ')}, got ${JSON.stringify(outcome)}`);
  }
  if (outcome.state === 'FAILED' && typeof outcome.errorMessage !== 'string') {
    throw new Error(`a FAILED job run outcome needs an errorMessage, got ${JSON.stringify(outcome)}`);
  }
  if ('afterSeconds' in outcome && outcome.afterSeconds !== undefined && !(outcome.afterSeconds >= 0)) {
    throw new Error(`afterSeconds must be >= 0, got ${outcome.afterSeconds}`);
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export class GlueJobRuns {
  private readonly runs = new Map<string, JobRunRecord>();
  /** Scripted outcomes per name, consumed one per run; the control API fills them. */
  readonly scripts = new ScriptQueues<JobRunOutcome>(validateOutcome);
  private seq = 0;

  constructor(
    private readonly moto: Moto,
    private readonly timeScale: TimeScale,
    private readonly runner: JobRunner,
  ) {}

  readonly operations = ['StartJobRun', 'GetJobRun', 'GetJobRuns', 'BatchStopJobRun'];

  async handle({ region, operation, input }: AwsJsonCall): Promise<unknown> {
    const jobName = str(input.JobName);
    if (!jobName) throw new AwsError('InvalidInputException', 'JobName is required');
    switch (operation) {
      case 'StartJobRun':
        return { JobRunId: await this.start(region, jobName, input) };
      case 'GetJobRun':
        return { JobRun: this.report(this.find(region, jobName, str(input.RunId))) };
      case 'GetJobRuns':
        return this.list(region, jobName, input);
      case 'BatchStopJobRun':
        return this.stopAll(region, jobName, input);
      default:
        throw new AwsError('InvalidInputException', `the gateway does not serve ${operation}`);
    }
  }

  private async getJob(region: string, jobName: string): Promise<Job> {
    try {
      const { Job: job } = await this.moto.glue(region).send(new GetJobCommand({ JobName: jobName }));
      if (!job) throw new AwsError('EntityNotFoundException', `Job ${jobName} not found`);
      return job;
    } catch (err) {
      if ((err as Error).name === 'EntityNotFoundException') {
        throw new AwsError('EntityNotFoundException', (err as Error).message || `Job ${jobName} not found`);
      }
      throw err;
    }
  }

  private async start(region: string, jobName: string, input: Record<string, unknown>): Promise<string> {
    const job = await this.getJob(region, jobName);
    const active = [...this.runs.values()].filter(
      (r) => r.region === region && r.run.JobName === jobName && JOB_RUN_ACTIVE[r.run.JobRunState],
    );
    const maxConcurrentRuns = job.ExecutionProperty?.MaxConcurrentRuns ?? 1;
    if (active.length >= maxConcurrentRuns) {
      throw new AwsError('ConcurrentRunsExceededException', `Concurrent runs exceeded for ${jobName}`);
    }
    const previous = str(input.JobRunId) ? this.find(region, jobName, str(input.JobRunId)) : undefined;
    const runArguments = (input.Arguments ?? {}) as Record<string, string>;
    const outcome = this.scripts.take(jobName, region);
    const now = this.timeScale.now();
    const id = `jr_${randomBytes(32).toString('hex')}`;
    const record: JobRunRecord = {
      run: {
        Id: id,
        Attempt: previous ? previous.run.Attempt + 1 : 0,
        PreviousRunId: previous?.run.Id,
        JobName: jobName,
        StartedOn: new Date(now),
        LastModifiedOn: new Date(now),
        JobRunState: 'STARTING',
        Arguments: runArguments,
        PredecessorRuns: [],
        ExecutionTime: 0,
        Timeout: (input.Timeout as number | undefined) ?? job.Timeout ?? 2880,
        MaxCapacity: (input.MaxCapacity as number | undefined) ?? job.MaxCapacity,
        WorkerType: (input.WorkerType as JobRun['WorkerType']) ?? job.WorkerType,
        NumberOfWorkers: (input.NumberOfWorkers as number | undefined) ?? job.NumberOfWorkers,
        GlueVersion: job.GlueVersion,
        LogGroupName: '/aws-glue/jobs',
      },
      region,
      seq: ++this.seq,
      startedMs: now,
      scale: outcome ? this.timeScale.scale : 1,
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    this.runs.set(`${region}/${id}`, record);
    const runArgs = { ...(job.DefaultArguments ?? {}), ...runArguments };
    // Glue answers StartJobRun at once; the run moves on in the background.
    setImmediate(() => {
      this.transition(record, 'RUNNING');
      const done = outcome ? this.playScript(record, outcome) : this.runWithRunner(record, job, runArgs);
      record.done = done.catch((err: unknown) => this.finish(record, 'FAILED', `gateway: ${String(err)}`));
    });
    return id;
  }

  private async playScript(record: JobRunRecord, outcome: JobRunOutcome): Promise<void> {
    if (outcome.state === 'RUNNING') return; // until BatchStopJobRun
    const seconds = outcome.afterSeconds ?? 1;
    try {
      await this.timeScale.sleep(seconds, record.abort.signal);
    } catch {
      return; // stopped: stop() finishes the run
    }
    const message = outcome.state === 'SUCCEEDED' ? undefined : (outcome.errorMessage ?? 'Job run timed out');
    this.finish(record, outcome.state, message, record.startedMs + seconds * 1000);
  }

  private async runWithRunner(record: JobRunRecord, job: Job, args: Record<string, string>): Promise<void> {
    const { run, region, abort } = record;
    // Glue ends a run that outlives the job's Timeout (minutes) as TIMEOUT; the runner sees its signal abort.
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), abort.abort()), (run.Timeout ?? 2880) * 60_000).unref();
    const result = await this.runner({
      jobName: run.JobName,
      jobRunId: run.Id,
      region,
      arguments: args,
      job,
      signal: abort.signal,
      jobRuns: () =>
        [...this.runs.values()]
          .filter((r) => r.region === region && r.run.JobName === run.JobName)
          .map((r) => this.report(r)),
    })
      .catch((err: unknown) => ({
        state: 'FAILED' as const,
        errorMessage: err instanceof Error ? err.message : String(err),
      }))
      .finally(() => clearTimeout(timer));
    if (timedOut) return this.finish(record, 'TIMEOUT', `Job run timed out after ${run.Timeout ?? 2880} minutes`);
    if (abort.signal.aborted) return; // stopped: stop() finishes the run
    this.finish(record, result.state, result.state === 'SUCCEEDED' ? undefined : result.errorMessage);
  }

  /** AWS time now for a run: real time since its start, times its scale. */
  private awsNow(record: JobRunRecord): number {
    return record.startedMs + (this.timeScale.now() - record.startedMs) * record.scale;
  }

  private transition(record: JobRunRecord, state: JobRunState, atMs = this.awsNow(record)): void {
    record.run.JobRunState = state;
    record.run.LastModifiedOn = new Date(atMs);
  }

  private finish(record: JobRunRecord, state: JobRunState, errorMessage?: string, atMs = this.awsNow(record)): void {
    if (!JOB_RUN_ACTIVE[record.run.JobRunState]) return;
    this.transition(record, state, atMs);
    record.run.CompletedOn = new Date(atMs);
    record.run.ExecutionTime = Math.round((atMs - record.startedMs) / 1000);
    if (errorMessage !== undefined) record.run.ErrorMessage = errorMessage;
  }

  private find(region: string, jobName: string, runId: string | undefined): JobRunRecord {
    const record = runId ? this.runs.get(`${region}/${runId}`) : undefined;
    if (!record || record.run.JobName !== jobName) {
      throw new AwsError('EntityNotFoundException', `Job run ${runId} of job ${jobName} not found`);
    }
    return record;
  }

  /** A run in awsJson: timestamps as epoch seconds. */
  private report(record: JobRunRecord): Record<string, unknown> {
    const { StartedOn, LastModifiedOn, CompletedOn, ...rest } = record.run;
    return {
      ...rest,
      StartedOn: StartedOn && epochSeconds(StartedOn.getTime()),
      LastModifiedOn: LastModifiedOn && epochSeconds(LastModifiedOn.getTime()),
      CompletedOn: CompletedOn && epochSeconds(CompletedOn.getTime()),
    };
  }

  private async list(region: string, jobName: string, input: Record<string, unknown>) {
    await this.getJob(region, jobName);
    const maxResults = Math.min(Number(input.MaxResults ?? 100), 200);
    // NextToken is the seq of the next (older) run to return, so runs started meanwhile do not shift pages.
    const from = str(input.NextToken) ? Number(str(input.NextToken)) : Infinity;
    const runs = [...this.runs.values()]
      .filter((r) => r.region === region && r.run.JobName === jobName && r.seq <= from)
      .sort((a, b) => b.seq - a.seq);
    const page = runs.slice(0, maxResults);
    const next = runs[maxResults];
    return { JobRuns: page.map((r) => this.report(r)), NextToken: next ? String(next.seq) : undefined };
  }

  private stopAll(region: string, jobName: string, input: Record<string, unknown>) {
    const ids = Array.isArray(input.JobRunIds) ? (input.JobRunIds as string[]) : [];
    const SuccessfulSubmissions: { JobName: string; JobRunId: string }[] = [];
    const Errors: { JobName: string; JobRunId: string; ErrorDetail: { ErrorCode: string; ErrorMessage: string } }[] =
      [];
    for (const JobRunId of ids) {
      const record = this.runs.get(`${region}/${JobRunId}`);
      if (!record || record.run.JobName !== jobName) {
        const ErrorMessage = `Job run ${JobRunId} of job ${jobName} not found`;
        Errors.push({
          JobName: jobName,
          JobRunId,
          ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage },
        });
      } else if (!JOB_RUN_ACTIVE[record.run.JobRunState]) {
        const ErrorMessage = `Job run ${JobRunId} is already ${record.run.JobRunState} and cannot be stopped`;
        Errors.push({ JobName: jobName, JobRunId, ErrorDetail: { ErrorCode: 'InvalidInputException', ErrorMessage } });
      } else {
        this.stop(record);
        SuccessfulSubmissions.push({ JobName: jobName, JobRunId });
      }
    }
    return { SuccessfulSubmissions, Errors };
  }

  /** RUNNING → STOPPING now; STOPPED once the runner settled and the stopping time passed. */
  private stop(record: JobRunRecord): void {
    if (record.run.JobRunState === 'STOPPING') return;
    this.transition(record, 'STOPPING');
    record.abort.abort();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, RUNNER_STOP_GRACE_MS).unref());
    const settled = Promise.race([record.done, grace]);
    void Promise.all([this.timeScale.sleep(STOPPING_SECONDS), settled]).then(() => this.finish(record, 'STOPPED'));
  }
}
