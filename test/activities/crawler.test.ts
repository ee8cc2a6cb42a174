import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateCrawlerCommand, GetCrawlerCommand, StartCrawlerCommand, StopCrawlerCommand } from '@aws-sdk/client-glue';
import { createCrawlerActivities } from '../../src/activities/crawler';
import { CLOCK_SKEW_MS, crawlOutcome } from '../../src/aws/crawlers';
import { activityEnv, awsDeps, countingClients, fastPolling, rejection, run } from '../../devstack/testkit/aws';
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

/** Starts a crawl through the activity and waits for it through the other. */
async function crawl(c: Awaited<ReturnType<typeof realCrawler>>, env = activityEnv()) {
  const started = await run(activityEnv(), c.startCrawler, c.startInput);
  return run(env, c.waitForCrawler, { ...c.startInput, startedAfter: started.startedAfter });
}

describe('startCrawler', () => {
  test('starts an idle crawler and returns a startedAfter no later than the crawl it started', async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0 }]);
    const result = await run(activityEnv(), c.startCrawler, c.startInput);
    assert.equal(result.waitedForRunningCrawl, false);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 1);
    const done = await run(activityEnv(), c.waitForCrawler, { ...c.startInput, startedAfter: result.startedAfter });
    assert.equal(done.status, 'SUCCEEDED');
    const last = (await c.crawler()).LastCrawl!;
    assert.ok(Date.parse(result.startedAfter) <= last.StartTime!.getTime() + CLOCK_SKEW_MS);
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
    const result = await run(activityEnv(), c.waitForCrawler, { ...c.startInput, startedAfter: started.startedAfter });
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.tablesCreated, 3);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 2);
  });

  test('does not count CrawlerRunningException as its crawl: waits, then starts its own', async () => {
    const c = await realCrawler([{ status: 'RUNNING' }, { status: 'SUCCEEDED', afterSeconds: 0, tablesCreated: 3 }]);
    // Someone else's StartCrawler overtakes ours: ours is held at the gateway until theirs has started.
    const hold = await gateway.addFault({
      target: 'glue:StartCrawler',
      action: { type: 'latency', ms: 2_000 },
      resource: c.crawlerName,
      count: 1,
    });
    const env = activityEnv();
    // Their crawl runs until ours, refused, is seen waiting for it (its first heartbeat).
    env.once('heartbeat', () => void c.stop());
    const starting = run(env, c.startCrawler, c.startInput);
    await pollUntil(
      () => gateway.faults(),
      (rules) => rules.find((r) => r.id === hold.id)?.fired === 1,
    );
    await c.aws.glue(region).send(new StartCrawlerCommand({ Name: c.crawlerName }));
    await gateway.deleteFault(hold.id);
    const started = await starting;
    assert.equal(started.waitedForRunningCrawl, true);
    const result = await run(activityEnv(), c.waitForCrawler, { ...c.startInput, startedAfter: started.startedAfter });
    assert.equal(result.tablesCreated, 3);
    assert.equal((await gateway.counts(c.crawlerName))['glue:StartCrawler']?.count, 3, 'ours, theirs, ours again');
  });

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

  test('survives more throttled polls than the SDK retries by itself', async () => {
    const c = await realCrawler([{ status: 'SUCCEEDED', afterSeconds: 0 }]);
    const started = await run(activityEnv(), c.startCrawler, c.startInput);
    const result = await gateway.withFault(
      { target: 'glue:GetCrawler', action: { type: 'throttle' }, resource: c.crawlerName, count: 4 },
      () => run(activityEnv(), c.waitForCrawler, { ...c.startInput, startedAfter: started.startedAfter }),
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
  test('accepts our crawl started slightly before startedAfter by clock skew', () => {
    assert.equal(
      crawlOutcome({ State: 'READY', LastCrawl: { Status: 'SUCCEEDED', StartTime: t('2026-11-26T09:59:59Z') } }, after),
      'done',
    );
  });
});
