import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateCrawlerCommand, GetCrawlerCommand, StartCrawlerCommand, StopCrawlerCommand } from '@aws-sdk/client-glue';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createCrawlerActivities } from '../../src/activities/crawler';
import { crawlOutcome } from '../../src/aws/crawlers';
import type { StartCrawlerResult } from '../../src/workflow-safe/activity-types';
import {
  activityEnv,
  awsDeps,
  countingClients,
  fastPolling,
  newBucket,
  putObjects,
  rejection,
  run,
} from '../../devstack/testkit/aws';
import { GatewayControl, type CrawlOutcome } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { stack, unique } from '../../devstack/testkit/stack';

const region = stack().aws.regions[0]!;
const gateway = new GatewayControl();
const t = (iso: string) => new Date(iso);

/** A crawler on the local stack whose next crawls are scripted through the gateway. */
async function realCrawler(outcomes: CrawlOutcome[] = []) {
  const { aws, log } = countingClients();
  const crawlerName = unique('act-crawler');
  await aws.glue(region).send(
    new CreateCrawlerCommand({
      Name: crawlerName,
      Role: 'arn:aws:iam::123456789012:role/glueline-test',
      DatabaseName: 'raw',
      Targets: { S3Targets: [{ Path: 's3://glueline-raw/raw/' }] },
    }),
  );
  if (outcomes.length > 0) await gateway.scriptCrawls(crawlerName, outcomes);
  const activities = createCrawlerActivities(awsDeps(aws));
  const glue = aws.glue(region);
  return {
    aws,
    log,
    crawlerName,
    crawler: async () => (await glue.send(new GetCrawlerCommand({ Name: crawlerName }))).Crawler!,
    stop: () => glue.send(new StopCrawlerCommand({ Name: crawlerName })),
    startInput: { region, crawlerName, polling: fastPolling },
    ...activities,
  };
}

type RealCrawler = Awaited<ReturnType<typeof realCrawler>>;

/** The wait that follows startCrawler's answer, as the crawl step makes it. */
const waitInput = (c: RealCrawler, started: StartCrawlerResult) => ({
  ...c.startInput,
  startedAfter: started.startedAfter,
  clock: started.clock,
  stopOnCancel: started.crawl?.how !== 'joined',
});

/** Starts a crawl through the activity and waits for it through the other. */
async function crawl(c: RealCrawler, env = activityEnv()) {
  const started = await run(activityEnv(), c.startCrawler, c.startInput);
  return run(env, c.waitForCrawler, waitInput(c, started));
}

/** A batch's objects in a new bucket; @returns where they are, as the crawl step names them */
async function batchObjects(c: RealCrawler) {
  const bucket = await newBucket(c.aws, region, 'act-crawl');
  const prefix = 'raw/batch_id=b1/';
  await putObjects(c.aws, region, bucket, { [`${prefix}a.csv`]: 'id\n1\n', [`${prefix}b.csv`]: 'id\n2\n' });
  return { bucket, prefix };
}

/** The latest LastModified of the objects under `data`, as S3 gives it (whole seconds, AWS's clock). */
async function latestLastModified(c: RealCrawler, data: { bucket: string; prefix: string }) {
  const out = await c.aws.s3(region).send(new ListObjectsV2Command({ Bucket: data.bucket, Prefix: data.prefix }));
  return Math.max(...(out.Contents ?? []).map((o) => o.LastModified!.getTime()));
}

/**
 * The batch's objects land, someone else's crawl starts once AWS's clock is past the second they were written in,
 * and startCrawler looks at the crawler.
 */
async function joinTheirCrawl(c: RealCrawler) {
  const data = await batchObjects(c);
  const inPlaceBy = (await latestLastModified(c, data)) + 1000;
  await pollUntil(
    () => gateway.clock(),
    (clock) => clock.now >= inPlaceBy,
  );
  await c.aws.glue(region).send(new StartCrawlerCommand({ Name: c.crawlerName }));
  const started = await run(activityEnv(), c.startCrawler, { ...c.startInput, data });
  return { data, inPlaceBy, started };
}

