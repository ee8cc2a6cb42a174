/**
 * Issue 8, bad input: a catalogue of spec errors, batch errors and AWS misconfigurations, each run as a real
 * csvPipeline on a worker process. For each case: the run ends as expected; a failure names the field or
 * resource and the fix; a permanent error is not retried (every activity took one attempt); a run that did
 * work and failed sent exactly one email (a bad spec fails before anything runs, without one); and a replica
 * manifest exists only beside every object it lists (nothing half-verified is left for readers).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/workflows/activity-options';
import { manifestKey, primaryRegion, replicaRegions, type GlueManifest } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  KillableWorker,
  activityAttempts,
  landBatch,
  provisionQuietly,
  recordFigure,
  reliabilitySpec,
  secretWorkerEnv,
  sinkMessages,
  temporalClient,
  withOwnJob,
} from './support';

interface Case {
  name: string;
  /** Builds the run's input from a provisioned spec and a landed batch (and may break the stack). */
  input: (
    spec: PipelineSpec,
    batch: Batch,
  ) => Promise<{ spec: unknown; batch: unknown }> | { spec: unknown; batch: unknown };
  /** What the run must end with: completion, or a failure of this type whose message matches. */
  expect: { completes: true } | { type: string | RegExp; message: RegExp; emails: 0 | 1 };
}

const gateway = new GatewayControl();
const spec0 = (s: PipelineSpec) => s as unknown as Record<string, unknown>;
const mapRegion0 = (s: PipelineSpec, change: Record<string, unknown>) => ({
  ...s,
  regions: [{ ...s.regions[0]!, ...change }, ...s.regions.slice(1)],
});
const s3 = (spec: PipelineSpec) => new S3Client(awsClientConfig(primaryRegion(spec).region));
async function put(spec: PipelineSpec, key: string, body: string | Buffer) {
  const client = s3(spec);
  await client.send(new PutObjectCommand({ Bucket: primaryRegion(spec).rawBucket, Key: key, Body: body }));
  client.destroy();
}
const invalid = (message: RegExp): Case['expect'] => ({ type: 'InvalidInput', message, emails: 0 });

