import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import nodemailer from 'nodemailer';
import type { SinkMessage } from '../devstack/mail-sink';
import { awsClientConfig, localDevServer, stack, timeSkippingServer, unique } from '../devstack/testkit/stack';
import { smoke } from './fixtures/smoke-workflows';

const workflowsPath = require.resolve('./fixtures/smoke-workflows');
const activities = { greet: async (name: string) => `hello ${name}` };

describe('local stack', () => {
  test('a real Worker runs a workflow on the dev server', async () => {
    const connection = await Connection.connect({ address: stack().temporal.address });
    after(() => connection.close());
    const client = new Client({ connection, namespace: stack().temporal.namespace });
    const taskQueue = unique('smoke');
    const { NativeConnection } = await import('@temporalio/worker');
    const workerConnection = await NativeConnection.connect({ address: stack().temporal.address });
    after(() => workerConnection.close());
    const worker = await Worker.create({ connection: workerConnection, taskQueue, workflowsPath, activities });
    const result = await worker.runUntil(
      client.workflow.execute(smoke, { taskQueue, workflowId: unique('smoke'), args: ['dev server'] }),
    );
    assert.equal(result, 'hello dev server hello again');
  });

  test('S3 keeps an object in buckets of two regions', async () => {
    const regions = stack().aws.regions;
    assert.ok(regions.length >= 2, `expected two regions, got ${regions.join(',')}`);
    for (const region of regions) {
      const s3 = new S3Client(awsClientConfig(region));
      const Bucket = unique(`smoke-${region}`);
      await s3.send(
        new CreateBucketCommand({
          Bucket,
          CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as 'eu-west-1' },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.csv', Body: `id\n${region}\n` }));
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'a/b.csv' }));
      assert.equal(await got.Body!.transformToString(), `id\n${region}\n`);
      s3.destroy();
    }
  });

  test('an email sent through nodemailer arrives at the sink', async () => {
    const subject = unique('smoke mail');
    const transport = nodemailer.createTransport({ host: stack().smtp.host, port: stack().smtp.port, secure: false });
    await transport.sendMail({ from: 'glueline@example.com', to: 'team@example.com', subject, text: 'body text' });
    transport.close();
    const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
    const message = inbox.find((m) => m.subject === subject);
    assert.ok(message, `no message with subject '${subject}' in the sink`);
    assert.equal(message.text.trim(), 'body text');
    assert.deepEqual(message.envelope.to, ['team@example.com']);
  });
});

describe('TestWorkflowEnvironment with the installed binaries', () => {
  test('createTimeSkipping skips a day of workflow sleep', async () => {
    const env = await TestWorkflowEnvironment.createTimeSkipping({ server: timeSkippingServer });
    try {
      const taskQueue = unique('skip');
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
      const before = await env.currentTimeMs();
      const result = await worker.runUntil(
        env.client.workflow.execute(smoke, { taskQueue, workflowId: unique('skip'), args: ['skipper', 86_400_000] }),
      );
      assert.equal(result, 'hello skipper hello again');
      assert.ok((await env.currentTimeMs()) - before >= 86_400_000, 'the test server did not skip a day');
    } finally {
      await env.teardown();
    }
  });

  test('createLocal starts the dev server binary', async () => {
    const env = await TestWorkflowEnvironment.createLocal({ server: localDevServer });
    try {
      const taskQueue = unique('local');
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
      const result = await worker.runUntil(
        env.client.workflow.execute(smoke, { taskQueue, workflowId: unique('local'), args: ['local'] }),
      );
      assert.equal(result, 'hello local hello again');
    } finally {
      await env.teardown();
    }
  });
});
