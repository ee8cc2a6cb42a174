/**
 * Issue 8, bad input: a catalogue of spec errors, batch errors and AWS misconfigurations, each run as a real
 * csvPipeline on a worker process. For each case: the run ends as expected; a failure names the field or
 * resource and the fix; a permanent error is not retried (every activity took one attempt); a run that did
 * work and failed sent exactly one email (a bad spec fails before anything runs, without one); and a replica
 * manifest exists only beside every object it lists (nothing half-verified is left for readers).
 * The cases that complete (odd files beside a good CSV) run the job's own script on the local stack's Spark, and
 * every input row is loaded in every region or quarantined with its reason. Every history and the worker, gateway
 * and server logs are scanned for the worker's secrets afterwards.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/workflows/activity-options';
import {
  manifestKey,
  primaryRegion,
  rawBatchPrefix,
  replicaRegions,
  type GlueManifest,
} from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  KillableWorker,
  ScenarioRules,
  activityAttempts,
  jobOutcome,
  landBatch,
  provisionQuietly,
  recordFigure,
  redshiftColumn,
  reliabilitySpec,
  scanScenario,
  scenarioPlaces,
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
  /** The failure the run must end with: its type, a match for its message, and the emails it sends. */
  expect: { type: string | RegExp; message: RegExp; emails: 0 | 1 };
}

const gateway = new GatewayControl();
/** The deny rules the cases add, removed after the file so no rule outlives it. */
const rules = new ScenarioRules(gateway);
const deny = (rule: { target: string; resource: string }) => rules.add({ ...rule, action: { type: 'deny' } });
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
    expect: invalid(/needs exactly one of keys, keyList or prefix/),
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
    // Hadoop would read `x/../y.csv` as `y.csv`: another object, or none.
    name: "a landed key with a '..' segment under the prefix",
    input: async (s, b) => {
      const raw = s3(s);
      await raw.send(
        new PutObjectCommand({ Bucket: b.source.bucket, Key: `${b.source.prefix}x/../y.csv`, Body: 'sale_id\n1\n' }),
      );
      raw.destroy();
      return { spec: s, batch: b };
    },
    expect: {
      type: 'InvalidInput',
      message: /object s3:\/\/\S+\/x\/\.\.\/y\.csv in the batch's source .*no '\.\.' segment.*Rename it/,
      emails: 1,
    },
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
      await deny({ target: 'glue:StartJobRun', resource: spec.transform.jobName });
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
      await deny({ target: 'redshift-data:*', resource: workgroupName });
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

const HEADER = 'sale_id,sale_date,store,product,quantity,unit_price,discount,is_online,sold_at';
const salesRows = (...ids: number[]) =>
  ids.map((id) => `${id},2026-03-01,s1,p${id},2,1.50,0.1,true,2026-03-01 10:00:00\n`).join('');

/**
 * The cases that complete: odd files beside a good CSV, landed in one batch and run through the job's own script on
 * the local stack's Spark (no scripted outcome, no output written by the test). Each file's rows are told apart by
 * their sale_ids (`base`+1...), so each case can be judged alone from one Spark run.
 */
interface SparkCase {
  name: string;
  /** The files the case lands beside the batch's good CSV: key (under the batch prefix) to body. */
  files: Record<string, string | Buffer>;
  base: number;
  /** Data rows in the case's files; each is loaded (in `loaded`) or quarantined with `reason`. */
  rowsIn: number;
  loaded: number[];
  reason?: RegExp;
}

