import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { GetJobRunCommand, GlueClient, StartJobRunCommand } from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { createGlueJob } from '../../devstack/testkit/glue';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

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
});
