import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BatchStopJobRunCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  StartJobRunCommand,
  type CreateJobCommandInput,
  type JobRun,
  type JobRunState,
} from '@aws-sdk/client-glue';
import { ApplicationFailure, CancelledFailure, ActivityCancellationDetails } from '@temporalio/common';
import { createGlueActivities } from '../../src/activities/glue';
import { GLUE_JOB_RUN_OUTCOME, RUN_TAG_CLOCK_SKEW_MS } from '../../src/aws/glue-job-runs';
import type { StartGlueJobRunInput } from '../../src/workflow-safe/activity-types';
import { RUN_TAG_ARGUMENT } from '../../src/workflow-safe/layout';
import {
  activityEnv,
  awsDeps,
  countingClients,
  fakeClients,
  fastPolling,
  rejection,
  run,
} from '../../devstack/testkit/aws';
import { GatewayControl, type JobRunOutcome } from '../../devstack/testkit/gateway';
import { createGlueJob } from '../../devstack/testkit/glue';
import { pollUntil } from '../../devstack/testkit/poll';
import { stack, unique } from '../../devstack/testkit/stack';

const region = stack().aws.regions[0]!;
const gateway = new GatewayControl();

/** A Glue job on the local stack, with the runs its next StartJobRuns get scripted through the gateway. */
async function realJob(outcomes: JobRunOutcome[] = [], job: Partial<CreateJobCommandInput> = {}) {
  const { aws, log } = countingClients();
  const jobName = await createGlueJob(aws.glue(region), { Name: unique('act-job'), ...job });
  if (outcomes.length > 0) await gateway.scriptJobRuns(jobName, outcomes);
  log.calls.length = 0;
  return { aws, log, jobName, glue: createGlueActivities(awsDeps(aws)) };
}

/** A fake Glue whose GetJobRun answers the given runs in turn (the last one repeats). */
function fakeGlue(
  runs: Partial<JobRun>[],
  extra: (command: string, input: Record<string, unknown>) => unknown = () => ({}),
) {
  let i = 0;
  return fakeClients((command, input) => {
    if (command === 'GetJobRun') {
      const r = runs[Math.min(i++, runs.length - 1)]!;
      return { JobRun: { Id: 'jr_123', ...r } };
    }
    return extra(command, input);
  });
}

const startInput = (jobName: string, runTag: string, extra: Partial<StartGlueJobRunInput> = {}) => ({
  region,
  jobName,
  arguments: { '--batch_id': 'b1' },
  runTag,
  polling: fastPolling,
  ...extra,
});

const waitInput = (jobName: string, jobRunId: string) => ({ region, jobName, jobRunId, polling: fastPolling });

async function jobRun(aws: ReturnType<typeof countingClients>['aws'], jobName: string, runId: string) {
  return (await aws.glue(region).send(new GetJobRunCommand({ JobName: jobName, RunId: runId }))).JobRun!;
}

