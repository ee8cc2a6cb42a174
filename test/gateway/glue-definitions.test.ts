import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  CreateCrawlerCommand,
  GetCrawlerCommand,
  GetJobCommand,
  GetTagsCommand,
  GlueClient,
  StartCrawlerCommand,
  StopCrawlerCommand,
  UpdateCrawlerCommand,
  UpdateJobCommand,
} from '@aws-sdk/client-glue';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { createGlueJob } from '../../devstack/testkit/glue';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const region = stack().aws.regions[0]!;
const glue = new GlueClient(awsClientConfig(region));
const gateway = new GatewayControl();
after(() => glue.destroy());

const ROLE = 'arn:aws:iam::123456789012:role/glue';

async function createCrawler(): Promise<string> {
  const Name = unique('gw-upd-crawler');
  await glue.send(
    new CreateCrawlerCommand({
      Name,
      Role: ROLE,
      DatabaseName: 'raw',
      Description: 'the raw CSVs',
      Schedule: 'cron(15 12 * * ? *)',
      Targets: { S3Targets: [{ Path: 's3://raw-bucket/in/' }] },
    }),
  );
  return Name;
}

describe('Glue definition updates through the gateway', () => {
  test('UpdateJob replaces the whole definition, and GetJob returns the new one', async () => {
    const JobName = await createGlueJob(glue, {
      DefaultArguments: { '--delimiter': ',', '--hand-set': 'x' },
      MaxRetries: 3,
      Timeout: 60,
      NumberOfWorkers: 2,
      WorkerType: 'G.1X',
      Tags: { team: 'data' },
    });

    const out = await glue.send(
      new UpdateJobCommand({
        JobName,
        JobUpdate: {
          Role: ROLE,
          Command: { Name: 'glueetl', ScriptLocation: 's3://scripts/job-v2.py' },
          DefaultArguments: { '--delimiter': ';' },
          Timeout: 30,
          NumberOfWorkers: 5,
          WorkerType: 'G.2X',
        },
      }),
    );
    const { Job: job } = await glue.send(new GetJobCommand({ JobName }));

    assert.equal(out.JobName, JobName);
    assert.equal(job?.Command?.ScriptLocation, 's3://scripts/job-v2.py');
    assert.deepEqual(job?.DefaultArguments, { '--delimiter': ';' }, 'arguments left out of JobUpdate are gone');
    assert.deepEqual([job?.Timeout, job?.NumberOfWorkers, job?.WorkerType], [30, 5, 'G.2X']);
    assert.equal(job?.MaxRetries ?? 0, 0, 'MaxRetries left out of JobUpdate is reset');
    const arn = `arn:aws:glue:${region}:123456789012:job/${JobName}`;
    assert.deepEqual((await glue.send(new GetTagsCommand({ ResourceArn: arn }))).Tags, { team: 'data' });
  });

  test('UpdateJob of a job that does not exist throws EntityNotFoundException and creates nothing', async () => {
    const JobName = unique('gw-no-such-job');
    const JobUpdate = { Role: ROLE, Command: { Name: 'glueetl', ScriptLocation: 's3://scripts/job.py' } };

    await assert.rejects(glue.send(new UpdateJobCommand({ JobName, JobUpdate })), {
      name: 'EntityNotFoundException',
    });
    await assert.rejects(glue.send(new GetJobCommand({ JobName })), { name: 'EntityNotFoundException' });
  });

  test('UpdateCrawler changes the fields given and keeps the others', async () => {
    const Name = await createCrawler();

    await glue.send(
      new UpdateCrawlerCommand({
        Name,
        DatabaseName: 'raw_v2',
        Targets: { S3Targets: [{ Path: 's3://raw-bucket/v2/' }] },
      }),
    );
    const { Crawler: crawler } = await glue.send(new GetCrawlerCommand({ Name }));

    assert.equal(crawler?.DatabaseName, 'raw_v2');
    assert.deepEqual(
      crawler?.Targets?.S3Targets?.map((t) => t.Path),
      ['s3://raw-bucket/v2/'],
    );
    assert.equal(crawler?.Description, 'the raw CSVs');
    assert.equal(crawler?.Role, ROLE);
    assert.equal(crawler?.Schedule?.ScheduleExpression, 'cron(15 12 * * ? *)');
    assert.equal(crawler?.State, 'READY');
  });

  test('UpdateCrawler of a running crawler throws CrawlerRunningException and changes nothing', async () => {
    const Name = await createCrawler();
    await gateway.scriptCrawls(Name, [{ status: 'RUNNING' }]);
    await glue.send(new StartCrawlerCommand({ Name }));

    await assert.rejects(glue.send(new UpdateCrawlerCommand({ Name, DatabaseName: 'other' })), {
      name: 'CrawlerRunningException',
    });
    const { Crawler: crawler } = await glue.send(new GetCrawlerCommand({ Name }));
    await glue.send(new StopCrawlerCommand({ Name }));

    assert.equal(crawler?.DatabaseName, 'raw');
  });

  test('UpdateCrawler of a crawler that does not exist throws EntityNotFoundException', async () => {
    await assert.rejects(
      glue.send(new UpdateCrawlerCommand({ Name: unique('gw-no-such-crawler'), DatabaseName: 'raw' })),
      { name: 'EntityNotFoundException' },
    );
  });
});

