import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BatchStopJobRunCommand,
  GetJobRunCommand,
  GlueClient,
  StartJobRunCommand,
  type JobRun,
} from '@aws-sdk/client-glue';
import { createGlueJob } from '../../devstack/testkit/glue';
import { startPrivateGateway, type PrivateGateway } from '../../devstack/testkit/gateway-process';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig } from '../../devstack/testkit/stack';

/** A gateway of this file's own, with the echo runner registered through GATEWAY_JOB_RUNNER. */
let gateway: PrivateGateway;
let glue: GlueClient;
before(async () => {
  gateway = await startPrivateGateway({ GATEWAY_JOB_RUNNER: path.join(__dirname, '../fixtures/echo-job-runner.ts') });
  glue = new GlueClient({ ...awsClientConfig(), endpoint: gateway.endpoint });
});
after(async () => {
  glue.destroy();
  await gateway.stop();
});

async function startRun(behaviour: string, Arguments: Record<string, string> = {}) {
  const JobName = await createGlueJob(glue, {
    Command: { Name: 'glueetl', ScriptLocation: 's3://scripts/to_parquet.py' },
    DefaultArguments: { '--behaviour': behaviour, '--output': 's3://curated/default/' },
  });
  const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName, Arguments }));
  return { JobName, JobRunId: JobRunId! };
}

const finished = (JobName: string, RunId: string): Promise<JobRun> =>
  pollUntil(
    async () => (await glue.send(new GetJobRunCommand({ JobName, RunId }))).JobRun!,
    (run) => !['STARTING', 'RUNNING', 'STOPPING'].includes(run.JobRunState!),
  );

describe('the JobRunner extension point', () => {
  test("the runner gets the job's DefaultArguments overlaid with the run's Arguments", async () => {
    const { JobName, JobRunId } = await startRun('echo', { '--output': 's3://curated/run/' });
    const run = await finished(JobName, JobRunId);
    assert.deepEqual(JSON.parse(run.ErrorMessage!), {
      jobName: JobName,
      jobRunId: JobRunId,
      region: awsClientConfig().region,
      args: { '--behaviour': 'echo', '--output': 's3://curated/run/' },
      scriptLocation: 's3://scripts/to_parquet.py',
    });
    assert.deepEqual(run.Arguments, { '--output': 's3://curated/run/' }, 'GetJobRun shows the run’s own Arguments');
  });

  test("a runner that throws ends the run FAILED with the error's message", async () => {
    const { JobName, JobRunId } = await startRun('throw');
    const run = await finished(JobName, JobRunId);
    assert.equal(run.JobRunState, 'FAILED');
    assert.equal(run.ErrorMessage, 'spark: executor lost');
  });

  test("BatchStopJobRun aborts the runner's signal and the run ends STOPPED", async () => {
    const { JobName, JobRunId } = await startRun('wait-for-stop');
    await pollUntil(
      async () => (await glue.send(new GetJobRunCommand({ JobName, RunId: JobRunId }))).JobRun!.JobRunState,
      (state) => state === 'RUNNING',
    );
    await glue.send(new BatchStopJobRunCommand({ JobName, JobRunIds: [JobRunId] }));
    // Were the signal not aborted, the run would stay STOPPING for the 30 s grace the gateway gives a runner.
    const run = await finished(JobName, JobRunId);
    assert.equal(run.JobRunState, 'STOPPED');
  });
});