describe('startGlueJobRun', () => {
  test('starts a run tagged with the pipeline run', async () => {
    const { aws, jobName, glue } = await realJob([{ state: 'SUCCEEDED', afterSeconds: 0 }]);
    const runTag = unique('run');
    const result = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, runTag));
    assert.equal(result.reused, false);
    const got = await jobRun(aws, jobName, result.jobRunId);
    assert.equal(got.Arguments?.[RUN_TAG_ARGUMENT], runTag);
    assert.equal(got.Arguments?.['--batch_id'], 'b1');
    assert.equal((await gateway.counts(jobName))['glue:StartJobRun']?.count, 1);
  });

  test('starts nothing new when a previous attempt already started the tagged run', async () => {
    // Two slots, so a second start would succeed rather than wait: the count below is what tells.
    const { aws, jobName, glue } = await realJob([{ state: 'RUNNING' }, { state: 'RUNNING' }], {
      ExecutionProperty: { MaxConcurrentRuns: 2 },
    });
    const runTag = unique('run');
    // The previous attempt started the run, then its worker died before the result was recorded.
    const { JobRunId } = await aws
      .glue(region)
      .send(
        new StartJobRunCommand({ JobName: jobName, Arguments: { '--batch_id': 'b1', [RUN_TAG_ARGUMENT]: runTag } }),
      );
    try {
      const retry = await run(activityEnv({ attempt: 2 }), glue.startGlueJobRun, startInput(jobName, runTag));
      assert.deepEqual(retry, { jobRunId: JobRunId, reused: true });
      assert.equal((await gateway.counts(jobName))['glue:StartJobRun']?.count, 1);
    } finally {
      await aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [JobRunId!] }));
    }
  });

  test('starts a new run when only runs of other pipeline runs exist', async () => {
    const { jobName, glue } = await realJob(
      [
        { state: 'SUCCEEDED', afterSeconds: 0 },
        { state: 'SUCCEEDED', afterSeconds: 0 },
      ],
      { ExecutionProperty: { MaxConcurrentRuns: 2 } },
    );
    const a = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    const b = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    assert.notEqual(a.jobRunId, b.jobRunId);
    assert.equal((await gateway.counts(jobName))['glue:StartJobRun']?.count, 2);
  });

  test('finds its run on a later page of GetJobRuns instead of starting another', async () => {
    const others = 200; // one full page of GetJobRuns (200 runs, newest first) in front of ours
    const { aws, jobName, glue } = await realJob(
      Array.from({ length: others + 1 }, () => ({ state: 'SUCCEEDED' as const, afterSeconds: 0 })),
      { ExecutionProperty: { MaxConcurrentRuns: others + 1 } },
    );
    const runTag = unique('run');
    const mine = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, runTag));
    for (let i = 0; i < others; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, () => aws.glue(region).send(new StartJobRunCommand({ JobName: jobName }))),
      );
    }
    const retry = await run(activityEnv({ attempt: 2 }), glue.startGlueJobRun, startInput(jobName, runTag));
    assert.deepEqual(retry, { jobRunId: mine.jobRunId, reused: true });
    const counts = await gateway.counts(jobName);
    assert.equal(counts['glue:StartJobRun']?.count, others + 1);
    assert.equal(counts['glue:GetJobRuns']?.count, 3, 'one page before the first start, two for the retry');
  });

  test('fails non-retryably, naming the job and the fix, when the job does not exist', async () => {
    const { glue } = await realJob();
    const jobName = unique('act-no-such-job');
    const err = await rejection(run(activityEnv(), glue.startGlueJobRun, startInput(jobName, 'r')));
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`glue job ${jobName} does not exist in us-east-1.*npm run provision`));
    assert.deepEqual(
      await gateway.counts(jobName),
      { 'glue:GetJobRuns': { count: 1, faulted: 0 } },
      'the first answer should end it: no retry, no StartJobRun',
    );
  });

  test('waits out ConcurrentRunsExceededException until the running run ends, then starts its own', async () => {
    const { aws, jobName, glue } = await realJob([{ state: 'RUNNING' }, { state: 'SUCCEEDED', afterSeconds: 0 }]);
    const other = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    const env = activityEnv();
    // The other pipeline run's job ends only once ours is waiting for its slot (its first heartbeat).
    env.once('heartbeat', () => {
      void aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [other.jobRunId] }));
    });
    const ours = await run(env, glue.startGlueJobRun, startInput(jobName, unique('run')));
    assert.equal(ours.reused, false);
    assert.notEqual(ours.jobRunId, other.jobRunId);
    assert.equal((await jobRun(aws, jobName, other.jobRunId)).JobRunState, 'STOPPED');
    assert.equal((env.heartbeats[0] as { waitingFor?: string }).waitingFor, 'ConcurrentRunsExceededException');
    const starts = (await gateway.counts(jobName))['glue:StartJobRun']?.count ?? 0;
    assert.ok(starts >= 3, `expected the other start, at least one refused start and ours; got ${starts}`);
  });

  test('hands a wait for a free run slot over at once when the worker begins to shut down', async () => {
    const { aws, jobName } = await realJob([{ state: 'RUNNING' }]);
    const other = await run(
      activityEnv(),
      createGlueActivities(awsDeps(aws)).startGlueJobRun,
      startInput(jobName, unique('run')),
    );
    const shutdown = new AbortController();
    const glue = createGlueActivities({ ...awsDeps(aws), workerShutdown: shutdown.signal });
    const env = activityEnv();
    env.once('heartbeat', () => shutdown.abort());
    const slow = { initialIntervalMs: 60_000, maxIntervalMs: 60_000, backoffCoefficient: 1 };
    await assert.rejects(
      run(env, glue.startGlueJobRun, startInput(jobName, unique('run'), { polling: slow })),
      (err) => err instanceof ApplicationFailure && err.type === 'WorkerShutdown' && !err.nonRetryable,
    );
    const runs = await aws.glue(region).send(new GetJobRunsCommand({ JobName: jobName }));
    assert.deepEqual(
      runs.JobRuns?.map((r) => r.Id),
      [other.jobRunId],
      'only the other run exists: ours never started',
    );
    await aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [other.jobRunId] }));
  });

  test('survives throttled GetJobRuns and StartJobRun calls', async () => {
    const { jobName, glue } = await realJob([{ state: 'SUCCEEDED', afterSeconds: 0 }]);
    const result = await gateway.withFault(
      { target: 'glue:GetJobRuns', action: { type: 'throttle' }, resource: jobName, count: 2 },
      () =>
        gateway.withFault(
          { target: 'glue:StartJobRun', action: { type: 'throttle' }, resource: jobName, count: 2 },
          () => run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run'))),
        ),
    );
    assert.equal(result.reused, false);
    const counts = await gateway.counts(jobName);
    assert.deepEqual(counts['glue:StartJobRun'], { count: 3, faulted: 2 });
    // The SDK retries the throttled lookups (three calls for the first look); every StartJobRun comes after a lookup.
    assert.deepEqual(counts['glue:GetJobRuns'], { count: 5, faulted: 2 });
  });

  for (const then of ['drop', 500] as const) {
    test(`a StartJobRun served but answered with ${then === 'drop' ? 'a dropped connection' : 'a 500'} is not resent: the next attempt finds the run by its tag`, async () => {
      // Two slots, so a second StartJobRun would start a second run rather than be refused.
      const { aws, jobName, glue } = await realJob([{ state: 'RUNNING' }, { state: 'RUNNING' }], {
        ExecutionProperty: { MaxConcurrentRuns: 2 },
      });
      const runTag = unique('run');
      const scheduled = { scheduledTimestampMs: Date.now() };
      const first = await gateway.withFault(
        { target: 'glue:StartJobRun', action: { type: 'after', then }, resource: jobName, count: 1 },
        () => rejection(run(activityEnv(scheduled), glue.startGlueJobRun, startInput(jobName, runTag))),
      );
      assert.equal(first.nonRetryable, false, 'Temporal retries the attempt');
      assert.match(first.message, /StartJobRun on glue job .* the next attempt looks for it by its run tag/);
      assert.deepEqual(
        (await gateway.counts(jobName))['glue:StartJobRun'],
        { count: 1, faulted: 1 },
        'the SDK must not resend StartJobRun: it has no idempotency token',
      );
      const retry = await run(
        activityEnv({ ...scheduled, attempt: 2 }),
        glue.startGlueJobRun,
        startInput(jobName, runTag),
      );
      assert.equal(retry.reused, true);
      const runs = (await aws.glue(region).send(new GetJobRunsCommand({ JobName: jobName }))).JobRuns ?? [];
      assert.deepEqual(
        runs.map((r) => [r.Id, r.Arguments?.[RUN_TAG_ARGUMENT]]),
        [[retry.jobRunId, runTag]],
        'exactly one run of the batch',
      );
      assert.deepEqual((await gateway.counts(jobName))['glue:StartJobRun'], { count: 1, faulted: 1 });
      await aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [retry.jobRunId] }));
    });
  }

  test('the run-tag lookup reads GetJobRuns back to the first attempt (with clock skew allowed), not further', async () => {
    const old = 199; // with the recent run below, one full page of 200 in front of older runs still
    const { aws, jobName, glue } = await realJob(
      Array.from({ length: old + 3 }, () => ({ state: 'SUCCEEDED' as const, afterSeconds: 0 })),
      { ExecutionProperty: { MaxConcurrentRuns: old + 3 } },
    );
    const startAll = async (n: number) => {
      for (let i = 0; i < n; i += 20) {
        await Promise.all(
          Array.from({ length: Math.min(20, n - i) }, () =>
            aws.glue(region).send(new StartJobRunCommand({ JobName: jobName })),
          ),
        );
      }
    };
    // Runs AWS started two hours ago (beyond the lookup's hour of clock skew), then one of another pipeline run now.
    await gateway.atClockOffset(-2 * RUN_TAG_CLOCK_SKEW_MS, () => startAll(old + 1));
    await startAll(1);
    await gateway.resetCounts(jobName);
    const ours = await run(
      activityEnv({ scheduledTimestampMs: Date.now() }),
      glue.startGlueJobRun,
      startInput(jobName, unique('run')),
    );
    assert.equal(ours.reused, false);
    const counts = await gateway.counts(jobName);
    assert.equal(counts['glue:GetJobRuns']?.count, 1, 'the first page already reached runs older than ours can be');
    assert.equal(counts['glue:StartJobRun']?.count, 1);
  });
});

