/**
 * Issue 15, nasty batches through the real transform: CSVs with a byte-order mark, CRLF endings, quoted newlines,
 * Latin-1 and UTF-16 bytes, a header and nothing else, another delimiter, a repeated or a misnamed header column,
 * and a field of 1 MB, landed as one batch and run by a csvPipeline on a worker process, with the job's own script
 * on the local stack's Spark and the sample spec's refresh SQL on each region's Redshift. Every file is judged on
 * its own (its header, its rows), so one batch holds them all and one Spark run reads them; for each file, its
 * rows are in both regions' tables or in the quarantine with the reason, and the manifest's counts add up.
 * A corrupt manifest after a SUCCEEDED job (scripted: Spark cannot write a broken one) fails its run with a clear
 * error and one notification.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { manifestKey, primaryRegion, type GlueManifest } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId, type PipelineResult } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  KillableWorker,
  jobOutcome,
  provisionQuietly,
  recordFigure,
  redshiftColumn,
  scanScenario,
  scenarioPlaces,
  secretWorkerEnv,
  sinkMessages,
  temporalClient,
  withOwnJob,
  type QuarantinedRow,
} from './support';

const HEADER = 'sale_id,sale_date,store,product,quantity,unit_price,discount,is_online,sold_at';
const row = (id: number, product = `p${id}`, discount = '0.1') =>
  `${id},2026-03-01,s1,${product},2,1.50,${discount},true,2026-03-01 10:00:00`;

interface NastyFile {
  name: string;
  body: Buffer;
  /** The file's sale_ids are base+1, base+2...: what Redshift holds between base and base+99 is the file's. */
  base: number;
  /** sale_ids that must reach Redshift in every region. */
  loaded: number[];
  /** Rows that must be quarantined, each with a reason matching `reason`. */
  rejected: number;
  reason?: RegExp;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const FILES: NastyFile[] = [
  {
    name: 'bom.csv',
    base: 100,
    body: utf8(`\ufeff${HEADER}\n${row(101)}\n${row(102)}\n`),
    loaded: [101, 102],
    rejected: 0,
  },
  {
    name: 'crlf.csv',
    base: 200,
    body: utf8(`${HEADER}\r\n${row(201)}\r\n${row(202)}\r\n`),
    loaded: [201, 202],
    rejected: 0,
  },
  {
    name: 'quoted-newlines.csv',
    base: 300,
    body: utf8(`${HEADER}\n${row(301, '"Mug\nlarge, ""blue"""')}\r\n${row(302, '"two\r\nlines"')}\n`),
    loaded: [301, 302],
    rejected: 0,
  },
  {
    name: 'latin1.csv',
    base: 400,
    body: Buffer.from(`${HEADER}\n${row(401, 'Caf\u00e9')}\n${row(402)}\n`, 'latin1'),
    loaded: [402],
    rejected: 1,
    reason: /^the record holds bytes that are not UTF-8$/,
  },
  {
    name: 'utf16.csv',
    base: 500,
    body: Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`${HEADER}\r\n${row(501)}\r\n${row(502)}\r\n`, 'utf16le'),
    ]),
    loaded: [],
    rejected: 2,
    reason: /^the file is not UTF-8 text \(it looks like UTF-16\)/,
  },
  { name: 'header-only.csv', base: 0, body: utf8(`${HEADER}\n`), loaded: [], rejected: 0 },
  {
    name: 'semicolons.csv',
    base: 600,
    body: utf8(`${HEADER.replaceAll(',', ';')}\n${row(601).replaceAll(',', ';')}\n${row(602).replaceAll(',', ';')}\n`),
    loaded: [],
    rejected: 2,
    reason: /does not name the declared columns .*the header holds ';': if that is the file's delimiter/,
  },
  {
    name: 'duplicate-header.csv',
    base: 700,
    body: utf8(`${HEADER},store\n${row(701)},s2\n`),
    loaded: [],
    rejected: 1,
    reason: /^the header names store more than once/,
  },
  {
    name: 'mismatched-header.csv',
    base: 800,
    body: utf8(`${HEADER.replace('quantity', 'qty')}\n${row(801)}\n${row(802)}\n`),
    loaded: [],
    rejected: 2,
    reason: /^the header does not name the declared columns \(missing quantity; not declared 'qty'\)/,
  },
  {
    name: 'huge-field.csv',
    base: 900,
    body: utf8(`${HEADER}\n${row(901, 'p901', '9'.repeat(1_000_000) + 'x')}\n${row(902)}\n`),
    loaded: [902],
    rejected: 1,
    reason: /^discount: '9{60}' is not a valid double$/,
  },
];
const ROWS_IN = 17; // the data rows of FILES, counted by hand: 2+2+2+2+2+0+2+1+2+2

const gateway = new GatewayControl();
const RUN_TIMEOUT_MS = 900_000;