describe('startCrawler', () => {
  test("starts an idle crawler and returns a startedAfter on AWS's clock no later than the crawl it started", async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0 }]);
    const result = await run(activityEnv(), c.startCrawler, c.startInput);
    assert.equal(result.waitedForRunningCrawl, false);
    assert.equal(result.clock, 'aws');
    assert.equal(result.crawl?.how, 'started');
    assert.match(result.crawl!.reason, /none was in progress/);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 1);
    const done = await run(activityEnv(), c.waitForCrawler, waitInput(c, result));
    assert.equal(done.status, 'SUCCEEDED');
    const last = (await c.crawler()).LastCrawl!;
    assert.ok(Date.parse(result.startedAfter) <= last.StartTime!.getTime());
  });

  test('fails non-retryably, naming the crawler and the fix, when the crawler does not exist', async () => {
    const { startCrawler } = await realCrawler();
    const crawlerName = unique('act-no-such-crawler');
    const err = await rejection(run(activityEnv(), startCrawler, { region, crawlerName, polling: fastPolling }));
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`crawler ${crawlerName} does not exist in us-east-1.*run npm run provision`));
    assert.deepEqual(
      await gateway.counts(crawlerName),
      { 'glue:GetCrawler': { count: 1, faulted: 0 } },
      'the first answer should end it: no retry, no StartCrawler',
    );
  });

  test('waits for a crawl already running to end, then starts and reports its own', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }, { status: 'SUCCEEDED', afterSeconds: 0, tablesCreated: 3 }]);
    await c.aws.glue(region).send(new StartCrawlerCommand({ Name: c.crawlerName }));
    const env = activityEnv();
    // The other crawl ends (cancelled by its owner) while we wait for it: its CANCELLED must not become ours.
    env.once('heartbeat', () => void c.stop());
    const started = await run(env, c.startCrawler, c.startInput);
    assert.equal(started.waitedForRunningCrawl, true);
    const result = await run(activityEnv(), c.waitForCrawler, waitInput(c, started));
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.tablesCreated, 3);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 2);
  });

  test('joins the crawl another run started between its look and its StartCrawler (CrawlerRunningException)', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }]);
    // Someone else's StartCrawler overtakes ours: ours is held at the gateway until theirs has started.
    const hold = await gateway.addFault({
      target: 'glue:StartCrawler',
      action: { type: 'latency', ms: 2_000 },
      resource: c.crawlerName,
      count: 1,
    });
    const starting = run(activityEnv(), c.startCrawler, c.startInput);
    await pollUntil(
      () => gateway.faults(),
      (rules) => rules.find((r) => r.id === hold.id)?.fired === 1,
    );
    await c.aws.glue(region).send(new StartCrawlerCommand({ Name: c.crawlerName }));
    await gateway.deleteFault(hold.id);
    const started = await starting;
    // Their crawl started after our look found the crawler idle with our objects in place: it covers us.
    assert.equal(started.crawl?.how, 'joined', JSON.stringify(started));
    assert.match(started.crawl!.reason, /after this run found the crawler idle/);
    assert.equal(started.startedAfter, started.crawl!.crawlStartedAt, 'the wait is for their crawl');
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 2, 'ours (refused), theirs');
    await c.stop();
  });

  test("joins a crawl in progress that started after the batch's objects were written", async () => {
    const c = await realCrawler([{ status: 'RUNNING' }]);
    const { inPlaceBy, started } = await joinTheirCrawl(c);
    assert.equal(started.crawl?.how, 'joined', JSON.stringify(started));
    assert.equal(started.crawl?.dataInPlaceBy, new Date(inPlaceBy).toISOString());
    assert.match(started.crawl!.reason, /after the batch's objects were in place/);
    assert.ok(Date.parse(started.crawl!.crawlStartedAt!) >= inPlaceBy);
    assert.equal(started.waitedForRunningCrawl, false);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 1, 'theirs only');
    await c.stop();
  });

  test('is not satisfied by a crawl that was running when its objects landed: waits for it, then starts one', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }, { status: 'SUCCEEDED', afterSeconds: 0, tablesUpdated: 2 }]);
    await c.aws.glue(region).send(new StartCrawlerCommand({ Name: c.crawlerName }));
    const data = await batchObjects(c);
    const env = activityEnv();
    // The earlier crawl ends once ours is seen waiting for it.
    env.once('heartbeat', () => void c.stop());
    const started = await run(env, c.startCrawler, { ...c.startInput, data });
    assert.equal(started.crawl?.how, 'started', JSON.stringify(started));
    assert.equal(started.waitedForRunningCrawl, true);
    assert.match(started.crawl!.reason, /began before the batch's objects were in place/);
    const result = await run(activityEnv(), c.waitForCrawler, waitInput(c, started));
    assert.equal(result.tablesUpdated, 2, "the wait reported our crawl, not the earlier one's CANCELLED");
    const last = (await c.crawler()).LastCrawl!;
    assert.ok(last.StartTime!.getTime() >= (await latestLastModified(c, data)), 'our crawl started after the objects');
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 2);
  });

  for (const offsetMs of [-3_600_000, 3_600_000]) {
    test(`judges coverage and completion on AWS's clock, ${offsetMs / 3_600_000} h off the worker's`, async () => {
      const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0, tablesCreated: 1 }]);
      const result = await gateway.atClockOffset(offsetMs, async () => {
        const data = await batchObjects(c);
        const started = await run(activityEnv(), c.startCrawler, { ...c.startInput, data });
        const awsNow = (await gateway.clock()).now;
        // The objects' LastModified is AWS's clock, not the worker's: within a minute of AWS's now.
        assert.ok(Math.abs(Date.parse(started.crawl!.dataInPlaceBy!) - awsNow) < 60_000, JSON.stringify(started));
        return run(activityEnv(), c.waitForCrawler, waitInput(c, started));
      });
      assert.equal(result.status, 'SUCCEEDED');
      assert.equal(result.tablesCreated, 1);
    });
  }

  test('survives throttled GetCrawler and StartCrawler calls', async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0 }]);
    const throttle = (operation: string) => ({
      target: `glue:${operation}`,
      action: { type: 'throttle' as const },
      resource: c.crawlerName,
      count: 2,
    });
    const result = await gateway.withFault(throttle('GetCrawler'), () =>
      gateway.withFault(throttle('StartCrawler'), () => run(activityEnv(), c.startCrawler, c.startInput)),
    );
    assert.equal(result.waitedForRunningCrawl, false);
    const counts = await gateway.counts(c.crawlerName);
    assert.deepEqual(counts['glue:StartCrawler'], { count: 3, faulted: 2 });
    assert.deepEqual(counts['glue:GetCrawler'], { count: 3, faulted: 2 });
  });
});

