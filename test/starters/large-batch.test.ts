/**
 * `glueline run --key` with more keys than KEY_LIST_BOUND against the test stack (issue #14: a batch's keys made the
 * run input near Temporal's 2 MB payload limit): the CLI writes the key-list object, the input names it, and
 * stage-raw copies exactly the listed keys. Stopped after stage-raw (no Spark).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { forEachLimit } from '../../src/aws/s3-copy';
import { KEY_LIST_BOUND } from '../../src/workflow-safe/key-list';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId, type PipelineResult } from '../../src/workflow-safe/pipeline';
import type { PipelineInput } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { glueline, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { provisionedSpecFile } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

const COUNT = KEY_LIST_BOUND + 200;
const keys = Array.from({ length: COUNT }, (_, i) => `landing/many/part-${String(i).padStart(4, '0')}.csv`);

describe('glueline run --key with more keys than the bound', () => {
  let spec: PipelineSpec;
  let specFile: string;
  let workDir: string;
  let cliWorker: CliWorker | undefined;
  let s3: S3Client;

  before(
    async () => {
      ({ spec, workDir, specFile } = await provisionedSpecFile('many'));
      s3 = new S3Client(awsClientConfig(primaryRegion(spec).region));
      const body = 'order_id,amount\n1,2\n';
      await forEachLimit(keys, 16, async (key) => {
        await s3.send(new PutObjectCommand({ Bucket: primaryRegion(spec).rawBucket, Key: key, Body: body }));
      });
      cliWorker = await startCliWorker(unique('many'));
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await cliWorker?.stop();
    s3?.destroy();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('writes the key list, starts a run whose input names it, and stage-raw copies every listed key', async () => {
    const { code, stdout, stderr } = await glueline(
      'run',
      '--spec',
      specFile,
      '--batch-id',
      'many-1',
      '--stop-after',
      'stage-raw',
      '--wait',
      '--key',
      ...keys,
    );
    assert.equal(code, 0, stdout + stderr);
    const written = /wrote the batch's (\d+) keys to s3:\/\/([^/]+)\/(\S+) /.exec(stdout);
    assert.ok(written, stdout);
    assert.equal(Number(written[1]), COUNT);
    const listed = await s3.send(new GetObjectCommand({ Bucket: written[2], Key: written[3] }));
    assert.deepEqual(JSON.parse(await listed.Body!.transformToString()), keys);

    const handle = cliWorker!.client.workflow.getHandle(pipelineWorkflowId(spec, { id: 'many-1' }));
    const done = (await handle.result()) as PipelineResult;
    assert.equal(done.totals.rawObjects, COUNT);
    const started = (await handle.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    const data = started.input!.payloads![0]!.data!;
    assert.ok(data.length < 8 * 1024, `run input ${data.length} bytes`);
    const input = JSON.parse(Buffer.from(data).toString()) as PipelineInput;
    assert.equal(input.batch.source.keys, undefined);
    assert.equal(input.batch.source.keyList?.count, COUNT);
    assert.equal(input.batch.source.keyList?.key, written[3]);
  });
});
