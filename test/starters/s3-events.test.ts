/**
 * The S3 event trigger on the test stack: S3 event notifications put on a moto SQS queue (through the
 * gateway's pass-through), or delivered there by moto itself from a bucket's notification configuration,
 * consumed by the same code the CLI and the Lambda handler run. Runs start on a
 * task queue no worker polls, so they stay running: what is checked is how many runs start.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection } from '@temporalio/client';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { PipelineInput } from '../../src/workflow-safe/run-input';
import { handleSqsEvent } from '../../src/starters/s3-events-lambda';
import { batchOf, consumeS3Events, parseS3Events } from '../../src/starters/s3-events';
import { glueline, useCliEnv } from '../../devstack/testkit/cli';
import { uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

/** An S3 event notification for one created object, as S3 sends it to SQS. */
const s3Event = (bucket: string, key: string) =>
  JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 10 } },
      },
    ],
  });

describe('S3 event trigger', () => {
  let spec: PipelineSpec;
  let bucket: string;
  let sqs: SQSClient;
  let connection: Connection;
  let client: Client;
  let workDir: string;
  const taskQueue = unique('idle-s3');
  let restoreEnv = () => {};

  const runsOf = async (workflowId: string) => {
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w.runId);
    return runs;
  };
  const newQueue = async () =>
    (await sqs.send(new CreateQueueCommand({ QueueName: unique('glueline-events') }))).QueueUrl!;
  const queueIsEmpty = async (queueUrl: string) => {
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    assert.equal(attrs.Attributes?.ApproximateNumberOfMessages, '0', 'every message deleted');
    assert.equal(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible, '0', 'every message deleted');
  };
  const consume = (queueUrl: string, log: string[]) =>
    consumeS3Events({
      sqs,
      queueUrl,
      client,
      taskQueue,
      spec,
      quietMs: 1500,
      waitTimeSeconds: 1,
      stopWhenIdle: true,
      log: (l) => log.push(l),
    });

  before(async () => {
    spec = uniqueSalesSpec();
    bucket = primaryRegion(spec).rawBucket;
    sqs = new SQSClient(awsClientConfig('us-east-1'));
    connection = await Connection.connect({ address: stack().temporal.address });
    client = new Client({ connection, namespace: stack().temporal.namespace });
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-s3-events-'));
    restoreEnv = useCliEnv(taskQueue);
  });

  after(async () => {
    for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` }))
      await client.workflow
        .getHandle(w.workflowId, w.runId)
        .terminate('test done')
        .catch(() => undefined);
    restoreEnv();
    sqs.destroy();
    await connection.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('parses S3 notifications, SNS-wrapped ones and EventBridge events; ignores test events and removals', () => {
    assert.deepEqual(parseS3Events(s3Event('b', 'landing/x/my file+1.csv')), [
      // The record's awsRegion comes along: the batch's source is read through it.
      { bucket: 'b', key: 'landing/x/my file+1.csv', size: 10, region: 'us-east-1' },
    ]);
    assert.deepEqual(
      parseS3Events(JSON.stringify({ Type: 'Notification', Message: s3Event('b', 'k/a.csv') }))[0]?.key,
      'k/a.csv',
    );
    const eventBridge = {
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: { name: 'b' }, object: { key: 'k/a.csv' } },
    };
    assert.deepEqual(parseS3Events(JSON.stringify(eventBridge)), [{ bucket: 'b', key: 'k/a.csv', size: undefined }]);
    assert.deepEqual(parseS3Events(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' })), []);
    assert.deepEqual(parseS3Events(s3Event('b', 'k').replace('ObjectCreated:Put', 'ObjectRemoved:Delete')), []);
    assert.deepEqual(parseS3Events('not json'), []);
  });

  test('an object belongs to the batch of its landing folder, or to none, with the reason', () => {
    assert.deepEqual(batchOf({ spec }, { bucket, key: 'landing/2026-11-26/a.csv' }), {
      batch: { id: '2026-11-26', source: { bucket, prefix: 'landing/2026-11-26/' } },
    });
    assert.deepEqual(batchOf({ spec }, { bucket: 'other', key: 'landing/b/a.csv' }), {
      ignored: `bucket other is not the source bucket ${bucket}`,
    });
    assert.match(
      (batchOf({ spec }, { bucket, key: 'landing/a.csv' }) as { ignored: string }).ignored,
      /not in a batch folder/,
    );
    assert.match((batchOf({ spec }, { bucket, key: 'landing/b/_SUCCESS' }) as { ignored: string }).ignored, /hidden/);
    // A folder that is no batch is not dropped: it is started for the worker to refuse and tell the team.
    assert.deepEqual(batchOf({ spec }, { bucket, key: 'landing/bad id!/a.csv' }), {
      refused: { id: 'bad id!', source: { bucket, prefix: 'landing/bad id!/' } },
      reason: 'bad id! is not a usable batch id',
    });
  });

  test('two identical events a second apart, and a second file of the batch, start exactly one run of the folder', async () => {
    const queueUrl = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'landing/b1/a.csv') }));
    const log: string[] = [];
    const consuming = consume(queueUrl, log);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'landing/b1/a.csv') }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'landing/b1/b.csv') }));
    await consuming;

    const workflowId = pipelineWorkflowId(spec, { id: 'b1' });
    assert.equal((await runsOf(workflowId)).length, 1, log.join('\n'));
    assert.equal(log.filter((l) => l.startsWith('batch b1: started')).length, 1, log.join('\n'));
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const input = JSON.parse(
      Buffer.from(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString(),
    ) as PipelineInput;
    assert.deepEqual(input.batch, { id: 'b1', source: { bucket, region: 'us-east-1', prefix: 'landing/b1/' } });
    await queueIsEmpty(queueUrl);
  });

  test("moto's own notifications: files PUT through the gateway start one run of their folder, a re-upload none", async () => {
    const s3 = new S3Client(awsClientConfig('us-east-1'));
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const queueUrl = await newQueue();
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
      // As on AWS: the bucket's ObjectCreated events under landing/ go to the queue (moto also sends s3:TestEvent).
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: {
            QueueConfigurations: [
              {
                QueueArn: Attributes!.QueueArn!,
                Events: ['s3:ObjectCreated:*'],
                Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'landing/' }] } },
              },
            ],
          },
        }),
      );
      const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'sale_id\n1\n' }));
      await put('landing/notified-1/a.csv');
      await put('landing/notified-1/b c.csv');
      await put('elsewhere/notified-1/a.csv');
      const log: string[] = [];
      await consume(queueUrl, log);
      const workflowId = pipelineWorkflowId(spec, { id: 'notified-1' });
      assert.equal((await runsOf(workflowId)).length, 1, log.join('\n'));
      assert.deepEqual(log, [
        `batch notified-1: started ${workflowId} run ${(await runsOf(workflowId))[0]} (2 object event(s))`,
      ]);

      await put('landing/notified-1/a.csv');
      const again: string[] = [];
      await consume(queueUrl, again);
      assert.equal((await runsOf(workflowId)).length, 1, again.join('\n'));
      assert.match(
        again.join('\n'),
        /batch notified-1: already running as \S+ run \S+; no second run \(1 object event/,
      );
      await queueIsEmpty(queueUrl);
    } finally {
      s3.destroy();
    }
  });

  test('a replayed event for a batch already running attaches to it and says so', async () => {
    const queueUrl = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'landing/b1/a.csv') }));
    const log: string[] = [];
    await consume(queueUrl, log);
    assert.equal((await runsOf(pipelineWorkflowId(spec, { id: 'b1' }))).length, 1);
    assert.match(log.join('\n'), /batch b1: already running as csv-pipeline-\S+-b1 run \S+; no second run/);
  });

  test('events outside the landing folders start nothing and are deleted', async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event('someone-elses-bucket', 'landing/z/a.csv') }),
    );
    const log: string[] = [];
    await consume(queueUrl, log);
    assert.deepEqual(log, [
      `ignored s3://someone-elses-bucket/landing/z/a.csv: bucket someone-elses-bucket is not the source bucket ${bucket}`,
    ]);
    assert.equal((await runsOf(pipelineWorkflowId(spec, { id: 'z' }))).length, 0);
  });

  test('the Lambda handler shares the code: duplicate records in one or two invocations start one run', async () => {
    const deps = { client, spec, taskQueue, log: () => {} };
    const records = [
      { messageId: 'm1', body: s3Event(bucket, 'landing/lambda-1/a.csv') },
      { messageId: 'm2', body: s3Event(bucket, 'landing/lambda-1/a.csv') },
    ];
    assert.deepEqual(await handleSqsEvent({ Records: records }, deps), { batchItemFailures: [] });
    assert.deepEqual(await handleSqsEvent({ Records: records.slice(0, 1) }, deps), { batchItemFailures: [] });
    assert.equal((await runsOf(pipelineWorkflowId(spec, { id: 'lambda-1' }))).length, 1);
  });

  test('the s3-events command: --help shows the start it makes; a missing queue exits 2', async () => {
    const help = await glueline('s3-events', '--help');
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /temporal workflow start --type csvPipeline .*--workflow-id csv-pipeline-<spec name>-<batch id>/,
    );
    const specFile = path.join(workDir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const missing = await glueline('s3-events', '--spec', specFile);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--queue-url is required/);
  });

  test('the s3-events command consumes the queue until idle', async () => {
    const queueUrl = await newQueue();
    const specFile = path.join(workDir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'landing/cli-1/a.csv') }));
    const { code, stdout, stderr } = await glueline(
      's3-events',
      '--spec',
      specFile,
      '--queue-url',
      queueUrl,
      '--quiet',
      '1',
      '--until-idle',
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /batch cli-1: started csv-pipeline-\S+-cli-1 run /);
    assert.equal((await runsOf(pipelineWorkflowId(spec, { id: 'cli-1' }))).length, 1);
  });
});
