/**
 * Issue 15, kills in the exact windows of the crawl and the copies: the gateway serves StartCrawler (the crawl
 * starts), CopyObject and UploadPartCopy (the object, or the part, is written in the replica) and
 * CompleteMultipartUpload (the multipart copy is whole), holds the response, and the worker is SIGKILLed while it
 * waits for it; a new worker starts and the response is released into the dead connection. The retry must join the
 * crawl that is running instead of starting another, and find each copy that took effect verified in place instead
 * of copying it again. The run still has one StartJobRun and one refresh per region.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetJobRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client, Connection } from '@temporalio/client';
import {
  curatedBatchPrefix,
  manifestKey,
  primaryRegion,
  replicaRegions,
  type GlueManifest,
} from '../../src/workflow-safe/layout';
import type { ObjectSet } from '../../src/workflow-safe/activity-types';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { putMultipartObject } from '../../devstack/testkit/aws';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  completedActivities,
  killWhileHeld,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  recordHeldWindow,
  refreshExecutions,
  reliabilitySpec,
  secretWorkerEnv,
  temporalClient,
  withOwnJob,
  type HeldKill,
  ScenarioRules,
} from './support';

const TIMEOUT_MS = 900_000;
const MiB = 1024 * 1024;

/** Adds a multipart output file (two parts, so the replica copy takes UploadPartCopy) to the batch's manifest. */
async function addMultipartOutput(spec: PipelineSpec, batch: Batch): Promise<string> {
  const primary = primaryRegion(spec);
  const s3 = new S3Client(awsClientConfig(primary.region));
  const Bucket = primary.curatedBucket;
  const Key = `${curatedBatchPrefix(spec, batch)}part-00001.snappy.parquet`;
  await putMultipartObject(s3, Bucket, Key, [5 * MiB, 1 * MiB]);
  const mKey = manifestKey(spec, batch);
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: mKey }));
  const manifest = JSON.parse(await got.Body!.transformToString()) as GlueManifest;
  manifest.outputFiles.push({ key: Key, bytes: 6 * MiB });
  await s3.send(new PutObjectCommand({ Bucket, Key: mKey, Body: JSON.stringify(manifest) }));
  s3.destroy();
  return Key;
}

