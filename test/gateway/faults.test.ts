import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
} from '@aws-sdk/client-glue';
import { ExecuteStatementCommand, ListStatementsCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { createGlueJob } from '../../devstack/testkit/glue';
import { createRedshiftTarget } from '../../devstack/redshift-targets';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const gateway = new GatewayControl();
const CALLS = 8;
const s3 = new S3Client({ ...awsClientConfig(), maxAttempts: 1 });
after(() => s3.destroy());

const httpStatus = (err: Error) =>
  (err as Error & { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

async function createBucket(): Promise<string> {
  const Bucket = unique('gw-faults');
  await s3.send(new CreateBucketCommand({ Bucket }));
  return Bucket;
}

describe('fault injection', () => {
  test('a 50% throttling rule on glue:GetJobRun is absorbed by the SDK retries and shows in the counts', async () => {
    // The SDK's own retry strategy, with enough attempts that 0.5^attempts is negligible across the calls;
    // few calls, since the SDK backs off from throttling for half a second and more.
    const glue = new GlueClient({ ...awsClientConfig(), maxAttempts: 12, retryMode: 'standard' });
    after(() => glue.destroy());
    const JobName = await createGlueJob(glue, { Name: unique('gw-throttled') });
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName }));
    const rule = await gateway.addFault({
      target: 'glue:GetJobRun',
      resource: JobName,
      action: { type: 'throttle' },
      probability: 0.5,
    });
    const throttled = async () => (await gateway.counts(JobName))['glue:GetJobRun']?.faulted ?? 0;
    let calls = 0;
    try {
      // At least CALLS calls, and on until one was throttled (a 1 in 2^CALLS chance that none was yet).
      while (calls < CALLS || (calls < 5 * CALLS && (await throttled()) === 0)) {
        const { JobRun } = await glue.send(new GetJobRunCommand({ JobName, RunId: JobRunId }));
        assert.equal(JobRun?.Id, JobRunId);
        calls += 1;
      }
    } finally {
      await gateway.deleteFault(rule.id);
    }
    const counts = await gateway.counts(JobName);
    const getJobRun = counts['glue:GetJobRun']!;
    assert.equal(getJobRun.count - getJobRun.faulted, calls, 'every call succeeded once');
    assert.ok(getJobRun.faulted > 0, `expected throttled requests, got ${JSON.stringify(getJobRun)}`);
    assert.deepEqual(counts['glue:StartJobRun'], { count: 1, faulted: 0 });
  });

  test('a throttling rule on s3:PutObject makes the S3 client see SlowDown', async () => {
    const Bucket = await createBucket();
    await gateway.addFault({ target: 's3:PutObject', resource: Bucket, action: { type: 'throttle' }, count: 1 });
    await assert.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'id\n1\n' })), (err: Error) => {
      assert.equal(err.name, 'SlowDown');
      assert.equal(httpStatus(err), 503);
      return true;
    });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'id\n1\n' }));
    assert.deepEqual((await gateway.counts(Bucket))['s3:PutObject'], { count: 2, faulted: 1 });
  });

  test('a 500 rule on s3:GetObject makes the S3 client see InternalError', async () => {
    const Bucket = await createBucket();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'x' }));
    await gateway.addFault({ target: 's3:Get*', resource: Bucket, action: { type: 'error', status: 500 }, count: 1 });
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'a.csv' })), { name: 'InternalError' });
  });

  test('a deny rule answers AccessDenied on S3 and AccessDeniedException on Glue', async () => {
    const Bucket = await createBucket();
    await gateway.addFault({ target: 's3:PutObject', resource: Bucket, action: { type: 'deny' }, count: 1 });
    await assert.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'x' })), (err: Error) => {
      assert.equal(err.name, 'AccessDenied');
      assert.equal(httpStatus(err), 403);
      return true;
    });
    const glue = new GlueClient({ ...awsClientConfig(), maxAttempts: 1 });
    after(() => glue.destroy());
    const JobName = unique('gw-denied');
    await gateway.addFault({ target: 'glue:StartJobRun', resource: JobName, action: { type: 'deny' }, count: 1 });
    await assert.rejects(glue.send(new StartJobRunCommand({ JobName })), { name: 'AccessDeniedException' });
  });

  test('a 503 rule on Glue answers ServiceUnavailableException', async () => {
    const glue = new GlueClient({ ...awsClientConfig(), maxAttempts: 1 });
    after(() => glue.destroy());
    const JobName = unique('gw-unavailable');
    await gateway.addFault({ target: 'glue:*', resource: JobName, action: { type: 'error', status: 503 }, count: 1 });
    await assert.rejects(glue.send(new StartJobRunCommand({ JobName })), (err: Error) => {
      assert.equal(err.name, 'ServiceUnavailableException');
      assert.equal(httpStatus(err), 503);
      return true;
    });
  });

  test('a dropped connection reaches the client as a connection reset', async () => {
    const Bucket = await createBucket();
    await gateway.addFault({ target: 's3:HeadBucket', resource: Bucket, action: { type: 'drop' }, count: 1 });
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket })), { code: 'ECONNRESET' });
  });

  test('a latency rule delays the request by its milliseconds', async () => {
    const Bucket = await createBucket();
    await gateway.addFault({
      target: 's3:PutObject',
      resource: Bucket,
      action: { type: 'latency', ms: 400 },
      count: 1,
    });
    const started = Date.now();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'slow', Body: 'x' }));
    assert.ok(Date.now() - started >= 400, `took ${Date.now() - started} ms`);
  });

  test('rules are listed with how often they fired, and deleted one by one', async () => {
    const resource = unique('gw-rules');
    const rule = await gateway.addFault({ target: '*', resource, action: { type: 'latency', ms: 0 } });
    assert.ok((await gateway.faults()).some((r) => r.id === rule.id && r.fired === 0));
    await gateway.deleteFault(rule.id);
    assert.ok(!(await gateway.faults()).some((r) => r.id === rule.id));
  });

  test('counts of one resource reset without touching others', async () => {
    const [a, b] = [await createBucket(), await createBucket()];
    await gateway.resetCounts(a);
    assert.deepEqual(await gateway.counts(a), {});
    assert.deepEqual((await gateway.counts(b))['s3:CreateBucket'], { count: 1, faulted: 0 });
  });

  test('counts of a resource name two regions share read apart by region', async () => {
    const JobName = unique('gw-two-regions');
    const [east, west] = ['us-east-1', 'us-west-2'].map(
      (r) => new GlueClient({ ...awsClientConfig(r), maxAttempts: 1 }),
    );
    after(() => [east, west].forEach((c) => c!.destroy()));
    for (const glue of [east!, west!]) await createGlueJob(glue, { Name: JobName });
    await east!.send(new GetJobCommand({ JobName }));
    for (let i = 0; i < 2; i += 1) await west!.send(new GetJobCommand({ JobName }));
    assert.deepEqual((await gateway.counts(JobName))['glue:GetJob'], { count: 3, faulted: 0 });
    assert.deepEqual((await gateway.counts(JobName, 'us-east-1'))['glue:GetJob'], { count: 1, faulted: 0 });
    assert.deepEqual((await gateway.counts(JobName, 'us-west-2'))['glue:GetJob'], { count: 2, faulted: 0 });
  });

  test('a 500 after serving StartJobRun still started the run: GetJobRuns shows it', async () => {
    const glue = new GlueClient({ ...awsClientConfig(), maxAttempts: 1 });
    after(() => glue.destroy());
    const JobName = await createGlueJob(glue, { Name: unique('gw-after-500') });
    await gateway.addFault({
      target: 'glue:StartJobRun',
      resource: JobName,
      action: { type: 'after', then: 500 },
      count: 1,
    });
    const Arguments = { '--glueline-run-tag': 'after-500' };
    await assert.rejects(glue.send(new StartJobRunCommand({ JobName, Arguments })), {
      name: 'InternalServiceException',
    });
    const { JobRuns } = await glue.send(new GetJobRunsCommand({ JobName }));
    assert.deepEqual(
      JobRuns?.map((r) => r.Arguments?.['--glueline-run-tag']),
      ['after-500'],
      'the refused start reached Glue',
    );
    assert.deepEqual((await gateway.counts(JobName))['glue:StartJobRun'], { count: 1, faulted: 1 });
  });

  test('a held StartJobRun response waits for its release, then reaches the caller', async () => {
    const glue = new GlueClient({ ...awsClientConfig(), maxAttempts: 1 });
    after(() => glue.destroy());
    const JobName = await createGlueJob(glue, { Name: unique('gw-hold') });
    const rule = await gateway.addFault({ target: 'glue:StartJobRun', resource: JobName, action: { type: 'hold' } });
    let answered = false;
    const started = glue.send(new StartJobRunCommand({ JobName })).finally(() => (answered = true));
    const held = await gateway.waitForHold((h) => h.resource === JobName);
    assert.equal(held.operation, 'StartJobRun');
    assert.equal(held.ruleId, rule.id);
    assert.equal(held.callerGone, false);
    // Served already: the run exists while its caller still waits for the answer.
    const { JobRuns } = await glue.send(new GetJobRunsCommand({ JobName }));
    assert.equal(JobRuns?.length, 1);
    assert.equal(answered, false, 'the caller got no answer while the response was held');
    await gateway.release(held.id);
    const { JobRunId } = await started;
    assert.equal(JobRunId, JobRuns[0]!.Id);
    assert.deepEqual(held.response, { JobRunId }, 'the hold lists the response it keeps');
    assert.ok(!(await gateway.holds()).some((h) => h.id === held.id), 'a released response is no longer listed');
    await assert.rejects(gateway.release(held.id), /no held response with id/);
  });

  test('a held response whose caller is gone is listed as such, and its timeout ends the hold', async () => {
    const Bucket = await createBucket();
    await gateway.addFault({
      target: 's3:HeadBucket',
      resource: Bucket,
      action: { type: 'hold', timeoutMs: 1_000 },
      count: 1,
    });
    const abort = new AbortController();
    const headed = s3.send(new HeadBucketCommand({ Bucket }), { abortSignal: abort.signal });
    const held = await gateway.waitForHold((h) => h.resource === Bucket);
    abort.abort();
    await assert.rejects(headed, { name: 'AbortError' });
    await gateway.waitForHold((h) => h.id === held.id && h.callerGone);
    await pollUntil(gateway.holds.bind(gateway), (holds) => !holds.some((h) => h.id === held.id));
  });

  test('an ExecuteStatement dropped after serving, retried with its ClientToken, returns the same Id', async () => {
    const redshift = new RedshiftDataClient({ ...awsClientConfig(), maxAttempts: 1 });
    after(() => redshift.destroy());
    const ClusterIdentifier = unique('gw-after-drop');
    await createRedshiftTarget(stack().aws.endpoint, awsClientConfig().region, {
      clusterIdentifier: ClusterIdentifier,
      database: 'dev',
    });
    const ClientToken = unique('token');
    const Sql = `select '${ClientToken}'`;
    const input = { ClusterIdentifier, Database: 'dev', DbUser: 'awsuser', Sql, ClientToken };
    await gateway.addFault({
      target: 'redshift-data:ExecuteStatement',
      resource: ClusterIdentifier,
      action: { type: 'after', then: 'drop' },
      count: 1,
    });
    await assert.rejects(redshift.send(new ExecuteStatementCommand(input)), { code: 'ECONNRESET' });
    const { Id } = await redshift.send(new ExecuteStatementCommand(input));
    const { Statements } = await redshift.send(new ListStatementsCommand({}));
    const mine = (Statements ?? []).filter((st) => st.QueryString === Sql);
    assert.deepEqual(
      mine.map((st) => st.Id),
      [Id],
      'the retry got the statement the dropped request made',
    );
    assert.deepEqual((await gateway.counts(ClusterIdentifier))['redshift-data:ExecuteStatement'], {
      count: 2,
      faulted: 1,
    });
  });

  test("a rule with a region and a resource also matches that region's resource-less requests", async () => {
    const region = 'ap-southeast-2';
    const regional = new S3Client({ ...awsClientConfig(region), maxAttempts: 1 });
    after(() => regional.destroy());
    await gateway.withFault(
      { target: 's3:ListBuckets', region, resource: unique('gw-none'), action: { type: 'deny' }, count: 1 },
      async () => {
        // Another region's request is left alone; this region's is refused although it names no bucket.
        await s3.send(new ListBucketsCommand({}));
        await assert.rejects(regional.send(new ListBucketsCommand({})), { name: 'AccessDenied' });
      },
    );
  });

  test('a rule may list regions; resource-less requests are counted per region, stalls apart', async () => {
    const [one, two] = ['ap-northeast-3', 'sa-east-1'];
    const clients = [one, two, 'ca-central-1'].map((r) => new S3Client({ ...awsClientConfig(r), maxAttempts: 1 }));
    after(() => clients.forEach((c) => c.destroy()));
    for (const r of [one, two, 'ca-central-1']) await gateway.resetCounts(`@${r}`);
    const rule = { target: 's3:ListBuckets', region: [one, two], resource: unique('gw-regions') };
    const deny = await gateway.addFault({ ...rule, action: { type: 'deny' }, count: 2 });
    try {
      await assert.rejects(clients[0]!.send(new ListBucketsCommand({})), { name: 'AccessDenied' });
      await assert.rejects(clients[1]!.send(new ListBucketsCommand({})), { name: 'AccessDenied' });
      // Not one of the rule's regions: served.
      await clients[2]!.send(new ListBucketsCommand({}));
    } finally {
      await gateway.deleteFault(deny.id);
    }
    await gateway.withFault({ ...rule, action: { type: 'latency', ms: 1 }, count: 1 }, async () => {
      await clients[0]!.send(new ListBucketsCommand({}));
    });
    assert.deepEqual((await gateway.counts(`@${one}`))['s3:ListBuckets'], { count: 2, faulted: 1, stalled: 1 });
    assert.deepEqual((await gateway.counts(`@${two}`))['s3:ListBuckets'], { count: 1, faulted: 1 });
    assert.deepEqual((await gateway.counts('@ca-central-1'))['s3:ListBuckets'], { count: 1, faulted: 0 });
  });

  test('a mix rule draws each of its actions', async () => {
    const Bucket = await createBucket();
    const rule = await gateway.addFault({
      target: 's3:HeadBucket',
      resource: Bucket,
      action: {
        type: 'mix',
        actions: [{ type: 'deny' }, { type: 'error', status: 500 }, { type: 'after', then: 503 }],
      },
    });
    const seen = new Set<string>();
    try {
      // Until each of the three was drawn (after 60 calls, a 1 in 10^10 chance that one never was).
      for (let calls = 0; seen.size < 3 && calls < 60; calls++) {
        await s3.send(new HeadBucketCommand({ Bucket })).then(
          () => seen.add('served'),
          (err: Error) => seen.add(String(httpStatus(err))),
        );
      }
    } finally {
      await gateway.deleteFault(rule.id);
    }
    // Every call drew one of the actions: none was served as is.
    assert.deepEqual([...seen].sort(), ['403', '500', '503']);
  });

  test('malformed after, hold and mix actions are refused with the field to fix', async () => {
    const resource = unique('gw-bad');
    const bad = (action: unknown) => gateway.addFault({ target: '*', resource, action: action as never });
    await assert.rejects(bad({ type: 'after', then: 404 }), /action.then must be 'drop', 500 or 503/);
    await assert.rejects(bad({ type: 'hold', timeoutMs: 0 }), /action.timeoutMs must be > 0/);
    await assert.rejects(bad({ type: 'mix', actions: [] }), /action.actions must be a non-empty list/);
    await assert.rejects(bad({ type: 'mix', actions: [{ type: 'mix', actions: [] }] }), /cannot contain another mix/);
  });
});