const CASES: Case[] = [
  // --- spec errors: refused before anything runs, naming path, value and fix
  {
    name: 'pipeline name with punctuation',
    input: (s, b) => ({ spec: { ...s, name: 'Sales!' }, batch: b }),
    expect: invalid(/spec\.name: "Sales!"/),
  },
  {
    name: 'no regions',
    input: (s, b) => ({ spec: { ...s, regions: [] }, batch: b }),
    expect: invalid(/spec\.regions/),
  },
  {
    name: 'region code misspelt',
    input: (s, b) => ({ spec: mapRegion0(s, { region: 'us-east' }), batch: b }),
    expect: invalid(
      /spec\.regions\[0\]\.region: "us-east" is not a region of an AWS partition .*did you mean "us-east-1"/,
    ),
  },
  {
    name: 'the same region twice',
    input: (s, b) => ({ spec: { ...s, regions: [s.regions[0]!, s.regions[0]!] }, batch: b }),
    expect: invalid(/spec\.regions/),
  },
  {
    name: 'bucket name with capitals',
    input: (s, b) => ({ spec: mapRegion0(s, { rawBucket: 'Raw_Bucket' }), batch: b }),
    expect: invalid(/spec\.regions\[0\]\.rawBucket: "Raw_Bucket" is not a valid S3 bucket name: use/),
  },
  {
    name: 'Glue job name with spaces',
    input: (s, b) => ({ spec: { ...s, transform: { ...s.transform, jobName: 'my job' } }, batch: b }),
    expect: invalid(/spec\.transform\.jobName: "my job" is not a valid Glue name: use/),
  },
  {
    name: 'curated prefix with ..',
    input: (s, b) => ({ spec: { ...s, transform: { ...s.transform, curatedPrefix: '../x/' } }, batch: b }),
    expect: invalid(/spec\.transform\.curatedPrefix/),
  },
  {
    name: 'unknown column type',
    input: (s, b) => ({
      spec: { ...s, transform: { ...s.transform, columns: [{ name: 'a', type: 'varchar' }] } },
      batch: b,
    }),
    expect: invalid(/is not a supported column type: use/),
  },
  {
    name: 'column name with a capital',
    input: (s, b) => ({
      spec: { ...s, transform: { ...s.transform, columns: [{ name: 'Sale ID', type: 'int' }] } },
      batch: b,
    }),
    expect: invalid(/is not a usable column name: use/),
  },
  {
    name: 'unknown SQL variable',
    input: (s, b) => ({ spec: { ...s, redshift: { sql: ['select ${nope}'] } }, batch: b }),
    expect: invalid(/spec\.redshift\.sql/),
  },
  {
    name: 'no notification channel',
    input: (s, b) => ({ spec: { ...s, notify: {} }, batch: b }),
    expect: invalid(/spec\.notify.*needs at least one channel/),
  },
  {
    name: 'webhook URL carrying a token',
    input: (s, b) => ({ spec: { ...s, notify: { webhook: { url: 'https://u:p@example.com/h' } } }, batch: b }),
    expect: invalid(/must not carry credentials: set GLUELINE_WEBHOOK_TOKEN/),
  },
  {
    name: 'email address without a domain',
    input: (s, b) => ({ spec: { ...s, notify: { email: { to: ['team'], from: 'g@example.com' } } }, batch: b }),
    expect: invalid(/spec\.notify\.email\.to\[0\]: "team" is not an email address/),
  },
  {
    name: 'poll interval below 100 ms',
    input: (s, b) => ({
      spec: {
        ...s,
        polling: { ...s.polling, glueJob: { initialIntervalMs: 1, maxIntervalMs: 100, backoffCoefficient: 2 } },
      },
      batch: b,
    }),
    expect: invalid(/spec\.polling\.glueJob\.initialIntervalMs/),
  },
  {
    name: 'misspelt field',
    input: (s, b) => ({ spec: { ...spec0(s), regoins: [] }, batch: b }),
    expect: invalid(/spec\.regoins: unknown field "regoins"; did you mean "regions"\?/),
  },
  { name: 'spec missing', input: (_s, b) => ({ spec: undefined, batch: b }), expect: invalid(/spec/) },
  // --- batch errors
  {
    name: 'batch with neither keys nor prefix',
    input: (s, b) => ({ spec: s, batch: { ...b, source: { bucket: b.source.bucket } } }),
    expect: invalid(/needs exactly one of keys or prefix/),
  },
  {
    name: 'batch id with spaces',
    input: (s, b) => ({ spec: s, batch: { ...b, id: 'my batch' } }),
    expect: invalid(/batch\.id/),
  },
  {
    name: 'batch id with ..',
    input: (s, b) => ({ spec: s, batch: { ...b, id: '../b' } }),
    expect: invalid(/batch\.id/),
  },
  {
    name: 'batch prefix with ..',
    input: (s, b) => ({ spec: s, batch: { ...b, source: { bucket: b.source.bucket, prefix: 'landing/../x/' } } }),
    expect: invalid(/batch\.source\.prefix/),
  },
  {
    name: 'no objects under the prefix',
    input: (s, b) => ({ spec: s, batch: { ...b, source: { bucket: b.source.bucket, prefix: `empty/${b.id}/` } } }),
    expect: {
      type: 'NoSourceObjects',
      message: /no objects in the batch's source s3:\/\/.*the batch's prefix is empty.*upload finished/,
      emails: 1,
    },
  },
  {
    name: 'a zero-byte file beside a CSV is staged and the run completes',
    input: async (s, b) => (await put(s, `${b.source.prefix}empty.csv`, ''), { spec: s, batch: b }),
    expect: { completes: true },
  },
  {
    name: 'a non-CSV file beside a CSV is staged (the job quarantines or ignores it) and the run completes',
    input: async (s, b) => (
      await put(s, `${b.source.prefix}image.png`, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2])),
      { spec: s, batch: b }
    ),
    expect: { completes: true },
  },
  {
    name: 'a 200 KB header is staged and verified',
    input: async (s, b) => (
      await put(
        s,
        `${b.source.prefix}wide.csv`,
        Array.from({ length: 20_000 }, (_, i) => `col_${i}`).join(',') + '\n1\n',
      ),
      { spec: s, batch: b }
    ),
    expect: { completes: true },
  },
  {
    name: 'keys with spaces, unicode and .. segments are staged and verified',
    input: async (s, b) => {
      for (const key of ['with space.csv', 'ünïcødé-売上.csv', 'a..b.csv', 'x/../y.csv'])
        await put(s, `${b.source.prefix}${key}`, 'a\n1\n');
      return { spec: s, batch: b };
    },
    expect: { completes: true },
  },
  {
    name: 'explicit keys, one of them missing',
    input: (s, b) => ({
      spec: s,
      batch: {
        ...b,
        source: { bucket: b.source.bucket, keys: [`${b.source.prefix}sales.csv`, `${b.source.prefix}gone.csv`] },
      },
    }),
    expect: { type: /NoSuchKey|NotFound|NoSourceObjects/, message: /gone\.csv/, emails: 1 },
  },
  // --- AWS misconfiguration
  {
    name: 'source bucket missing',
    input: (s, b) => ({
      spec: s,
      batch: { ...b, source: { bucket: `${primaryRegion(s).rawBucket}-gone`, prefix: b.source.prefix } },
    }),
    expect: { type: /NoSuchBucket/, message: /-gone/, emails: 1 },
  },
  {
    name: 'raw crawler missing',
    input: (s, b) => ({ spec: { ...s, raw: { ...s.raw, crawler: `${s.raw.crawler}-gone` } }, batch: b }),
    expect: { type: 'EntityNotFoundException', message: /-gone/, emails: 1 },
  },
  {
    name: 'Glue job missing',
    input: (s, b) => ({
      spec: { ...s, transform: { ...s.transform, jobName: `${s.transform.jobName}-gone` } },
      batch: b,
    }),
    expect: { type: 'EntityNotFoundException', message: /-gone/, emails: 1 },
  },
  {
    name: 'curated bucket missing in the replica region',
    input: (s, b) => ({
      spec: {
        ...s,
        regions: [s.regions[0]!, { ...s.regions[1]!, curatedBucket: `${s.regions[1]!.curatedBucket}-gone` }],
      },
      batch: b,
    }),
    expect: { type: /NoSuchBucket/, message: /-gone/, emails: 1 },
  },
  {
    name: 'AccessDenied on StartJobRun',
    input: async (s, b) => {
      const spec = withOwnJob(s, 'denied');
      await provisionQuietly(spec);
      await gateway.addFault({
        target: 'glue:StartJobRun',
        resource: spec.transform.jobName,
        action: { type: 'deny' },
      });
      return { spec, batch: b };
    },
    expect: {
      type: 'AccessDeniedException',
      message: /StartJobRun .*was denied .*allow the worker's AWS identity to call StartJobRun/,
      emails: 1,
    },
  },
  {
    name: 'AccessDenied on the Redshift Data API in every region',
    input: async (s, b) => {
      const workgroupName = `${s.regions[0]!.redshift!.workgroupName}-denied`;
      await gateway.addFault({ target: 'redshift-data:*', resource: workgroupName, action: { type: 'deny' } });
      const regions = s.regions.map((r) => ({ ...r, redshift: { ...r.redshift!, workgroupName } }));
      return { spec: { ...s, regions }, batch: b };
    },
    expect: {
      type: 'AccessDeniedException',
      message: /was denied .*allow the worker's AWS identity to call/,
      emails: 1,
    },
  },
];

