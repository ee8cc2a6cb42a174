/**
 * The worker as a separate process, as it runs in production: configuration from the environment, runs
 * started with the `temporal` CLI, graceful shutdown on SIGTERM. Runs against the test stack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { FailureType } from '../../src/workflow-safe/failures';
import { stack, unique } from '../../devstack/testkit/stack';
import {
  startWorker,
  stackWorkerEnv,
  temporalWorkflowStart,
  waitForOutput,
  type WorkerProcess,
} from '../../devstack/testkit/worker-process';

describe('the worker process', () => {
  test('refuses a bad environment at once, naming the variable and the fix', async () => {
    const worker = startWorker({ TEMPORAL_ADDRESS: '127.0.0.1:1', GLUELINE_METRICS_BIND: 'nine' });
    assert.equal(await worker.exited, 2);
    assert.match(worker.output(), /SMTP_URL: is required: set it to smtp:\/\//);
    assert.match(worker.output(), /GLUELINE_METRICS_BIND: "nine" is not host:port/);
  });

  describe('with the test stack', () => {
    const taskQueue = unique('e2e-worker');
    let worker: WorkerProcess;
    let connection: Connection;
    let client: Client;

    before(async () => {
      const s = stack();
      worker = startWorker(
        stackWorkerEnv(taskQueue, { SMTP_URL: `smtp://glueline:not-a-real-password@${s.smtp.host}:${s.smtp.port}` }),
      );
      await waitForOutput(worker, 'glueline worker started');
      connection = await Connection.connect({ address: s.temporal.address });
      client = new Client({ connection, namespace: s.temporal.namespace });
    });
    after(async () => {
      if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
      await connection?.close();
    });

    test('logs the SMTP host and never the SMTP credentials', () => {
      assert.match(worker.output(), new RegExp(`smtp: '${stack().smtp.host}:${stack().smtp.port}'`));
      assert.doesNotMatch(worker.output(), /not-a-real-password/);
    });

    test('a run started by the temporal CLI with a bad spec fails at once, naming the field', async () => {
      const workflowId = unique('e2e-bad-spec');
      temporalWorkflowStart({
        type: 'csvPipeline',
        taskQueue,
        workflowId,
        input: { spec: { name: 'Sales!' }, batch: { id: 'b1', source: { bucket: 'landing', prefix: 'in/' } } },
      });
      const error = await client.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      assert.ok(error instanceof WorkflowFailedError, String(error));
      assert.ok(error.cause instanceof ApplicationFailure);
      assert.equal(error.cause.type, FailureType.InvalidInput);
      assert.match(error.cause.message, /input\.spec\.name: "Sales!" is not a usable pipeline name/);
    });

    test('SIGTERM stops the worker gracefully', async () => {
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0);
      assert.match(worker.output(), /glueline worker stopped/);
    });
  });
});