describe('nasty batches through the real transform on local Spark', () => {
  const taskQueue = unique('rel-nasty');
  let spec: PipelineSpec;
  let scripted: PipelineSpec;
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let mailsBefore: number;
  const nasty = { batch: undefined as unknown as Batch, workflowId: '', result: undefined as unknown };
  const corrupt = { batch: undefined as unknown as Batch, workflowId: '', error: undefined as unknown };
  let manifest: GlueManifest;
  let quarantine: QuarantinedRow[] = [];

  before(
    async () => {
      spec = uniqueSalesSpec();
      scripted = withOwnJob(spec, 'scripted');
      await provisionQuietly(spec);
      await provisionQuietly(scripted);
      ({ client, connection } = await temporalClient());
      // A worker holding every secret: the scan at the end looks for them where this run's errors went.
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();
      mailsBefore = (await sinkMessages()).length;
      const primary = primaryRegion(spec);
      const s3 = new S3Client(awsClientConfig(primary.region));

      nasty.batch = { id: 'nasty-1', source: { bucket: primary.rawBucket, prefix: 'landing/nasty-1/' } };
      for (const file of FILES) {
        await s3.send(
          new PutObjectCommand({ Bucket: primary.rawBucket, Key: `landing/nasty-1/${file.name}`, Body: file.body }),
        );
      }
      // The scripted job "succeeds" and leaves a manifest that is not JSON, as a broken job script would.
      corrupt.batch = { id: 'corrupt-1', source: { bucket: primary.rawBucket, prefix: 'landing/corrupt-1/' } };
      await s3.send(
        new PutObjectCommand({
          Bucket: primary.rawBucket,
          Key: 'landing/corrupt-1/a.csv',
          Body: `${HEADER}\n${row(1)}\n`,
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: primary.curatedBucket,
          Key: manifestKey(scripted, corrupt.batch),
          Body: '{"batchId": "corrupt-1", "rowsIn": ',
        }),
      );
      await gateway.scriptJobRuns(scripted.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 1 }]);

      nasty.workflowId = pipelineWorkflowId(spec, nasty.batch);
      corrupt.workflowId = pipelineWorkflowId(scripted, corrupt.batch);
      const [nastyRun, corruptRun] = [
        [spec, nasty],
        [scripted, corrupt],
      ].map(([s, c]) =>
        client.workflow.start('csvPipeline', {
          taskQueue,
          workflowId: (c as typeof nasty).workflowId,
          args: [{ spec: s, batch: (c as typeof nasty).batch } as never],
        }),
      );
      nasty.result = await (await nastyRun!).result();
      corrupt.error = await (await corruptRun!).result().then(
        () => undefined,
        (err: unknown) => err,
      );

      ({ manifest, quarantine } = await jobOutcome(spec, nasty.batch));
      s3.destroy();
    },
    { timeout: RUN_TIMEOUT_MS },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
  });

  test('the nasty batch succeeds and its manifest accounts for every row', () => {
    assert.equal((nasty.result as PipelineResult).status, 'succeeded');
    const loaded = FILES.reduce((n, f) => n + f.loaded.length, 0);
    const rejected = FILES.reduce((n, f) => n + f.rejected, 0);
    assert.deepEqual([manifest.rowsIn, manifest.rowsOut, manifest.rowsRejected], [ROWS_IN, loaded, rejected]);
    assert.equal(manifest.inputFiles.length, FILES.length);
  });

  let accounted = 0;
  for (const file of FILES) {
    test(`${file.name}: its rows are in Redshift in every region or quarantined with the reason`, async () => {
      const mine = quarantine.filter((q) => q.source_file.endsWith(`/${file.name}`));
      assert.equal(mine.length, file.rejected, JSON.stringify(mine.map((q) => q.reason)));
      for (const q of mine) {
        assert.match(q.source_file, /^s3:\/\//);
        assert.ok(q.line >= 2, `line ${q.line}`);
        if (file.reason) assert.match(q.reason, file.reason);
      }
      for (const region of spec.regions) {
        const ids = await redshiftColumn(
          region,
          `select sale_id from sales where batch_id = '${nasty.batch.id}' and sale_id between ${file.base} and ${file.base + 99} order by sale_id`,
        );
        assert.deepEqual(ids, file.loaded, region.region);
      }
      accounted++;
    });
  }

  test('a quoted newline and a doubled quote reach Redshift as they were in the file', async () => {
    for (const region of spec.regions) {
      const products = await redshiftColumn(
        region,
        `select product from sales where batch_id = '${nasty.batch.id}' and sale_id in (301, 302) order by sale_id`,
      );
      assert.deepEqual(products, ['Mug\nlarge, "blue"', 'two\r\nlines'], region.region);
    }
  });

  test('a corrupt manifest after a SUCCEEDED job fails the run with a clear error and one notification', async () => {
    assert.ok(corrupt.error instanceof WorkflowFailedError, `expected a failed run, got ${String(corrupt.error)}`);
    let cause: unknown = corrupt.error.cause;
    while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
    assert.ok(cause instanceof ApplicationFailure, String(cause));
    assert.equal(cause.type, 'ManifestInvalid');
    assert.match(cause.message, /the Glue job's manifest s3:\/\/.* is not JSON/);
    const mails = (await sinkMessages()).slice(mailsBefore).filter((m) => m.text.includes(corrupt.workflowId));
    assert.equal(mails.length, 1, mails.map((m) => m.subject).join(' | '));
    const nastyMails = (await sinkMessages()).slice(mailsBefore).filter((m) => m.text.includes(nasty.workflowId));
    assert.equal(nastyMails.length, 0);
    recordFigure('nasty-batches', {
      files: FILES.length,
      filesAccounted: accounted,
      rowsIn: manifest.rowsIn,
      rowsOut: manifest.rowsOut,
      rowsRejected: manifest.rowsRejected,
      corruptManifest: `${cause.type}, ${mails.length} email`,
    });
  });

  test('no secret in the histories or the worker, gateway and server logs', async () => {
    await worker.stop();
    const places = scenarioPlaces([nasty.workflowId, corrupt.workflowId], worker.logFile);
    for (const m of (await sinkMessages()).slice(mailsBefore)) places.push([`email '${m.subject}'`, JSON.stringify(m)]);
    assert.deepEqual(scanScenario('nasty-batches', places, nasty.workflowId), []);
  });
});