const SPARK_CASES: SparkCase[] = [
  {
    name: 'a good CSV',
    files: { 'sales.csv': HEADER + '\n' + salesRows(101, 102) },
    base: 100,
    rowsIn: 2,
    loaded: [101, 102],
  },
  { name: 'a zero-byte file beside a CSV', files: { 'empty.csv': '' }, base: 200, rowsIn: 0, loaded: [] },
  {
    name: 'a non-CSV file beside a CSV (PNG bytes, then a line)',
    files: { 'image.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0x0a, 0x78, 0x0a]) },
    base: 300,
    rowsIn: 1,
    loaded: [],
    reason: /^the file is not UTF-8 text/,
  },
  {
    name: 'a 200 KB header',
    files: { 'wide.csv': Array.from({ length: 20_000 }, (_, i) => `col_${i}`).join(',') + '\n1\n' },
    base: 400,
    rowsIn: 1,
    loaded: [],
    reason: /^the header does not name the declared columns \(missing sale_id, /,
  },
  {
    name: 'keys with spaces, unicode and dots',
    files: Object.fromEntries(
      ['with space.csv', 'ünïcødé-売上.csv', 'a..b.csv'].map((key, i) => [key, HEADER + '\n' + salesRows(501 + i)]),
    ),
    base: 500,
    rowsIn: 3,
    loaded: [501, 502, 503],
  },
];

describe(`bad input: ${CASES.length + SPARK_CASES.length} cases`, () => {
  const taskQueue = unique('rel-bad');
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let base: PipelineSpec;
  let sales: PipelineSpec;
  let mailsBefore: number;
  const results: { name: string; workflowId: string; error?: unknown; spec: unknown; batch: unknown }[] = [];
  const odd = { batch: { id: 'odd-1', source: { bucket: '', prefix: 'landing/odd-1/' } } as Batch, workflowId: '' };
  let oddOutcome: Awaited<ReturnType<typeof jobOutcome>>;
  let oddError: unknown;

  /** Lands the Spark cases' files as one batch and runs it on the sales spec's real (local Spark) Glue job. */
  async function runOddBatch(): Promise<void> {
    odd.batch.source.bucket = primaryRegion(sales).rawBucket;
    for (const c of SPARK_CASES)
      for (const [key, body] of Object.entries(c.files)) await put(sales, `${odd.batch.source.prefix}${key}`, body);
    odd.workflowId = pipelineWorkflowId(sales, odd.batch);
    const handle = await client.workflow.start('csvPipeline', {
      taskQueue,
      workflowId: odd.workflowId,
      args: [{ spec: sales, batch: odd.batch }],
    });
    oddError = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    if (oddError === undefined) oddOutcome = await jobOutcome(sales, odd.batch);
  }

  before(
    async () => {
      base = reliabilitySpec();
      sales = uniqueSalesSpec();
      await provisionQuietly(base);
      await provisionQuietly(sales);
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();
      mailsBefore = (await sinkMessages()).length;
      const oddRun = runOddBatch();
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
      await oddRun;
    },
    { timeout: 900_000 },
  );

  after(async () => {
    // The rules the cases added are scoped to names of their own; removed all the same, so nothing is left behind.
    await rules.removeAll();
    await worker?.stop();
    await connection?.close();
  });

  let passed = 0;
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const r = results[i]!;
      const mails = (await sinkMessages()).slice(mailsBefore).filter((m) => m.text.includes(r.workflowId));
      assert.ok(r.error instanceof WorkflowFailedError, `expected a failed run, got ${String(r.error)}`);
      let cause: unknown = r.error.cause;
      while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
      assert.ok(cause instanceof ApplicationFailure, String(cause));
      if (typeof c.expect.type === 'string') assert.equal(cause.type, c.expect.type, cause.message);
      else assert.match(cause.type ?? '', c.expect.type, cause.message);
      assert.ok(cause.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(cause.type ?? ''), `${cause.type} is retried`);
      assert.match(cause.message, c.expect.message);
      assert.equal(mails.length, c.expect.emails, `emails: ${mails.map((m) => m.subject).join(' | ')}`);
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

  test('the odd batch completes through the real transform, sends no email, and its manifest adds up', async () => {
    assert.equal(oddError, undefined, String((oddError as Error | undefined)?.cause ?? oddError ?? ''));
    const mails = (await sinkMessages()).slice(mailsBefore).filter((m) => m.text.includes(odd.workflowId));
    assert.equal(mails.length, 0);
    const { manifest, quarantine } = oddOutcome;
    const rowsIn = SPARK_CASES.reduce((n, c) => n + c.rowsIn, 0);
    const loaded = SPARK_CASES.reduce((n, c) => n + c.loaded.length, 0);
    assert.deepEqual([manifest.rowsIn, manifest.rowsOut, manifest.rowsRejected], [rowsIn, loaded, rowsIn - loaded]);
    assert.equal(quarantine.length, rowsIn - loaded);
    assert.equal(manifest.inputFiles.length, SPARK_CASES.flatMap((c) => Object.keys(c.files)).length);
  });

  let rowsAccounted = 0;
  for (const c of SPARK_CASES) {
    test(`${c.name}: staged, run through local Spark, and its rows loaded in every region or quarantined`, async () => {
      assert.equal(oddError, undefined, 'the odd batch failed');
      // Staged under the landed key as it is; the job names a file by its Hadoop path (normalized).
      const staged = Object.keys(c.files).map((k) => `${rawBatchPrefix(sales, odd.batch)}${k}`);
      const keys = staged.map((k) => path.posix.normalize(k));
      const raw = s3(sales);
      for (const key of staged)
        await raw
          .send(new HeadObjectCommand({ Bucket: primaryRegion(sales).rawBucket, Key: key }))
          .catch((err: Error) => {
            throw new Error(`${key} was not staged: ${err.name}`);
          });
      raw.destroy();
      for (const key of keys)
        assert.ok(
          oddOutcome.manifest.inputFiles.includes(key),
          `${key} in ${oddOutcome.manifest.inputFiles.join(', ')}`,
        );
      const mine = oddOutcome.quarantine.filter((q) => keys.some((k) => q.source_file.endsWith(`/${k}`)));
      assert.equal(mine.length, c.rowsIn - c.loaded.length, JSON.stringify(mine.map((q) => q.reason)));
      for (const q of mine) assert.match(q.reason, c.reason!);
      for (const region of sales.regions) {
        const ids = await redshiftColumn(
          region,
          `select sale_id from sales where batch_id = '${odd.batch.id}' and sale_id between ${c.base} and ${c.base + 99} order by sale_id`,
        );
        assert.deepEqual(ids, c.loaded, region.region);
      }
      rowsAccounted += c.rowsIn;
      passed++;
    });
  }

  test('no secret in the histories or the worker, gateway and server logs', async () => {
    await worker.stop();
    // The positive control's canary: a run that did work, so its id is in its history (the notification's input).
    const first = results.find((r) => CASES.find((c) => c.name === r.name)!.expect.emails === 1)!;
    const ids = [first.workflowId, ...results.map((r) => r.workflowId).filter((id) => id !== first.workflowId)];
    const places = scenarioPlaces([...ids, odd.workflowId], worker.logFile);
    for (const m of (await sinkMessages()).slice(mailsBefore)) places.push([`email '${m.subject}'`, JSON.stringify(m)]);
    assert.deepEqual(scanScenario('bad-input', places, first.workflowId), []);
  });

  test('the catalogue has at least 25 cases', () => {
    const cases = CASES.length + SPARK_CASES.length;
    const sparkRowsIn = SPARK_CASES.reduce((n, c) => n + c.rowsIn, 0);
    recordFigure('bad-input', { cases, passed, sparkCases: SPARK_CASES.length, sparkRowsIn, rowsAccounted });
    assert.ok(cases >= 25);
  });
});
