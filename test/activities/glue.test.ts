import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConcurrentRunsExceededException,
  CreateJobCommand,
  GetJobRunCommand,
  ThrottlingException,
  type JobRun,
  type JobRunState,
} from '@aws-sdk/client-glue';
import { CancelledFailure, ActivityCancellationDetails } from '@temporalio/common';
import { createGlueActivities, GLUE_JOB_RUN_OUTCOME } from '../../src/activities/glue';
import { RUN_TAG_ARGUMENT } from '../../src/layout';
import { activityEnv, awsDeps, countingClients, fakeClients, fastPolling, rejection, run } from '../support/aws';
import { stack, unique } from '../support/stack';

const region = stack().aws.regions[0]!;

/** A Glue job on the local stack (moto: its runs go to SUCCEEDED at once). */
async function realJob() {
  const { aws, log } = countingClients();
  const jobName = unique('sales-to-parquet');
  await aws.glue(region).send(
    new CreateJobCommand({
      Name: jobName,
      Role: 'arn:aws:iam::123456789012:role/glueline-test',
      Command: { Name: 'glueetl', ScriptLocation: 's3://glueline-scripts/job.py' },
    }),
  );
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

const startInput = (jobName: string, runTag: string) => ({
  region,
  jobName,
  arguments: { '--batch_id': 'b1' },
  runTag,
  polling: fastPolling,
});

describe('startGlueJobRun', () => {
  test('starts a run tagged with the pipeline run', async () => {
    const { aws, jobName, glue } = await realJob();
    const runTag = unique('run');
    const result = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, runTag));
    assert.equal(result.reused, false);
    const got = await aws.glue(region).send(new GetJobRunCommand({ JobName: jobName, RunId: result.jobRunId }));
    assert.equal(got.JobRun?.Arguments?.[RUN_TAG_ARGUMENT], runTag);
    assert.equal(got.JobRun?.Arguments?.['--batch_id'], 'b1');
  });

  test('returns the run already tagged with the pipeline run instead of starting another', async () => {
    const { log, jobName, glue } = await realJob();
    const runTag = unique('run');
    const first = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, runTag));
    const retry = await run(activityEnv({ attempt: 2 }), glue.startGlueJobRun, startInput(jobName, runTag));
    assert.deepEqual(retry, { jobRunId: first.jobRunId, reused: true });
    assert.equal(log.count('StartJobRun'), 1);
  });

  test('starts a new run when only runs of other pipeline runs exist', async () => {
    const { log, jobName, glue } = await realJob();
    const a = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    const b = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    assert.notEqual(a.jobRunId, b.jobRunId);
    assert.equal(log.count('StartJobRun'), 2);
  });

  test('fails non-retryably, naming the job and the fix, when the job does not exist', async () => {
    const { glue } = await realJob();
    const err = await rejection(run(activityEnv(), glue.startGlueJobRun, startInput('glueline-no-such-job', 'r')));
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /glue job glueline-no-such-job does not exist in us-east-1.*npm run provision/);
  });

  test('waits and tries again while Glue refuses with ConcurrentRunsExceededException', async () => {
    let refusals = 2;
    const { aws, log } = fakeClients((command) => {
      if (command === 'GetJobRuns') return { JobRuns: [] };
      if (command === 'StartJobRun') {
        if (refusals-- > 0) throw new ConcurrentRunsExceededException({ message: 'max 1', $metadata: {} });
        return { JobRunId: 'jr_new' };
      }
      return {};
    });
    const env = activityEnv();
    const result = await run(env, createGlueActivities(awsDeps(aws)).startGlueJobRun, startInput('j', 'r'));
    assert.deepEqual(result, { jobRunId: 'jr_new', reused: false });
    assert.equal(log.count('StartJobRun'), 3);
    assert.equal(log.count('GetJobRuns'), 3, 'looked for a tagged run before every start');
    assert.ok(env.heartbeats.length >= 2, 'did not heartbeat while waiting');
  });

  test('finds its run on a later page of GetJobRuns', async () => {
    const { aws } = fakeClients((command, input) => {
      if (command !== 'GetJobRuns') throw new Error(`unexpected ${command}`);
      return input.NextToken === undefined
        ? { JobRuns: [{ Id: 'jr_other', Arguments: { [RUN_TAG_ARGUMENT]: 'other' } }], NextToken: 'p2' }
        : { JobRuns: [{ Id: 'jr_mine', Arguments: { [RUN_TAG_ARGUMENT]: 'mine' } }] };
    });
    const result = await run(
      activityEnv(),
      createGlueActivities(awsDeps(aws)).startGlueJobRun,
      startInput('j', 'mine'),
    );
    assert.deepEqual(result, { jobRunId: 'jr_mine', reused: true });
  });
});