describe(`held-response kills (${mode}): SIGKILL while StartCrawler's and the copies' responses are held`, () => {
  const gateway = new GatewayControl();
  /** Removed after the file, fired or not. */
  const rules = new ScenarioRules(gateway);
  const taskQueue = unique('rel-heldcc');
  const kills: HeldKill[] = [];
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let spec: PipelineSpec;
  let batch: Batch;
  let workflowId: string;
  let replica: { region: string; curatedBucket: string };
  let multipartKey: string;
  let outcome: string | undefined;
  let crawler: string;
  const ofCrawler = (a: { input: Record<string, unknown> }) => a.input.crawlerName === crawler;

  before(
    async () => {
      const base = reliabilitySpec();
      await provisionQuietly(base);
      spec = withOwnJob(base, 'heldcc');
      await provisionQuietly(spec);
      batch = await landBatch(spec, 'heldcc');
      multipartKey = await addMultipartOutput(spec, batch);
      workflowId = `${pipelineWorkflowId(spec, batch)}-heldcc`;
      const primary = primaryRegion(spec);
      replica = replicaRegions(spec)[0]!;
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 1 }]);
      // The primary's curated crawl (its objects were in place long before) runs until this test ends it: the
      // retry must find it running, and join it.
      crawler = primary.curatedCrawler;
      await gateway.scriptCrawls(crawler, [{ status: 'RUNNING' }], primary.region);
      const hold = (target: string, resource: string, region: string) =>
        rules.add({ target, resource, region, action: { type: 'hold' }, count: 1 });
      await hold('glue:StartCrawler', crawler, primary.region);
      await hold('s3:CopyObject', replica.curatedBucket, replica.region);
      await hold('s3:UploadPartCopy', replica.curatedBucket, replica.region);
      await hold('s3:CompleteMultipartUpload', replica.curatedBucket, replica.region);
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();
      const handle = await client.workflow.start('csvPipeline', { taskQueue, workflowId, args: [{ spec, batch }] });
      const result = handle.result().then(
        () => (outcome = 'completed'),
        (err: Error) => (outcome = `failed: ${err.message}`),
      );
      const context = { gateway, worker, client, workflowId };
      const on = (operation: string, resource: string) => (h: { operation: string; resource?: string }) =>
        h.operation === operation && h.resource === resource;

      // The data copy's first attempt: the small file's CopyObject and a part of the multipart copy, both held.
      kills.push(
        await killWhileHeld(context, 'CopyObject + UploadPartCopy', 'copyObjects', [
          on('CopyObject', replica.curatedBucket),
          on('UploadPartCopy', replica.curatedBucket),
        ]),
      );
      // Its retry: the small file verified in place; the multipart copy made again and held at its completion.
      kills.push(
        await killWhileHeld(context, 'CompleteMultipartUpload', 'copyObjects', [
          on('CompleteMultipartUpload', replica.curatedBucket),
        ]),
      );
      kills.push(await killWhileHeld(context, 'StartCrawler', 'startCrawler', [on('StartCrawler', crawler)]));
      // Once the retry has joined (or started) a crawl, the crawl may end.
      await pollUntil(
        async () => (await completedActivities(client, workflowId, 'startCrawler')).filter(ofCrawler),
        (done) => done.length > 0,
        { timeoutMs: 300_000, intervalMs: 500 },
      );
      assert.ok(await gateway.endCrawl(crawler, { status: 'SUCCEEDED' }, primary.region));
      await result;
    },
    { timeout: TIMEOUT_MS },
  );

  after(async () => {
    await rules.removeAll();
    await gateway.releaseAll();
    await worker?.stop();
    await connection?.close();
  });

  test('the worker was killed in each window while the response was held, and the run completed', () => {
    recordFigure('held-kills-crawl-copy', { kills: worker.kills, windows: kills.map((k) => k.window).join(', ') });
    assert.deepEqual(
      kills.map((k) => [k.window, k.activity]),
      [
        ['CopyObject + UploadPartCopy', 'copyObjects'],
        ['CompleteMultipartUpload', 'copyObjects'],
        ['StartCrawler', 'startCrawler'],
      ],
    );
    assert.equal(worker.kills, 3);
    assert.equal(outcome, 'completed', `${workflowId}: ${outcome}; worker log: ${worker.logFile}`);
  });

  test('the retry joined the crawl the held StartCrawler started: one StartCrawler', async () => {
    const starts = (await gateway.counts(crawler))['glue:StartCrawler'];
    const [started, ...more] = (await completedActivities(client, workflowId, 'startCrawler')).filter(ofCrawler);
    recordHeldWindow(kills[2]!, started?.attempt ?? 0, Math.max(0, (starts?.count ?? 0) - 1));
    assert.deepEqual(starts, { count: 1, faulted: 1 }, 'the held StartCrawler was the only one');
    assert.equal(more.length, 0);
    assert.ok(started!.attempt > kills[2]!.attempt, `startCrawler completed on attempt ${started!.attempt}`);
    assert.equal((started!.result.crawl as { how: string }).how, 'joined', JSON.stringify(started!.result));
  });

  test('the copies that took effect were verified in place, not copied again', async () => {
    const counts = await gateway.counts(replica.curatedBucket);
    // The replica's copy names the Glue manifest's files by the manifest (before that patch: lists their keys).
    const data = (await completedActivities(client, workflowId, 'copyObjects')).find((c) => {
      const source = c.input.source as ObjectSet;
      return source.manifestFiles !== undefined || (source.keys ?? []).includes(multipartKey);
    });
    assert.ok(data, 'the data copy completed');
    // The small file's CopyObject took effect under the first kill: the only CopyObjects are it and the manifest's.
    const copyObjects = counts['s3:CopyObject']?.count ?? 0;
    // The multipart copy was made twice (its first upload was never completed); completed once, under the hold.
    const completes = counts['s3:CompleteMultipartUpload']?.count ?? 0;
    recordHeldWindow(kills[0]!, data.attempt, Math.max(0, copyObjects - 2));
    recordHeldWindow(kills[1]!, data.attempt, Math.max(0, completes - 1));
    assert.equal(copyObjects, 2, JSON.stringify(counts));
    assert.equal(completes, 1, JSON.stringify(counts));
    assert.equal(counts['s3:UploadPartCopy']?.count, 4, 'two parts in the killed attempt, two in its retry');
    assert.ok(data.attempt > kills[1]!.attempt, `copyObjects completed on attempt ${data.attempt}`);
    assert.deepEqual(
      { copied: data.result.copied, skipped: data.result.skipped },
      { copied: 0, skipped: 2 },
      'the last attempt found both files verified in place',
    );
    const s3 = new S3Client(awsClientConfig(replica.region));
    after(() => s3.destroy());
    const head = await s3.send(new HeadObjectCommand({ Bucket: replica.curatedBucket, Key: multipartKey }));
    assert.equal(head.ContentLength, 6 * MiB);
  });

  test('one StartJobRun and one refresh per region', async () => {
    const glue = new GlueClient(awsClientConfig(primaryRegion(spec).region));
    after(() => glue.destroy());
    const { JobRuns } = await glue.send(new GetJobRunsCommand({ JobName: spec.transform.jobName }));
    assert.equal(JobRuns?.length, 1);
    for (const r of spec.regions.filter((x) => x.redshift)) {
      assert.equal((await refreshExecutions(spec, r.region)).get(batch.id), 1, `refresh of ${batch.id} in ${r.region}`);
    }
  });

  test('no secret in its history or the worker, gateway and server logs', async () => {
    await worker.stop();
    const places = scenarioPlaces([workflowId], worker.logFile);
    assert.deepEqual(scanScenario('held-kills-crawl-copy', places, workflowId), []);
  });
});
