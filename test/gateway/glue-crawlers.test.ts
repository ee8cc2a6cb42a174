import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  CreateCrawlerCommand,
  GetCrawlerCommand,
  GetCrawlerMetricsCommand,
  GlueClient,
  ListCrawlsCommand,
  StartCrawlerCommand,
  StopCrawlerCommand,
  type Crawler,
} from '@aws-sdk/client-glue';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

const glue = new GlueClient(awsClientConfig());
const gateway = new GatewayControl();
after(() => glue.destroy());

async function createCrawler(): Promise<string> {
  const Name = unique('gw-crawler');
  await glue.send(
    new CreateCrawlerCommand({
      Name,
      Role: 'arn:aws:iam::123456789012:role/glue',
      DatabaseName: 'raw',
      Targets: { S3Targets: [{ Path: 's3://raw-bucket/in/' }] },
    }),
  );
  return Name;
}

async function crawlUntilReady(Name: string): Promise<Crawler> {
  await pollUntil(
    async () => (await glue.send(new GetCrawlerCommand({ Name }))).Crawler!,
    (c) => c.State !== 'READY',
  ).catch(() => undefined);
  return pollUntil(
    async () => (await glue.send(new GetCrawlerCommand({ Name }))).Crawler!,
    (c) => c.State === 'READY' && c.LastCrawl !== undefined,
  );
}

