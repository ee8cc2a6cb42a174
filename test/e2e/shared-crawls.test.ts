/**
 * Issue 21: batches that land together share their crawls, on the real stack (a worker process, csvPipeline runs
 * that start at the crawl step and stop after it). Ten batches land, then their runs start: they share one crawl per
 * crawler. Ten more land while that crawl runs: it started before their objects were written, so it cannot stand
 * for them; they wait for it and share the next. Each crawl is scripted RUNNING and ended by the test once every run
 * is where the test wants it, so no count depends on timing. Coverage is judged from the gateway's crawls (ListCrawls)
 * and the objects' LastModified, both AWS's clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GlueClient, ListCrawlsCommand, type CrawlerHistory } from '@aws-sdk/client-glue';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import { curatedBatchPrefix, primaryRegion, rawBatchPrefix } from '../../src/workflow-safe/layout';
import {
  pipelineWorkflowId,
  PROGRESS_QUERY,
  type PipelineProgress,
  type PipelineResult,
} from '../../src/workflow-safe/pipeline';
import type { Batch, StepName } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { CANCEL_STEP_TIMEOUT_MS, CancelTestWorker } from '../../devstack/testkit/cancel-run';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { provisionQuietly, uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

const BATCHES = 10;
const TIMEOUT_MS = 2 * CANCEL_STEP_TIMEOUT_MS;

/** A crawler of the spec and where a batch's objects for it are. */
interface Crawled {
  step: StepName;
  name: string;
  region: string;
  data: (batch: Batch) => { bucket: string; prefix: string };
}

function crawlersOf(spec: PipelineSpec, step: StepName): Crawled[] {
  if (step === 'crawl-raw') {
    const p = primaryRegion(spec);
    const data = (batch: Batch) => ({ bucket: p.rawBucket, prefix: rawBatchPrefix(spec, batch) });
    return [{ step, name: spec.raw.crawler, region: p.region, data }];
  }
  return spec.regions.map((r) => ({
    step,
    name: r.curatedCrawler,
    region: r.region,
    data: (batch: Batch) => ({ bucket: r.curatedBucket, prefix: curatedBatchPrefix(spec, batch) }),
  }));
}

