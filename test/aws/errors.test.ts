/**
 * #14 finding 7's error branches: S3's RequestTimeout and expired credentials are retried (they ended the activity
 * for good), and a 301 PermanentRedirect for a bucket in another region is not (it was retried 20 times) and
 * names the bucket's region and how to give it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { awsFailure } from '../../src/activities/errors';
import { bucketRegionOf, isAccessDenied, isRetryableAwsError } from '../../src/aws/errors';

/** An S3 exception as the SDK raises it: the HTTP response it came in is a hidden field, as the SDK sets it. */
function s3Error(name: string, status: number, headers: Record<string, string> = {}, extra: object = {}) {
  const err = new S3ServiceException({
    name,
    $fault: 'client',
    message: `${name} happened`,
    $metadata: { httpStatusCode: status },
  });
  Object.defineProperty(err, '$response', { value: { statusCode: status, headers }, enumerable: false });
  return Object.assign(err, extra);
}
const landing = {
  operation: 'ListObjectsV2',
  resource: 'bucket landing-euw2',
  bucket: 'landing-euw2',
  region: 'us-east-1',
};

describe('AWS errors a later attempt gets past', () => {
  test("S3's RequestTimeout (HTTP 400) is retried", () => {
    const err = s3Error('RequestTimeout', 400);
    assert.equal(isRetryableAwsError(err), true);
    assert.equal(awsFailure(err, landing).nonRetryable, false);
  });

  test('expired credentials are retried, named as such, and not taken for a missing permission', () => {
    for (const [name, status] of [
      ['ExpiredToken', 400],
      ['ExpiredToken', 403],
      ['ExpiredTokenException', 400],
    ] as const) {
      const err = s3Error(name, status);
      const failure = awsFailure(err, landing);
      assert.equal(failure.nonRetryable, false, `${name} ${status}`);
      assert.match(failure.message, /the worker's AWS credentials expired .*Tried again with renewed credentials/);
      assert.equal(isAccessDenied(err), false);
    }
  });
});

describe('a bucket in another region (301 PermanentRedirect)', () => {
  test('is not retried, and the message names the bucket, its region and how to give it', () => {
    const err = s3Error('PermanentRedirect', 301, { 'x-amz-bucket-region': 'eu-west-2' });
    assert.equal(isRetryableAwsError(err), false);
    const failure = awsFailure(err, landing);
    assert.equal(failure.nonRetryable, true);
    assert.match(
      failure.message,
      /^bucket landing-euw2 is in eu-west-2, not us-east-1: S3 answered ListObjectsV2 with 301 PermanentRedirect\. Name the bucket's region \(eu-west-2\): --source-region/,
    );
  });

  test("a HEAD's 301 has no body: its status alone makes it final; the region comes from the header or Endpoint", () => {
    const head = s3Error('UnknownError', 301, { 'x-amz-bucket-region': 'ap-south-1' });
    assert.equal(isRetryableAwsError(head), false);
    assert.equal(bucketRegionOf(head), 'ap-south-1');
    const bodyOnly = s3Error('PermanentRedirect', 301, {}, { Endpoint: 'landing-euw2.s3.eu-west-2.amazonaws.com' });
    assert.equal(bucketRegionOf(bodyOnly), 'eu-west-2');
    assert.match(awsFailure(s3Error('PermanentRedirect', 301), landing).message, /is in another region, not us-east-1/);
  });
});
