/**
 * S3 answers a request for a bucket in another region than the request's with 301 PermanentRedirect and the
 * bucket's region in x-amz-bucket-region (#14 finding 7): the gateway does too, so a landing bucket outside the
 * primary region fails on the local stack as on AWS, and glueline's message names its region.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { awsCall } from '../../src/aws/errors';
import { awsFailure } from '../../src/activities/errors';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

describe('S3 buckets in another region than the request (gateway)', () => {
  const bucket = unique('landing-euw1').toLowerCase();
  const home = new S3Client(awsClientConfig('eu-west-1'));
  const away = new S3Client(awsClientConfig('us-east-1'));

  before(async () => {
    await home.send(
      new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );
    await home.send(new PutObjectCommand({ Bucket: bucket, Key: 'landing/b/a.csv', Body: 'a\n1\n' }));
  });
  after(() => {
    home.destroy();
    away.destroy();
  });

  test("answer 301 PermanentRedirect with the bucket's region, as S3 does; the bucket's own region is served", async () => {
    for (const command of [
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'landing/' }),
      new GetObjectCommand({ Bucket: bucket, Key: 'landing/b/a.csv' }),
      new HeadBucketCommand({ Bucket: bucket }),
    ]) {
      const err = await away.send(command as never).then(
        () => assert.fail(`${command.constructor.name} was served from the wrong region`),
        (e: unknown) =>
          e as { $metadata?: { httpStatusCode?: number }; $response?: { headers: Record<string, string> } },
      );
      assert.equal(err.$metadata?.httpStatusCode, 301, command.constructor.name);
      assert.equal(err.$response?.headers['x-amz-bucket-region'], 'eu-west-1');
    }
    const listed = await home.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'landing/' }));
    assert.equal(listed.KeyCount, 1);
    // GetBucketLocation answers from any region: it is how a caller learns the region.
    const location = await away.send(new GetBucketLocationCommand({ Bucket: bucket }));
    assert.equal(location.LocationConstraint, 'eu-west-1');
  });

  test("glueline's failure for it is final and names the bucket's region", async () => {
    const target = { operation: 'ListObjectsV2', resource: `bucket ${bucket}`, bucket, region: 'us-east-1' };
    const err = await awsCall(target, () => away.send(new ListObjectsV2Command({ Bucket: bucket }))).catch(
      (e: unknown) => e,
    );
    const failure = awsFailure((err as { cause: unknown }).cause, target);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, new RegExp(`^bucket ${bucket} is in eu-west-1, not us-east-1: .*--source-region`));
  });
});