describe('waitForCrawler', () => {
  test('waits until READY with our crawl, then reports the tables it created, updated and deleted', async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', tablesCreated: 1, tablesUpdated: 2, tablesDeleted: 0 }]);
    const result = await crawl(c);
    assert.equal(result.crawlerName, c.crawlerName);
    assert.equal(result.status, 'SUCCEEDED');
    assert.ok(result.polls >= 2, 'returned before the crawl had ended');
    assert.deepEqual([result.tablesCreated, result.tablesUpdated, result.tablesDeleted], [1, 2, 0]);
  });

  test('reports a good crawl without table counts when the metrics call fails', async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0, tablesCreated: 1 }]);
    // GetCrawlerMetrics names its crawlers in a list, which rules cannot scope: count-limited to the SDK's
    // three attempts of this test's one call (test files run one at a time).
    const result = await gateway.withFault(
      { target: 'glue:GetCrawlerMetrics', action: { type: 'error', status: 500 }, count: 3 },
      () => crawl(c),
    );
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.tablesCreated, undefined);
  });

  test('fails non-retryably with CrawlFailed, the ErrorMessage and the log location when the crawl ends FAILED', async () => {
    const c = await realCrawler([{ status: 'FAILED', errorMessage: 'Insufficient Lake Formation permission(s)' }]);
    const err = await rejection(crawl(c));
    assert.equal(err.type, 'CrawlFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(
      err.message,
      new RegExp(`^crawl of crawler ${c.crawlerName} in us-east-1 .*ended FAILED: Insufficient Lake Formation`),
    );
    assert.match(err.message, new RegExp(`log group /aws-glue/crawlers, log stream ${c.crawlerName}$`));
  });

  test('fails non-retryably with CrawlFailed when the crawl is stopped (CANCELLED)', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }]);
    const env = activityEnv();
    env.once('heartbeat', () => void c.stop());
    const err = await rejection(crawl(c, env));
    assert.equal(err.type, 'CrawlFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /ended CANCELLED: \(Glue gave no ErrorMessage\)/);
  });

  test('a joined crawl stopped before it ended is replaced: the wait starts another that covers the batch', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }, { status: 'SUCCEEDED', afterSeconds: 0, tablesCreated: 4 }]);
    const { data, started } = await joinTheirCrawl(c);
    assert.equal(started.crawl?.how, 'joined');
    const env = activityEnv();
    // The run that started the shared crawl is cancelled, and stops it, while this one waits.
    env.once('heartbeat', () => void c.stop());
    const result = await run(env, c.waitForCrawler, { ...waitInput(c, started), data });
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.tablesCreated, 4);
    assert.equal(result.crawl?.how, 'started', JSON.stringify(result));
    assert.match(result.crawl!.reason, /^the crawl joined was stopped; /);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 2, 'theirs, then ours');
  });

  test('a crawl this run started, stopped by hand, still fails the wait as CANCELLED', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }]);
    const data = await batchObjects(c);
    const started = await run(activityEnv(), c.startCrawler, { ...c.startInput, data });
    assert.equal(started.crawl?.how, 'started');
    const env = activityEnv();
    env.once('heartbeat', () => void c.stop());
    const err = await rejection(run(env, c.waitForCrawler, { ...waitInput(c, started), data }));
    assert.equal(err.type, 'CrawlFailed');
    assert.match(err.message, /ended CANCELLED/);
  });

  test('survives more throttled polls than the SDK retries by itself', async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0 }]);
    const started = await run(activityEnv(), c.startCrawler, c.startInput);
    const result = await gateway.withFault(
      { target: 'glue:GetCrawler', action: { type: 'throttle' }, resource: c.crawlerName, count: 4 },
      () => run(activityEnv(), c.waitForCrawler, waitInput(c, started)),
    );
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal((await gateway.counts(c.crawlerName))['glue:GetCrawler']?.faulted, 4);
  });
});

describe('crawlOutcome', () => {
  const after = Date.parse('2026-11-26T10:00:00.000Z');
  test('waits while the crawler runs', () => {
    assert.equal(
      crawlOutcome(
        { State: 'RUNNING', LastCrawl: { Status: 'SUCCEEDED', StartTime: t('2026-11-26T10:00:05Z') } },
        after,
      ),
      'wait',
    );
  });
  test('waits while the last crawl is one that started before ours', () => {
    assert.equal(
      crawlOutcome({ State: 'READY', LastCrawl: { Status: 'FAILED', StartTime: t('2026-11-26T09:59:00Z') } }, after),
      'wait',
    );
  });
  test('accepts the crawl that started at startedAfter, on the same clock', () => {
    assert.equal(
      crawlOutcome({ State: 'READY', LastCrawl: { Status: 'SUCCEEDED', StartTime: new Date(after) } }, after),
      'done',
    );
  });
  test('gives no leeway to a crawl that started a second before startedAfter', () => {
    assert.equal(
      crawlOutcome({ State: 'READY', LastCrawl: { Status: 'SUCCEEDED', StartTime: t('2026-11-26T09:59:59Z') } }, after),
      'wait',
    );
  });
});
