/**
 * Issue 15, secrets where an error text carries them: the worker holds a webhook token and an SMTP password, and
 * both come back from AWS, once in a Glue job run's ErrorMessage (the run fails and notifies) and once in an S3 key
 * (a landed file's name, which the Glue manifest lists). Every history, the worker's log, the gateway's and the
 * Temporal server's logs, every email and every webhook body must hold them only redacted. A positive control
 * proves the scan finds a value that is there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client, Connection } from '@temporalio/client';
import { manifestKey, primaryRegion, type GlueManifest } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  KillableWorker,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  reliabilitySpec,
  scanForSecrets,
  scanScenario,
  scenarioPlaces,
  secretWorkerEnv,
  secrets,
  sinkMessages,
  startWebhookReceiver,
  temporalClient,
  withOwnJob,
  type ScanPlace,
} from './support';

/** The two secrets AWS hands back. */
const planted = `${secrets.webhookToken} ${secrets.smtpPassword}`;

/** Lands a CSV whose key holds both secrets, and lists it in the manifest the scripted Glue job stands for. */
async function landSecretKey(spec: PipelineSpec, batch: Batch): Promise<void> {
  const primary = primaryRegion(spec);
  const s3 = new S3Client(awsClientConfig(primary.region));
  const key = `landing/${batch.id}/sales-${secrets.webhookToken}-${secrets.smtpPassword}.csv`;
  await s3.send(new PutObjectCommand({ Bucket: primary.rawBucket, Key: key, Body: 'sale_id,store\n3,c\n' }));
  const Key = manifestKey(spec, batch);
  const got = await s3.send(new GetObjectCommand({ Bucket: primary.curatedBucket, Key }));
  const manifest = JSON.parse(await got.Body!.transformToString()) as GlueManifest;
  const updated = { ...manifest, inputFiles: [...manifest.inputFiles, key], rowsIn: manifest.rowsIn + 1 };
  updated.rowsOut += 1;
  await s3.send(new PutObjectCommand({ Bucket: primary.curatedBucket, Key, Body: JSON.stringify(updated) }));
  s3.destroy();
}

describe(`secrets (${mode}): planted in a Glue ErrorMessage and an S3 key, found only redacted`, () => {
  const gateway = new GatewayControl();
  const taskQueue = unique('rel-secrets');
  const runs: { name: string; workflowId: string; outcome?: string }[] = [];
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let mailsBefore: number;
  let places: ScanPlace[];

  before(
    async () => {
      webhook = await startWebhookReceiver();
      const base = reliabilitySpec(webhook.url);
      await provisionQuietly(base);
      mailsBefore = (await sinkMessages()).length;
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();

      const errorSpec = withOwnJob(base, 'errmsg');
      await provisionQuietly(errorSpec);
      const errorBatch = await landBatch(errorSpec, 'errmsg');
      await gateway.scriptJobRuns(errorSpec.transform.jobName, [
        { state: 'FAILED', errorMessage: `could not call the webhook with token ${planted}`, afterSeconds: 1 },
      ]);
      const keySpec = withOwnJob(base, 'key');
      await provisionQuietly(keySpec);
      const keyBatch = await landBatch(keySpec, 'key');
      await landSecretKey(keySpec, keyBatch);
      await gateway.scriptJobRuns(keySpec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 1 }]);

      const started = [
        { name: 'Glue ErrorMessage', spec: errorSpec, batch: errorBatch },
        { name: 'S3 key', spec: keySpec, batch: keyBatch },
      ];
      await Promise.all(
        started.map(async ({ name, spec, batch }) => {
          const run = { name, workflowId: `${pipelineWorkflowId(spec, batch)}-secrets` };
          runs.push(run);
          const handle = await client.workflow.start('csvPipeline', {
            taskQueue,
            workflowId: run.workflowId,
            args: [{ spec, batch }],
          });
          await handle.result().then(
            () => Object.assign(run, { outcome: 'completed' }),
            (err: Error) => Object.assign(run, { outcome: `failed: ${err.message}` }),
          );
        }),
      );
      await worker.stop();
      places = scenarioPlaces(
        runs.map((r) => r.workflowId),
        worker.logFile,
      );
      for (const m of (await sinkMessages()).slice(mailsBefore))
        places.push([`email '${m.subject}'`, JSON.stringify(m)]);
      for (const r of webhook.requests) places.push(['webhook body', r.body]);
    },
    { timeout: 600_000 },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
    await webhook?.close();
  });

  test('the run whose Glue job failed with the secrets in its ErrorMessage failed and notified', () => {
    const run = runs.find((r) => r.name === 'Glue ErrorMessage')!;
    assert.match(run.outcome ?? '', /^failed/, run.outcome);
    assert.equal(webhook.requests.filter((r) => r.body.includes(run.workflowId)).length, 1);
  });

  test('positive control: the scan finds a value that is in the histories and the log', () => {
    // The run's workflow id is in its history (an input payload, decoded) and in the worker's DEBUG log.
    const canary = runs[0]!.workflowId;
    const found = scanForSecrets(places, { canary });
    assert.ok(found.includes(`canary in history of ${canary}`), found.join('; '));
    assert.ok(
      found.some((f) => f.startsWith('canary in worker log')),
      found.join('; '),
    );
    // And a secret put where the scan looks is found: the scan is not blind to the secrets' own form.
    assert.deepEqual(scanForSecrets([['a planted line', `x ${secrets.smtpPassword} y`]]), [
      'smtpPassword in a planted line',
    ]);
  });

  test('the planted secrets reached the histories, the log and the notifications only redacted', () => {
    const found = scanScenario('secrets', places, runs[0]!.workflowId);
    recordFigure('secrets', {
      planted: 'Glue ErrorMessage, S3 key',
      plantedFound: found.length,
      redactedPlaces: places.filter(([, text]) => text.includes('[redacted]')).length,
    });
    assert.deepEqual(found, []);
    // Where the values were, the redaction mark is: they were carried, and redacted, not lost on the way.
    for (const run of runs) {
      const history = places.find(([where]) => where === `history of ${run.workflowId}`)![1];
      if (run.name === 'S3 key') {
        // Since patch transform-manifest-summary the manifest's file lists stay in S3 (the workflow keeps counts and
        // a checksum), so the planted key is in no history in any form, not even redacted.
        assert.ok(history.includes('readManifestSummary'), `the history of ${run.name} read the manifest's summary`);
        assert.ok(!history.includes('sales-[redacted]'), `the planted key in the history of ${run.name}`);
      } else assert.ok(history.includes('[redacted]'), `no redacted value in the history of ${run.name}`);
    }
    const mails = places.filter(([where]) => where.startsWith('email'));
    assert.ok(
      mails.some(([, text]) => text.includes('[redacted]')),
      'the failure email carries the redacted message',
    );
  });
});
