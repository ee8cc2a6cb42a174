import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CrawlerRunningException, CreateCrawlerCommand, GetCrawlerCommand, type Crawler } from '@aws-sdk/client-glue';
import { CLOCK_SKEW_MS, crawlOutcome, createCrawlerActivities } from '../../src/activities/crawler';
import { activityEnv, awsDeps, countingClients, fakeClients, fastPolling, rejection, run } from '../support/aws';
import { stack, unique } from '../support/stack';

const region = stack().aws.regions[0]!;
const t = (iso: string) => new Date(iso);

/** A fake Glue whose GetCrawler answers the given crawlers in turn (the last one repeats). */
function fakeCrawler(
  states: Partial<Crawler>[],
  extra: (command: string, input: Record<string, unknown>) => unknown = () => ({}),
) {
  let i = 0;
  return fakeClients((command, input) => {
    if (command === 'GetCrawler')
      return { Crawler: { Name: 'raw-sales', ...states[Math.min(i++, states.length - 1)] } };
    return extra(command, input);
  });
}

describe('startCrawler', () => {
  test('starts an idle crawler and returns a startedAfter no later than the crawl it started', async () => {
    const { aws, log } = countingClients();
    const crawlerName = unique('raw-sales');
    await aws.glue(region).send(
      new CreateCrawlerCommand({
        Name: crawlerName,
        Role: 'arn:aws:iam::123456789012:role/glueline-test',
        DatabaseName: 'raw',
        Targets: { S3Targets: [{ Path: 's3://glueline-raw/raw/' }] },
      }),
    );
    const result = await run(activityEnv(), createCrawlerActivities(awsDeps(aws)).startCrawler, {
      region,
      crawlerName,
      polling: fastPolling,
    });
    assert.equal(result.waitedForRunningCrawl, false);
    assert.equal(log.count('StartCrawler'), 1);
    const { Crawler: c } = await aws.glue(region).send(new GetCrawlerCommand({ Name: crawlerName }));
    assert.equal(c?.State, 'RUNNING');
    assert.ok(Date.parse(result.startedAfter) <= c!.LastCrawl!.StartTime!.getTime() + CLOCK_SKEW_MS);
  });

  test('fails non-retryably, naming the crawler and the fix, when the crawler does not exist', async () => {
    const { aws } = countingClients();
    const err = await rejection(
      run(activityEnv(), createCrawlerActivities(awsDeps(aws)).startCrawler, {
        region,
        crawlerName: 'glueline-no-such-crawler',
        polling: fastPolling,
      }),
    );
    assert.equal(err.type, 'EntityNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /crawler glueline-no-such-crawler does not exist in us-east-1.*run npm run provision/);
  });

  test('waits for a crawl already running to end, then starts its own', async () => {
    const { aws, log } = fakeCrawler([{ State: 'RUNNING' }, { State: 'STOPPING' }, { State: 'READY' }]);
    const result = await run(activityEnv(), createCrawlerActivities(awsDeps(aws)).startCrawler, {
      region,
      crawlerName: 'raw-sales',
      polling: fastPolling,
    });
    assert.equal(result.waitedForRunningCrawl, true);
    assert.deepEqual(
      log.calls.map((c) => c.command),
      ['GetCrawler', 'GetCrawler', 'GetCrawler', 'StartCrawler'],
    );
  });

  test('does not count CrawlerRunningException as its crawl: waits, then starts its own', async () => {
    let refusals = 1;
    const { aws, log } = fakeCrawler([{ State: 'READY' }], (command) => {
      if (command === 'StartCrawler' && refusals-- > 0) {
        throw new CrawlerRunningException({
          message: 'Crawler with name raw-sales has already started',
          $metadata: {},
        });
      }
      return {};
    });
    const result = await run(activityEnv(), createCrawlerActivities(awsDeps(aws)).startCrawler, {
      region,
      crawlerName: 'raw-sales',
      polling: fastPolling,
    });
    assert.equal(result.waitedForRunningCrawl, true);
    assert.equal(log.count('StartCrawler'), 2);
  });
});

describe('waitForCrawler', () => {
  const startedAfter = '2026-11-26T10:00:00.000Z';
  const input = { region, crawlerName: 'raw-sales', startedAfter, polling: fastPolling };
  const ours = { StartTime: t('2026-11-26T10:00:01.000Z'), LogGroup: '/aws-glue/crawlers', LogStream: 'raw-sales' };

  test('waits until READY with our crawl, then reports the tables it created, updated and deleted', async () => {
    const { aws } = fakeCrawler(
      [
        { State: 'READY', LastCrawl: { Status: 'SUCCEEDED', StartTime: t('2026-11-26T09:00:00.000Z') } },
        { State: 'RUNNING' },
        { State: 'READY', LastCrawl: { ...ours, Status: 'SUCCEEDED' } },
      ],
      (command) =>
        command === 'GetCrawlerMetrics'
          ? { CrawlerMetricsList: [{ CrawlerName: 'raw-sales', TablesCreated: 1, TablesUpdated: 2, TablesDeleted: 0 }] }
          : {},
    );
    const result = await run(activityEnv(), createCrawlerActivities(awsDeps(aws)).waitForCrawler, input);
    assert.deepEqual(result, {
      crawlerName: 'raw-sales',
      status: 'SUCCEEDED',
      polls: 3,
      tablesCreated: 1,
      tablesUpdated: 2,
      tablesDeleted: 0,
    });
  });

  test('reports a good crawl without table counts when the metrics call fails', async () => {
    const { aws } = fakeCrawler([{ State: 'READY', LastCrawl: { ...ours, Status: 'SUCCEEDED' } }], (command) => {
      if (command === 'GetCrawlerMetrics') throw new Error('metrics unavailable');
      return {};
    });
    const result = await run(activityEnv(), createCrawlerActivities(awsDeps(aws)).waitForCrawler, input);
    assert.deepEqual(result, { crawlerName: 'raw-sales', status: 'SUCCEEDED', polls: 1 });
  });

  for (const status of ['FAILED', 'CANCELLED'] as const) {
    test(`fails non-retryably with CrawlFailed, the ErrorMessage and the log location when the crawl ends ${status}`, async () => {
      const { aws } = fakeCrawler([
        { State: 'RUNNING' },
        {
          State: 'READY',
          LastCrawl: { ...ours, Status: status, ErrorMessage: 'Insufficient Lake Formation permission(s)' },
        },
      ]);
      const err = await rejection(run(activityEnv(), createCrawlerActivities(awsDeps(aws)).waitForCrawler, input));
      assert.equal(err.type, 'CrawlFailed');
      assert.equal(err.nonRetryable, true);
      assert.match(
        err.message,
        new RegExp(`crawler raw-sales in us-east-1 .*ended ${status}: Insufficient Lake Formation`),
      );
      assert.match(err.message, /log group \/aws-glue\/crawlers, log stream raw-sales/);
    });
  }
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
