import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  BatchStopJobRunCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
  type JobRun,
} from '@aws-sdk/client-glue';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { createGlueJob } from '../../devstack/testkit/glue';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

const glue = new GlueClient(awsClientConfig());
const gateway = new GatewayControl();
after(() => glue.destroy());

const createJob = (maxConcurrentRuns?: number) =>
  createGlueJob(glue, { ExecutionProperty: maxConcurrentRuns ? { MaxConcurrentRuns: maxConcurrentRuns } : undefined });

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR', 'EXPIRED']);

async function runUntil(JobName: string, RunId: string, states = TERMINAL): Promise<JobRun> {
  return pollUntil(
    async () => (await glue.send(new GetJobRunCommand({ JobName, RunId }))).JobRun!,
    (run) => states.has(run.JobRunState!),
  );
}

describe('Glue job runs through the gateway', () => {
  test('a run with no scripted outcome succeeds through the default job runner', async () => {
    const JobName = await createJob();
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName, Arguments: { '--batch': 'b1' } }));
    assert.match(JobRunId!, /^jr_[0-9a-f]{64}$/);
    const run = await runUntil(JobName, JobRunId!);
    assert.equal(run.JobRunState, 'SUCCEEDED');
    assert.deepEqual(run.Arguments, { '--batch': 'b1' });
    assert.equal(run.Attempt, 0);
    assert.ok(run.StartedOn instanceof Date && run.CompletedOn instanceof Date);
  });

  test("StartedOn and CompletedOn come from the gateway's clock, shifted an hour ahead of the machine's", async () => {
    const JobName = await createJob();
    const hour = 3_600_000;
    const run = await gateway.atClockOffset(hour, async () => {
      await gateway.scriptJobRuns(JobName, [{ state: 'SUCCEEDED', afterSeconds: 0.2 }]);
      const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName }));
      return runUntil(JobName, JobRunId!);
    });
    for (const [field, at] of [
      ['StartedOn', run.StartedOn!],
      ['CompletedOn', run.CompletedOn!],
    ] as const) {
      const aheadMs = at.getTime() - Date.now();
      // An hour ahead of the machine's clock, give or take the minute the run and the polling can take.
      assert.ok(aheadMs > hour - 60_000 && aheadMs < hour + 60_000, `${field} is ${aheadMs} ms ahead`);
    }
  });
  test('a scripted failing run reports FAILED with the scripted ErrorMessage', async () => {
    const JobName = await createJob();
    await gateway.scriptJobRuns(JobName, [
      { state: 'FAILED', errorMessage: 'AnalysisException: no column x', afterSeconds: 0.2 },
    ]);
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName }));
    const run = await runUntil(JobName, JobRunId!);
    assert.equal(run.JobRunState, 'FAILED');
    assert.equal(run.ErrorMessage, 'AnalysisException: no column x');
  });

  test('a scripted timeout reports TIMEOUT', async () => {
    const JobName = await createJob();
    await gateway.scriptJobRuns(JobName, [{ state: 'TIMEOUT', afterSeconds: 0.2 }]);
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName }));
    assert.equal((await runUntil(JobName, JobRunId!)).JobRunState, 'TIMEOUT');
  });

  test('BatchStopJobRun moves a RUNNING run through STOPPING to STOPPED', async () => {
    const JobName = await createJob();
    await gateway.scriptJobRuns(JobName, [{ state: 'RUNNING' }]);
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName }));
    await runUntil(JobName, JobRunId!, new Set(['RUNNING']));
    const stopped = await glue.send(new BatchStopJobRunCommand({ JobName, JobRunIds: [JobRunId!, 'jr_unknown'] }));
    assert.deepEqual(stopped.SuccessfulSubmissions, [{ JobName, JobRunId }]);
    assert.equal(stopped.Errors?.[0]?.ErrorDetail?.ErrorCode, 'EntityNotFoundException');
    const stopping = (await glue.send(new GetJobRunCommand({ JobName, RunId: JobRunId }))).JobRun!;
    assert.equal(stopping.JobRunState, 'STOPPING');
    assert.equal((await runUntil(JobName, JobRunId!)).JobRunState, 'STOPPED');
  });

  test('StartJobRun beyond MaxConcurrentRuns throws ConcurrentRunsExceededException', async () => {
    const JobName = await createJob(2);
    await gateway.scriptJobRuns(JobName, [{ state: 'RUNNING' }, { state: 'RUNNING' }]);
    const first = await glue.send(new StartJobRunCommand({ JobName }));
    const second = await glue.send(new StartJobRunCommand({ JobName }));
    await assert.rejects(glue.send(new StartJobRunCommand({ JobName })), { name: 'ConcurrentRunsExceededException' });
    await glue.send(new BatchStopJobRunCommand({ JobName, JobRunIds: [first.JobRunId!, second.JobRunId!] }));
  });

  test('StartJobRun of a job moto does not have throws EntityNotFoundException', async () => {
    await assert.rejects(glue.send(new StartJobRunCommand({ JobName: unique('gw-no-such-job') })), {
      name: 'EntityNotFoundException',
    });
  });

  test('GetJobRuns lists runs newest first, a page at a time', async () => {
    const JobName = await createJob(3);
    await gateway.scriptJobRuns(JobName, [
      { state: 'SUCCEEDED', afterSeconds: 0 },
      { state: 'SUCCEEDED', afterSeconds: 0 },
      { state: 'SUCCEEDED', afterSeconds: 0 },
    ]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await glue.send(new StartJobRunCommand({ JobName }))).JobRunId!);
    const first = await glue.send(new GetJobRunsCommand({ JobName, MaxResults: 2 }));
    const second = await glue.send(new GetJobRunsCommand({ JobName, MaxResults: 2, NextToken: first.NextToken }));
    assert.deepEqual(
      [...first.JobRuns!, ...second.JobRuns!].map((r) => r.Id),
      ids.reverse(),
    );
    assert.equal(second.NextToken, undefined);
  });

  test('at time scale 600 a scripted 2-hour run ends within the poll and reports ExecutionTime 7200', async () => {
    const JobName = await createJob();
    // Unscaled, the run would outlast runUntil's 60 s many times over: that it ends at all is the check.
    await gateway.scriptJobRuns(JobName, [{ state: 'SUCCEEDED', afterSeconds: 7200 }]);
    await gateway.setTimeScale(600);
    try {
      const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName }));
      const run = await runUntil(JobName, JobRunId!);
      assert.equal(run.ExecutionTime, 7200);
      assert.equal(run.CompletedOn!.getTime() - run.StartedOn!.getTime(), 7_200_000);
    } finally {
      await gateway.setTimeScale(1);
    }
  });
});