describe('waitForGlueJobRun', () => {
  const waitInput = (jobName: string, jobRunId: string) => ({ region, jobName, jobRunId, polling: fastPolling });

  test('returns the run of a job that succeeds', async () => {
    const { jobName, glue } = await realJob();
    const { jobRunId } = await run(activityEnv(), glue.startGlueJobRun, startInput(jobName, unique('run')));
    const result = await run(activityEnv(), glue.waitForGlueJobRun, waitInput(jobName, jobRunId));
    assert.equal(result.jobRunState, 'SUCCEEDED');
    assert.equal(result.jobRunId, jobRunId);
    assert.ok(result.polls >= 1);
  });

  test('keeps polling, with heartbeats, through every waiting state', async () => {
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
    const t0 = Date.now();
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
    // Expected 400 ms (the FAILED run does not count): the second poll comes near 300 ms, not after initialIntervalMs.
    assert.equal(log.count('GetJobRuns'), 1);
    assert.equal(log.count('GetJobRun'), 2);
    assert.ok(Date.now() - t0 >= 250, `waited ${Date.now() - t0} ms`);
  });

  for (const state of ['FAILED', 'ERROR', 'TIMEOUT', 'STOPPED', 'EXPIRED'] as const) {
    test(`fails non-retryably with GlueJobRunFailed and Glue's ErrorMessage when the run ends ${state}`, async () => {
      const { aws } = fakeGlue([
        { JobRunState: 'RUNNING' },
        { JobRunState: state, ErrorMessage: 'AnalysisException: Path does not exist: s3://raw/x' },
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
          `glue job run jr_123 of job sales-to-parquet ended ${state}: AnalysisException: Path does not exist: s3://raw/x`,
        ),
        err.message,
      );
      assert.match(err.message, /\/aws-glue\/jobs\/error and \/aws-glue\/jobs\/output/);
      const details = err.details?.[0] as { jobRunId: string; logGroups: string[]; errorMessage: string };
      assert.equal(details.jobRunId, 'jr_123');
      assert.deepEqual(details.logGroups, ['/aws-glue/jobs/error', '/aws-glue/jobs/output']);
    });
  }

  test("names the job's own log group when it has one", async () => {
    const { aws } = fakeGlue([{ JobRunState: 'FAILED', ErrorMessage: 'x', LogGroupName: '/aws-glue/jobs-secure' }]);
    const err = await rejection(
      run(activityEnv(), createGlueActivities(awsDeps(aws)).waitForGlueJobRun, waitInput('sales-to-parquet', 'jr_123')),
    );
    assert.match(err.message, /\/aws-glue\/jobs-secure\/error and \/aws-glue\/jobs-secure\/output/);
  });

  test('survives a throttled poll', async () => {
    let throttled = false;
    const { aws } = fakeClients((command) => {
      if (command !== 'GetJobRun') return {};
      if (!throttled) {
        throttled = true;
        throw new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
      }
      return { JobRun: { Id: 'jr_123', JobRunState: 'SUCCEEDED' } };
    });
    const result = await run(
      activityEnv(),
      createGlueActivities(awsDeps(aws)).waitForGlueJobRun,
      waitInput('j', 'jr_123'),
    );
    assert.equal(result.jobRunState, 'SUCCEEDED');
  });

  test('stops the run with BatchStopJobRun when cancelled, waits for STOPPED, then reports the cancellation', async () => {
    let stopped = 0;
    const { aws, log } = fakeClients((command) => {
      if (command === 'BatchStopJobRun') {
        stopped = 1;
        return { SuccessfulSubmissions: [{ JobRunId: 'jr_123' }], Errors: [] };
      }
      if (command === 'GetJobRun') {
        const state = stopped === 0 ? 'RUNNING' : stopped++ < 3 ? 'STOPPING' : 'STOPPED';
        return { JobRun: { Id: 'jr_123', JobRunState: state } };
      }
      return {};
    });
    const env = activityEnv();
    env.once('heartbeat', () => env.cancel());
    const err = await run(env, createGlueActivities(awsDeps(aws)).waitForGlueJobRun, waitInput('j', 'jr_123')).then(
      () => assert.fail('the wait did not report the cancellation'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
    const stop = log.calls.find((c) => c.command === 'BatchStopJobRun');
    assert.deepEqual(stop?.input, { JobName: 'j', JobRunIds: ['jr_123'] });
    const lastPoll = log.calls.filter((c) => c.command === 'GetJobRun').length;
    assert.ok(lastPoll >= 3, 'did not wait for the run to reach STOPPED');
  });

  test('leaves the run alone when the worker shuts down (the next attempt resumes the wait)', async () => {
    const { aws, log } = fakeGlue([{ JobRunState: 'RUNNING' }]);
    const env = activityEnv();
    env.once('heartbeat', () =>
      env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true })),
    );
    await assert.rejects(run(env, createGlueActivities(awsDeps(aws)).waitForGlueJobRun, waitInput('j', 'jr_123')));
    assert.equal(log.count('BatchStopJobRun'), 0);
  });
});