describe('waitForGlueJobRun', () => {
  /** Starts a run of a fresh job, scripted to `outcome`, through the activity. */
  async function startedRun(outcome: JobRunOutcome, extra: Partial<StartGlueJobRunInput> = {}) {
    const job = await realJob([outcome]);
    const { jobRunId } = await run(
      activityEnv(),
      job.glue.startGlueJobRun,
      startInput(job.jobName, unique('run'), extra),
    );
    return { ...job, jobRunId };
  }

  test('returns the run of a job that succeeds, with its execution time', async () => {
    await gateway.atTimeScale(120, async () => {
      const { jobName, jobRunId, glue } = await startedRun({ state: 'SUCCEEDED', afterSeconds: 240 });
      const result = await run(activityEnv(), glue.waitForGlueJobRun, waitInput(jobName, jobRunId));
      assert.equal(result.jobRunState, 'SUCCEEDED');
      assert.equal(result.jobRunId, jobRunId);
      assert.equal(result.executionTimeSeconds, 240);
      assert.ok(result.polls >= 1);
    });
  });

  test('keeps polling, with heartbeats, through every waiting state', async () => {
    // Fake: the gateway passes through STARTING at once and never shows WAITING.
    const waiting = Object.entries(GLUE_JOB_RUN_OUTCOME)
      .filter(([, o]) => o === 'wait')
      .map(([s]) => s as JobRunState);
    const { aws } = fakeGlue([
      ...waiting.map((s) => ({ JobRunState: s })),
      { JobRunState: 'SUCCEEDED', ExecutionTime: 42 },
    ]);
    const env = activityEnv();
    const result = await run(
      env,
      createGlueActivities(awsDeps(aws)).waitForGlueJobRun,
      waitInput('sales-to-parquet', 'jr_123'),
    );
    assert.equal(result.polls, waiting.length + 1);
    assert.equal(result.executionTimeSeconds, 42);
    const seen = env.heartbeats.map((h) => (h as { jobRunState?: string }).jobRunState);
    assert.deepEqual(
      seen.filter((s, i) => s !== seen[i - 1]),
      [...waiting, 'SUCCEEDED'],
    );
  });

  test("fails non-retryably with GlueJobRunFailed, Glue's ErrorMessage and the log groups when the run ends FAILED", async () => {
    const { jobName, jobRunId, glue } = await startedRun({
      state: 'FAILED',
      errorMessage: 'AnalysisException: Path does not exist: s3://raw/x',
    });
    const err = await rejection(run(activityEnv(), glue.waitForGlueJobRun, waitInput(jobName, jobRunId)));
    assert.equal(err.type, 'GlueJobRunFailed');
    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      `glue job run ${jobRunId} of job ${jobName} ended FAILED: AnalysisException: Path does not exist: s3://raw/x. ` +
        `Logs: CloudWatch log groups /aws-glue/jobs/error and /aws-glue/jobs/output in ${region}, log stream ${jobRunId}`,
    );
    const details = err.details?.[0] as { jobRunId: string; jobRunState: string; logGroups: string[] };
    assert.equal(details.jobRunId, jobRunId);
    assert.equal(details.jobRunState, 'FAILED');
    assert.deepEqual(details.logGroups, ['/aws-glue/jobs/error', '/aws-glue/jobs/output']);
  });

  test('fails non-retryably with GlueJobRunFailed naming the timeout when the run ends TIMEOUT', async () => {
    await gateway.atTimeScale(600, async () => {
      const { jobName, jobRunId, glue } = await startedRun(
        { state: 'TIMEOUT', afterSeconds: 600, errorMessage: 'Job run timed out after 10 minutes' },
        { timeoutMinutes: 10 },
      );
      const err = await rejection(run(activityEnv(), glue.waitForGlueJobRun, waitInput(jobName, jobRunId)));
      assert.equal(err.type, 'GlueJobRunFailed');
      assert.equal(err.nonRetryable, true);
      assert.ok(
        err.message.startsWith(
          `glue job run ${jobRunId} of job ${jobName} ended TIMEOUT: Job run timed out after 10 minutes ` +
            '(the run reached its timeout of 10 minutes: raise transform.timeoutMinutes if the batch needs longer)',
        ),
        err.message,
      );
    });
  });

  test('fails non-retryably with GlueJobRunFailed when someone stops the run (STOPPED)', async () => {
    const { aws, jobName, jobRunId, glue } = await startedRun({ state: 'RUNNING' });
    const env = activityEnv();
    env.once('heartbeat', () => {
      void aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [jobRunId] }));
    });
    const err = await rejection(run(env, glue.waitForGlueJobRun, waitInput(jobName, jobRunId)));
    assert.equal(err.type, 'GlueJobRunFailed');
    assert.equal(err.nonRetryable, true);
    assert.ok(
      err.message.startsWith(
        `glue job run ${jobRunId} of job ${jobName} ended STOPPED: (Glue gave no ErrorMessage) (the run was stopped before it finished)`,
      ),
      err.message,
    );
  });

  test("with expectedDurationFrom 'history', reads the job's runs once and sleeps until the shortest successful one is nearly over", async () => {
    const now = Date.now();
    const { aws, log } = fakeGlue(
      [{ JobRunState: 'RUNNING', StartedOn: new Date(now) }, { JobRunState: 'SUCCEEDED' }],
      (command) =>
        command === 'GetJobRuns'
          ? {
              JobRuns: [
                {
                  Id: 'jr_old',
                  JobRunState: 'SUCCEEDED',
                  StartedOn: new Date(now - 9_000),
                  CompletedOn: new Date(now - 8_600),
                },
                {
                  Id: 'jr_failed',
                  JobRunState: 'FAILED',
                  StartedOn: new Date(now - 5_000),
                  CompletedOn: new Date(now - 4_990),
                },
              ],
            }
          : {},
    );
    await run(activityEnv(), createGlueActivities(awsDeps(aws)).waitForGlueJobRun, {
      ...waitInput('sales-to-parquet', 'jr_123'),
      polling: {
        initialIntervalMs: 100,
        maxIntervalMs: 5_000,
        backoffCoefficient: 2,
        expectedDurationFrom: 'history' as const,
        nearEndIntervalMs: 100,
      },
    });
    // The schedule itself is unit-tested in test/unit/expected-end-polling.test.ts; here: history is read once.
    assert.equal(log.count('GetJobRuns'), 1);
    assert.equal(log.count('GetJobRun'), 2);
  });

  for (const state of ['ERROR', 'EXPIRED'] as const) {
    test(`fails non-retryably with GlueJobRunFailed and Glue's ErrorMessage when the run ends ${state}`, async () => {
      // Fake: the gateway cannot end a run ERROR or EXPIRED.
      const { aws } = fakeGlue([
        { JobRunState: 'RUNNING' },
        { JobRunState: state, ErrorMessage: 'Internal error in the Glue service' },
      ]);
      const err = await rejection(
        run(
          activityEnv(),
          createGlueActivities(awsDeps(aws)).waitForGlueJobRun,
          waitInput('sales-to-parquet', 'jr_123'),
        ),
      );
      assert.equal(err.type, 'GlueJobRunFailed');
      assert.equal(err.nonRetryable, true);
      assert.ok(
        err.message.startsWith(
          `glue job run jr_123 of job sales-to-parquet ended ${state}: Internal error in the Glue service`,
        ),
        err.message,
      );
    });
  }

  test("names the job's own log group when it has one", async () => {
    // Fake: the gateway always reports the default log group.
    const { aws } = fakeGlue([{ JobRunState: 'FAILED', ErrorMessage: 'x', LogGroupName: '/aws-glue/jobs-secure' }]);
    const err = await rejection(
      run(activityEnv(), createGlueActivities(awsDeps(aws)).waitForGlueJobRun, waitInput('sales-to-parquet', 'jr_123')),
    );
    assert.match(err.message, /\/aws-glue\/jobs-secure\/error and \/aws-glue\/jobs-secure\/output/);
  });

  const pollFaults = [
    ['throttled polls', { type: 'throttle' }],
    ['dropped connections on its polls', { type: 'drop' }],
  ] as const;
  for (const [what, action] of pollFaults) {
    test(`survives more ${what} than the SDK retries by itself`, async () => {
      const { jobName, jobRunId, glue } = await startedRun({ state: 'SUCCEEDED', afterSeconds: 0 });
      // Four in a row: the SDK's three attempts of one poll fail, the poll loop tries again.
      const result = await gateway.withFault({ target: 'glue:GetJobRun', action, resource: jobName, count: 4 }, () =>
        run(activityEnv(), glue.waitForGlueJobRun, waitInput(jobName, jobRunId)),
      );
      assert.equal(result.jobRunState, 'SUCCEEDED');
      assert.equal((await gateway.counts(jobName))['glue:GetJobRun']?.faulted, 4);
    });
  }

  test('fails non-retryably when the run does not exist', async () => {
    const { jobName, glue } = await realJob();
    const err = await rejection(run(activityEnv(), glue.waitForGlueJobRun, waitInput(jobName, 'jr_unknown')));
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`glue job run jr_unknown of job ${jobName} does not exist in us-east-1`));
  });

  test('stops the run with BatchStopJobRun when cancelled, and reports the cancellation once it is STOPPED', async () => {
    const { aws, jobName, jobRunId, glue } = await startedRun({ state: 'RUNNING' });
    const env = activityEnv();
    env.once('heartbeat', () => env.cancel());
    const err = await run(env, glue.waitForGlueJobRun, waitInput(jobName, jobRunId)).then(
      () => assert.fail('the wait did not report the cancellation'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
    assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun']?.count, 1);
    assert.equal((await jobRun(aws, jobName, jobRunId)).JobRunState, 'STOPPED');
    assert.deepEqual(err.details, [{ stoppedId: jobRunId, finalState: 'STOPPED' }], 'the workflow would stop it again');
  });

  test('stops the run when cancelled even if BatchStopJobRun is throttled beyond the SDK retries', async () => {
    const { aws, jobName, jobRunId, glue } = await startedRun({ state: 'RUNNING' });
    const env = activityEnv();
    env.once('heartbeat', () => env.cancel());
    const err = await gateway.withFault(
      { target: 'glue:BatchStopJobRun', action: { type: 'throttle' }, resource: jobName, count: 4 },
      () => run(env, glue.waitForGlueJobRun, waitInput(jobName, jobRunId)).catch((e: unknown) => e),
    );
    assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
    assert.deepEqual((await gateway.counts(jobName))['glue:BatchStopJobRun'], { count: 5, faulted: 4 });
    assert.equal((await jobRun(aws, jobName, jobRunId)).JobRunState, 'STOPPED');
  });

  test('leaves the run alone when the worker shuts down (the next attempt resumes the wait)', async () => {
    const { aws, jobName, jobRunId, glue } = await startedRun({ state: 'RUNNING' });
    const env = activityEnv();
    env.once('heartbeat', () =>
      env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true })),
    );
    try {
      await assert.rejects(run(env, glue.waitForGlueJobRun, waitInput(jobName, jobRunId)));
      assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun'], undefined);
      assert.equal((await jobRun(aws, jobName, jobRunId)).JobRunState, 'RUNNING');
    } finally {
      await aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [jobRunId] }));
    }
  });
});