describe('Glue crawler runs through the gateway', () => {
  test('a crawl with no scripted outcome ends READY with LastCrawl.Status SUCCEEDED', async () => {
    const Name = await createCrawler();
    await glue.send(new StartCrawlerCommand({ Name }));
    assert.equal((await glue.send(new GetCrawlerCommand({ Name }))).Crawler!.State, 'RUNNING');
    const crawler = await crawlUntilReady(Name);
    assert.equal(crawler.LastCrawl?.Status, 'SUCCEEDED');
    assert.equal(crawler.LastCrawl?.LogGroup, '/aws-glue/crawlers');
    assert.equal(crawler.Targets?.S3Targets?.[0]?.Path, 's3://raw-bucket/in/', "moto's definition is kept");
  });

  test("LastCrawl.StartTime comes from the gateway's clock, shifted an hour behind the machine's", async () => {
    const Name = await createCrawler();
    const hour = 3_600_000;
    const crawler = await gateway.atClockOffset(-hour, async () => {
      await glue.send(new StartCrawlerCommand({ Name }));
      return crawlUntilReady(Name);
    });
    const startedAgoMs = Date.now() - crawler.LastCrawl!.StartTime!.getTime();
    // An hour ago by the machine's clock, give or take the minute the crawl and the polling can take.
    assert.ok(startedAgoMs > hour - 60_000 && startedAgoMs < hour + 60_000, `started ${startedAgoMs} ms ago`);
  });

  test('a scripted failing crawl ends FAILED with its ErrorMessage', async () => {
    const Name = await createCrawler();
    await gateway.scriptCrawls(Name, [
      { status: 'FAILED', errorMessage: 'Internal Service Exception', afterSeconds: 0.2 },
    ]);
    await glue.send(new StartCrawlerCommand({ Name }));
    const crawler = await crawlUntilReady(Name);
    assert.equal(crawler.LastCrawl?.Status, 'FAILED');
    assert.equal(crawler.LastCrawl?.ErrorMessage, 'Internal Service Exception');
  });

  test('StartCrawler on a running crawler throws CrawlerRunningException', async () => {
    const Name = await createCrawler();
    await gateway.scriptCrawls(Name, [{ status: 'RUNNING' }]);
    await glue.send(new StartCrawlerCommand({ Name }));
    await assert.rejects(glue.send(new StartCrawlerCommand({ Name })), { name: 'CrawlerRunningException' });
    await glue.send(new StopCrawlerCommand({ Name }));
  });

  test('StopCrawler ends a running crawl CANCELLED', async () => {
    const Name = await createCrawler();
    await gateway.scriptCrawls(Name, [{ status: 'RUNNING' }]);
    await glue.send(new StartCrawlerCommand({ Name }));
    await glue.send(new StopCrawlerCommand({ Name }));
    assert.equal((await glue.send(new GetCrawlerCommand({ Name }))).Crawler!.State, 'STOPPING');
    assert.equal((await crawlUntilReady(Name)).LastCrawl?.Status, 'CANCELLED');
  });

  test('StartCrawler of a crawler moto does not have throws EntityNotFoundException', async () => {
    await assert.rejects(glue.send(new StartCrawlerCommand({ Name: unique('gw-no-such-crawler') })), {
      name: 'EntityNotFoundException',
    });
  });

  test('GetCrawlerMetrics reports the scripted table counts of the last crawl', async () => {
    const Name = await createCrawler();
    await gateway.scriptCrawls(Name, [{ status: 'SUCCEEDED', afterSeconds: 0.2, tablesCreated: 2, tablesUpdated: 1 }]);
    await glue.send(new StartCrawlerCommand({ Name }));
    await crawlUntilReady(Name);
    const { CrawlerMetricsList } = await glue.send(new GetCrawlerMetricsCommand({ CrawlerNameList: [Name] }));
    assert.deepEqual(
      CrawlerMetricsList?.map((m) => [
        m.CrawlerName,
        m.TablesCreated,
        m.TablesUpdated,
        m.TablesDeleted,
        m.LastRuntimeSeconds,
      ]),
      [[Name, 2, 1, 0, 0.2]],
    );
  });

  test('ListCrawls lists the crawls newest first, the running one RUNNING, with the same StartTime as LastCrawl', async () => {
    const Name = await createCrawler();
    await gateway.scriptCrawls(Name, [{ status: 'SUCCEEDED', afterSeconds: 0.2 }, { status: 'RUNNING' }]);
    await glue.send(new StartCrawlerCommand({ Name }));
    const first = await crawlUntilReady(Name);
    await glue.send(new StartCrawlerCommand({ Name }));
    const { Crawls } = await glue.send(new ListCrawlsCommand({ CrawlerName: Name }));
    assert.deepEqual(
      Crawls?.map((c) => c.State),
      ['RUNNING', 'COMPLETED'],
    );
    assert.equal(Crawls![1]!.StartTime!.getTime(), first.LastCrawl!.StartTime!.getTime());
    assert.ok(Crawls![1]!.EndTime! <= Crawls![0]!.StartTime!);
    const running = await glue.send(
      new ListCrawlsCommand({
        CrawlerName: Name,
        Filters: [{ FieldName: 'STATE', FilterOperator: 'EQ', FieldValue: 'RUNNING' }],
      }),
    );
    assert.deepEqual(
      running.Crawls?.map((c) => c.CrawlId),
      [Crawls![0]!.CrawlId],
    );
    await glue.send(new StopCrawlerCommand({ Name }));
    const stopped = await crawlUntilReady(Name);
    assert.equal(stopped.LastCrawl?.Status, 'CANCELLED');
    const after = await glue.send(new ListCrawlsCommand({ CrawlerName: Name, MaxResults: 1 }));
    assert.deepEqual(
      after.Crawls?.map((c) => [c.CrawlId, c.State]),
      [[Crawls![0]!.CrawlId, 'STOPPED']],
    );
    assert.ok(after.NextToken, 'a second page is left');
  });

  test('ListCrawls refuses a MaxResults over 100 and an unknown filter field, and an unknown crawler', async () => {
    const Name = await createCrawler();
    await assert.rejects(glue.send(new ListCrawlsCommand({ CrawlerName: Name, MaxResults: 101 })), {
      name: 'InvalidInputException',
    });
    await assert.rejects(
      glue.send(
        new ListCrawlsCommand({
          CrawlerName: Name,
          Filters: [{ FieldName: 'NAME' as 'STATE', FilterOperator: 'EQ', FieldValue: 'x' }],
        }),
      ),
      { name: 'InvalidInputException' },
    );
    await assert.rejects(glue.send(new ListCrawlsCommand({ CrawlerName: unique('gw-no-such-crawler') })), {
      name: 'EntityNotFoundException',
    });
  });
});