describe('the gateway refuses the recrawl policies Glue refuses', () => {
  const target = { S3Targets: [{ Path: 's3://raw-bucket/in/' }] };
  const base = () => ({ Name: unique('gw-recrawl'), Role: ROLE, DatabaseName: 'raw', Targets: target });
  const refusal = async (send: Promise<unknown>) => {
    const err = await send.then(
      () => assert.fail('accepted'),
      (e: unknown) => e as Error,
    );
    assert.equal(err.name, 'InvalidInputException');
    return err.message;
  };

  test("CreateCrawler: new folders only needs SchemaChangePolicy LOG and LOG (not Glue's defaults)", async () => {
    const recrawl = { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' as const };
    assert.match(
      await refusal(glue.send(new CreateCrawlerCommand({ ...base(), RecrawlPolicy: recrawl }))),
      /"Crawl new folders only" .* only LOG DeleteBehavior value and LOG UpdateBehavior value/,
    );
    const deprecate = { UpdateBehavior: 'LOG' as const, DeleteBehavior: 'DEPRECATE_IN_DATABASE' as const };
    await refusal(
      glue.send(new CreateCrawlerCommand({ ...base(), RecrawlPolicy: recrawl, SchemaChangePolicy: deprecate })),
    );
    const ok = base();
    const log = { UpdateBehavior: 'LOG' as const, DeleteBehavior: 'LOG' as const };
    await glue.send(new CreateCrawlerCommand({ ...ok, RecrawlPolicy: recrawl, SchemaChangePolicy: log }));
    const { Crawler: crawler } = await glue.send(new GetCrawlerCommand({ Name: ok.Name }));
    assert.equal(crawler?.RecrawlPolicy?.RecrawlBehavior, 'CRAWL_NEW_FOLDERS_ONLY');
  });

  test('CreateCrawler: event mode needs an EventQueueArn on its S3 targets', async () => {
    assert.match(
      await refusal(
        glue.send(new CreateCrawlerCommand({ ...base(), RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVENT_MODE' } })),
      ),
      /EventQueueArn/,
    );
  });

  test('UpdateCrawler: switching to new folders only with the default schema policy is refused, and changes nothing', async () => {
    const Name = await createCrawler();
    await refusal(
      glue.send(new UpdateCrawlerCommand({ Name, RecrawlPolicy: { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' } })),
    );
    const { Crawler: crawler } = await glue.send(new GetCrawlerCommand({ Name }));
    assert.notEqual(crawler?.RecrawlPolicy?.RecrawlBehavior, 'CRAWL_NEW_FOLDERS_ONLY');
    await glue.send(
      new UpdateCrawlerCommand({
        Name,
        RecrawlPolicy: { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
        SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
      }),
    );
    const { Crawler: updated } = await glue.send(new GetCrawlerCommand({ Name }));
    assert.equal(updated?.RecrawlPolicy?.RecrawlBehavior, 'CRAWL_NEW_FOLDERS_ONLY');
  });
});