describe('stopGlueJobRun', () => {
  /** A running run of a fresh job, started through the activity. */
  async function runningRun() {
    const job = await realJob([{ state: 'RUNNING' }]);
    const { jobRunId } = await run(activityEnv(), job.glue.startGlueJobRun, startInput(job.jobName, unique('run')));
    return { ...job, jobRunId };
  }

  test('stops a running run with BatchStopJobRun and returns once it is STOPPED, heartbeating meanwhile', async () => {
    const { aws, jobName, jobRunId, glue } = await runningRun();
    const env = activityEnv();
    const result = await run(env, glue.stopGlueJobRun, waitInput(jobName, jobRunId));
    assert.deepEqual(result, { jobRunId, jobRunState: 'STOPPED', stopRequested: true });
    assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun']?.count, 1);
    assert.equal((await jobRun(aws, jobName, jobRunId)).JobRunState, 'STOPPED');
    assert.ok(env.heartbeats.length >= 1, 'no heartbeat while the run stopped');
  });

  test('leaves a run that already stopped alone, so stopping twice is harmless', async () => {
    const { jobName, jobRunId, glue } = await runningRun();
    await run(activityEnv(), glue.stopGlueJobRun, waitInput(jobName, jobRunId));
    const again = await run(activityEnv({ attempt: 2 }), glue.stopGlueJobRun, waitInput(jobName, jobRunId));
    assert.deepEqual(again, { jobRunId, jobRunState: 'STOPPED', stopRequested: false });
    assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun']?.count, 1);
  });

  test('leaves a run that already succeeded alone', async () => {
    const { aws, jobName, glue } = await realJob([{ state: 'SUCCEEDED', afterSeconds: 0 }]);
    const { jobRunId } = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    await pollUntil(
      () => jobRun(aws, jobName, jobRunId),
      (r) => r.JobRunState === 'SUCCEEDED',
    );
    const result = await run(activityEnv(), glue.stopGlueJobRun, waitInput(jobName, jobRunId));
    assert.deepEqual(result, { jobRunId, jobRunState: 'SUCCEEDED', stopRequested: false });
    assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun'], undefined);
  });

  test('stops the run even if BatchStopJobRun is throttled beyond the SDK retries', async () => {
    const { aws, jobName, jobRunId, glue } = await runningRun();
    const result = await gateway.withFault(
      { target: 'glue:BatchStopJobRun', action: { type: 'throttle' }, resource: jobName, count: 4 },
      () => run(activityEnv(), glue.stopGlueJobRun, waitInput(jobName, jobRunId)),
    );
    assert.equal(result.jobRunState, 'STOPPED');
    assert.deepEqual((await gateway.counts(jobName))['glue:BatchStopJobRun'], { count: 5, faulted: 4 });
    assert.equal((await jobRun(aws, jobName, jobRunId)).JobRunState, 'STOPPED');
  });

  test('without a JobRunId, stops the run its tag finds (a start that died before reporting it)', async () => {
    const { aws, jobName, glue } = await realJob([{ state: 'RUNNING' }, { state: 'RUNNING' }], {
      ExecutionProperty: { MaxConcurrentRuns: 2 },
    });
    const runTag = unique('run');
    // Another pipeline run's run of the same job, which must be left alone.
    const other = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('other')));
    // What a start attempt that died after StartJobRun leaves: a tagged run nobody recorded.
    const { JobRunId } = await aws
      .glue(region)
      .send(new StartJobRunCommand({ JobName: jobName, Arguments: { [RUN_TAG_ARGUMENT]: runTag } }));
    try {
      const result = await run(activityEnv(), glue.stopGlueJobRun, { region, jobName, runTag, polling: fastPolling });
      assert.deepEqual(result, { jobRunId: JobRunId, jobRunState: 'STOPPED', stopRequested: true });
      assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun']?.count, 1);
      assert.equal((await jobRun(aws, jobName, other.jobRunId)).JobRunState, 'RUNNING');
    } finally {
      await aws.glue(region).send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [other.jobRunId] }));
    }
  });

  test('without a JobRunId, stops nothing when no run carries the tag (the start never reached Glue)', async () => {
    const { jobName, glue } = await realJob();
    const runTag = unique('run');
    const result = await run(activityEnv(), glue.stopGlueJobRun, { region, jobName, runTag, polling: fastPolling });
    assert.deepEqual(result, { jobRunState: 'NOT_STARTED', stopRequested: false });
    const counts = await gateway.counts(jobName);
    assert.equal(counts['glue:GetJobRuns']?.count, 1);
    assert.equal(counts['glue:BatchStopJobRun'], undefined);
  });

  test('fails non-retryably, naming the run, when the run does not exist', async () => {
    const { jobName, glue } = await realJob();
    const err = await rejection(run(activityEnv(), glue.stopGlueJobRun, waitInput(jobName, 'jr_unknown')));
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`glue job run jr_unknown of job ${jobName} does not exist in us-east-1`));
    assert.equal((await gateway.counts(jobName))['glue:BatchStopJobRun'], undefined);
  });
});