async function putBatchObjects(crawlers: Crawled[], batches: Batch[]) {
  for (const c of crawlers) {
    const s3 = new S3Client(awsClientConfig(c.region));
    try {
      for (const batch of batches) {
        const { bucket, prefix } = c.data(batch);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}part-0.csv`, Body: 'id\n1\n' }));
      }
    } finally {
      s3.destroy();
    }
  }
}

/** The latest LastModified (AWS's clock) of a batch's objects for a crawler. */
async function latestLastModified(c: Crawled, batch: Batch): Promise<number> {
  const s3 = new S3Client(awsClientConfig(c.region));
  try {
    const { bucket, prefix } = c.data(batch);
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return Math.max(...(out.Contents ?? []).map((o) => o.LastModified!.getTime()));
  } finally {
    s3.destroy();
  }
}

async function crawlsOf(c: Crawled): Promise<CrawlerHistory[]> {
  const glue = new GlueClient(awsClientConfig(c.region));
  try {
    return (await glue.send(new ListCrawlsCommand({ CrawlerName: c.name, MaxResults: 100 }))).Crawls ?? [];
  } finally {
    glue.destroy();
  }
}

/** Every crawl step of the run has its crawl (startCrawler answered): it waits for that crawl. */
const allHaveCrawls = (p: PipelineProgress | undefined, step: StepName) =>
  !!p && p.steps.filter((s) => s.name === step).every((s) => s.status === 'running' && s.crawl);

for (const step of ['crawl-raw', 'crawl-curated'] as const) {
  describe(`${2 * BATCHES} batches at once share their ${step} crawls`, () => {
    const gateway = new GatewayControl();
    const worker = new CancelTestWorker();
    let spec: PipelineSpec;
    let crawlers: Crawled[];
    const early: Batch[] = [];
    const late: Batch[] = [];
    const results = new Map<string, PipelineResult>();

    const batchOf = (id: string): Batch => ({
      id,
      source: { bucket: spec.regions[0]!.rawBucket, prefix: 'landing/none/' },
    });
    const start = (batch: Batch): Promise<WorkflowHandle> =>
      worker.client!.workflow.start('csvPipeline', {
        taskQueue: worker.taskQueue,
        workflowId: pipelineWorkflowId(spec, batch),
        args: [{ spec, batch, options: { startAt: step, stopAfter: step } }],
      });
    const untilAll = (handles: WorkflowHandle[], ready: (p: PipelineProgress | undefined) => boolean) =>
      pollUntil(
        () => Promise.all(handles.map((h) => h.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined))),
        (all) => all.every(ready),
        { timeoutMs: TIMEOUT_MS, intervalMs: 250 },
      );
    const endCrawls = async () => {
      for (const c of crawlers) {
        await pollUntil(
          () => gateway.endCrawl(c.name, { status: 'SUCCEEDED', tablesUpdated: 1 }, c.region),
          (ended) => ended,
          { timeoutMs: TIMEOUT_MS },
        );
      }
    };

    before(
      async () => {
        const base = uniqueSalesSpec();
        const fast = { initialIntervalMs: 200, maxIntervalMs: 1_000, backoffCoefficient: 2 };
        spec = { ...base, polling: { ...base.polling, crawler: fast } };
        crawlers = crawlersOf(spec, step);
        for (let i = 0; i < BATCHES; i++) early.push(batchOf(unique(`early${i}`)));
        for (let i = 0; i < BATCHES; i++) late.push(batchOf(unique(`late${i}`)));
        await provisionQuietly(spec);
        for (const c of crawlers)
          await gateway.scriptCrawls(c.name, [{ status: 'RUNNING' }, { status: 'RUNNING' }], c.region);
        await worker.start();

        // The early batches land, and AWS's clock passes the second S3 stamps them with: a crawl started now sees them.
        await putBatchObjects(crawlers, early);
        const landed = Math.max(
          ...(await Promise.all(crawlers.flatMap((c) => early.map((b) => latestLastModified(c, b))))),
        );
        await pollUntil(
          () => gateway.clock(),
          (clock) => clock.now >= landed + 1000,
        );
        const earlyRuns = await Promise.all(early.map(start));
        await untilAll(earlyRuns, (p) => allHaveCrawls(p, step));

        // The late batches land while the first crawls run; their runs look at the crawlers, and wait.
        for (const c of crawlers) await gateway.resetCounts(c.name);
        await putBatchObjects(crawlers, late);
        const lateRuns = await Promise.all(late.map(start));
        await pollUntil(
          () => Promise.all(crawlers.map(async (c) => (await gateway.counts(c.name))['glue:ListCrawls']?.count ?? 0)),
          (looks) => looks.every((n) => n >= BATCHES),
          { timeoutMs: TIMEOUT_MS },
        );
        await endCrawls(); // the first crawls
        await untilAll(lateRuns, (p) => allHaveCrawls(p, step));
        await endCrawls(); // the second
        for (const handle of [...earlyRuns, ...lateRuns]) {
          const result = (await handle.result()) as PipelineResult;
          results.set(result.batchId, result);
        }
      },
      { timeout: 2 * TIMEOUT_MS },
    );

    after(() => worker.stop());

    test('every run succeeded', () => {
      assert.equal(results.size, 2 * BATCHES);
      for (const r of results.values()) assert.equal(r.status, 'succeeded', `${r.batchId}: ${JSON.stringify(r.steps)}`);
    });

    test('each crawler crawled twice for twenty batches, once per landing', async () => {
      for (const c of crawlers) {
        const crawls = await crawlsOf(c);
        assert.deepEqual(
          crawls.map((x) => x.State),
          ['COMPLETED', 'COMPLETED'],
          `${c.name} in ${c.region}`,
        );
      }
    });

    test("each batch's crawl started after its objects were written; a crawl running when they landed did not count", async () => {
      for (const c of crawlers) {
        const [second, first] = await crawlsOf(c);
        const stepName = step === 'crawl-raw' ? step : `${step}@${c.region}`;
        for (const batch of [...early, ...late]) {
          const crawl = results.get(batch.id)!.steps.find((s) => s.step === stepName)!.crawl!;
          const expected = early.includes(batch) ? first! : second!;
          assert.equal(crawl.crawlId, expected.CrawlId, `${batch.id} ${stepName}: ${JSON.stringify(crawl)}`);
          const landed = await latestLastModified(c, batch);
          assert.ok(expected.StartTime!.getTime() >= landed, `${batch.id} ${stepName} crawled before it landed`);
          if (late.includes(batch)) {
            assert.ok(first!.StartTime!.getTime() < landed + 1000, `${batch.id} landed after the first crawl began`);
          }
        }
        for (const group of [early, late]) {
          const hows = group.map((b) => results.get(b.id)!.steps.find((s) => s.step === stepName)!.crawl!.how);
          assert.equal(hows.filter((h) => h === 'started').length, 1, `${stepName}: one run started it: ${hows}`);
        }
      }
    });
  });
}
