/**
 * A pipeline run without Spark, for the reliability scenarios and scripts/record-histories.ts: the sample spec
 * whose Redshift refresh only appends one row per execution to a counter table (a second execution of a statement
 * shows as a second row), a batch landed together with what the scripted Glue job stands for, a worker holding
 * every secret (which must stay out of histories, logs and emails), and a webhook receiver.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { curatedBatchPrefix, manifestKey, primaryRegion, type GlueManifest } from '../../src/workflow-safe/layout';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { uniqueSalesSpec } from './spec';
import type { StackEndpoints } from '../stack';
import { awsClientConfig, stack } from './stack';
import { stackWorkerEnv } from './worker-process';

/** The configured secrets: every one must stay out of histories, logs and emails. */
export const secrets = {
  smtpPassword: `smtp-pw-${Math.random().toString(36).slice(2)}`,
  awsSecretKey: `aws-secret-${Math.random().toString(36).slice(2)}`,
  webhookToken: `hook-token-${Math.random().toString(36).slice(2)}`,
};

/** A webhook receiver on loopback, keeping every request. */
export async function startWebhookReceiver(): Promise<{
  url: string;
  requests: { authorization?: string; body: string }[];
  close: () => Promise<void>;
}> {
  const requests: { authorization?: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ authorization: req.headers.authorization, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The environment of a worker that holds every secret. */
export function secretWorkerEnv(taskQueue: string): Record<string, string> {
  const s = stack();
  return stackWorkerEnv(taskQueue, {
    SMTP_URL: `smtp://glueline:${secrets.smtpPassword}@${s.smtp.host}:${s.smtp.port}`,
    AWS_SECRET_ACCESS_KEY: secrets.awsSecretKey,
    GLUELINE_WEBHOOK_TOKEN: secrets.webhookToken,
    GLUELINE_LOG_LEVEL: 'DEBUG',
  });
}

/** The sample spec with unique names, a counter-table refresh, and email plus a webhook. */
export function reliabilitySpec(webhookUrl?: string): PipelineSpec {
  const base = uniqueSalesSpec();
  return {
    ...base,
    redshift: {
      ...base.redshift!,
      sql: [
        'create table if not exists refresh_log (batch_id varchar(63), region varchar(32))',
        "insert into refresh_log values ('${batch_id}', '${region}')",
      ],
    },
    notify: { ...base.notify, ...(webhookUrl ? { webhook: { url: webhookUrl } } : {}) },
    // A killed worker's activity is retried after 30 s instead of 2 min: the scenarios wait out many of them.
    timeouts: { heartbeatSeconds: 30, awsCallSeconds: 30 },
    polling: {
      glueJob: { initialIntervalMs: 500, maxIntervalMs: 1000, backoffCoefficient: 1.5 },
      crawler: { initialIntervalMs: 300, maxIntervalMs: 1000, backoffCoefficient: 1.5 },
      redshift: { initialIntervalMs: 200, maxIntervalMs: 500, backoffCoefficient: 2 },
    },
  };
}

/**
 * Lands one CSV for a batch, and writes what the (scripted) Glue job would have written: one output file and
 * the manifest, so replicate-curated has real objects to copy and verify. On the test stack unless `s` is given.
 */
export async function landBatch(spec: PipelineSpec, id: string, s?: StackEndpoints): Promise<Batch> {
  const primary = primaryRegion(spec);
  const s3 = new S3Client(awsClientConfig(primary.region, s));
  const batch: Batch = { id, source: { bucket: primary.rawBucket, prefix: `landing/${id}/` } };
  await s3.send(
    new PutObjectCommand({
      Bucket: primary.rawBucket,
      Key: `landing/${id}/sales.csv`,
      Body: 'sale_id,store\n1,a\n2,b\n',
    }),
  );
  const outputKey = `${curatedBatchPrefix(spec, batch)}part-00000.snappy.parquet`;
  const output = `PAR1 output of ${id} ${'x'.repeat(64)}`;
  await s3.send(new PutObjectCommand({ Bucket: primary.curatedBucket, Key: outputKey, Body: output }));
  const manifest: GlueManifest = {
    batchId: id,
    inputFiles: [`landing/${id}/sales.csv`],
    rowsIn: 2,
    rowsOut: 2,
    rowsRejected: 0,
    outputFiles: [{ key: outputKey, bytes: Buffer.byteLength(output) }],
    quarantineFiles: [],
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: primary.curatedBucket,
      Key: manifestKey(spec, batch),
      Body: JSON.stringify(manifest),
    }),
  );
  s3.destroy();
  return batch;
}