describe(`bad input: ${CASES.length} cases`, () => {
  const taskQueue = unique('rel-bad');
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let base: PipelineSpec;
  let mailsBefore: number;
  const results: { name: string; workflowId: string; error?: unknown; spec: unknown; batch: unknown }[] = [];

  before(
    async () => {
      base = reliabilitySpec();
      await provisionQuietly(base);
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();
      mailsBefore = (await sinkMessages()).length;
      await Promise.all(
        CASES.map(async (c, i) => {
          const batch = await landBatch(base, `bad-${i}`);
          await gateway.scriptJobRuns(base.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 2 }]);
          const input = await c.input(base, batch);
          const workflowId = `${pipelineWorkflowId(base, batch)}-case`;
          const handle = await client.workflow.start('csvPipeline', { taskQueue, workflowId, args: [input as never] });
          const error = await handle.result().then(
            () => undefined,
            (err: unknown) => err,
          );
          results[i] = { name: c.name, workflowId, error, ...input };
        }),
      );
    },
    { timeout: 900_000 },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
  });

  let passed = 0;
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const r = results[i]!;
      const mails = (await sinkMessages()).slice(mailsBefore).filter((m) => m.text.includes(r.workflowId));
      if ('completes' in c.expect) {
        assert.equal(r.error, undefined, String((r.error as Error | undefined)?.cause ?? ''));
        assert.equal(mails.length, 0);
      } else {
        assert.ok(r.error instanceof WorkflowFailedError, `expected a failed run, got ${String(r.error)}`);
        let cause: unknown = r.error.cause;
        while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
        assert.ok(cause instanceof ApplicationFailure, String(cause));
        if (typeof c.expect.type === 'string') assert.equal(cause.type, c.expect.type, cause.message);
        else assert.match(cause.type ?? '', c.expect.type, cause.message);
        assert.ok(
          cause.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(cause.type ?? ''),
          `${cause.type} is retried`,
        );
        assert.match(cause.message, c.expect.message);
        assert.equal(mails.length, c.expect.emails, `emails: ${mails.map((m) => m.subject).join(' | ')}`);
      }
      // A permanent error is not retried: every activity of the run started once.
      const attempts = await activityAttempts(client, r.workflowId);
      assert.deepEqual(
        [...attempts].filter(([, n]) => n > 1),
        [],
      );
      // Nothing half-verified: a replica manifest (written last by replicate-curated) only beside every object
      // it lists, each of its size; the replica's readers never see a manifest without its data.
      const spec = (r.spec ?? base) as PipelineSpec;
      const batch = r.batch as Batch;
      if (r.error !== undefined && spec.regions?.length > 1 && batch?.id) {
        const primaryBucket = primaryRegion(spec).curatedBucket;
        for (const replica of replicaRegions(spec).filter((x) => x.curatedBucket !== primaryBucket)) {
          const client = new S3Client(awsClientConfig(replica.region));
          const manifest = await client
            .send(new GetObjectCommand({ Bucket: replica.curatedBucket, Key: manifestKey(spec, batch) }))
            .then(
              async (o) => JSON.parse(await o.Body!.transformToString()) as GlueManifest,
              () => undefined,
            );
          for (const file of manifest?.outputFiles ?? []) {
            const head = await client
              .send(new HeadObjectCommand({ Bucket: replica.curatedBucket, Key: file.key }))
              .catch(() => undefined);
            assert.equal(head?.ContentLength, file.bytes, `${replica.region} ${file.key} beside its manifest`);
          }
          client.destroy();
        }
      }
      passed++;
    });
  }

  test('the catalogue has at least 25 cases', () => {
    recordFigure('bad-input', { cases: CASES.length, passed });
    assert.ok(CASES.length >= 25);
  });
});
