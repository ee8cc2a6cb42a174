import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

const s3 = new S3Client(awsClientConfig());
after(() => s3.destroy());

const md5 = (text: string) => `"${createHash('md5').update(text).digest('hex')}"`;

/** Every ETag S3 shows for one object: PutObject's, HeadObject's, GetObject's and ListObjectsV2's. */
async function etagsOf(Bucket: string, Key: string, Body: string, ServerSideEncryption?: ServerSideEncryption) {
  const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body, ServerSideEncryption }));
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
  const get = await s3.send(new GetObjectCommand({ Bucket, Key }));
  await get.Body!.transformToString();
  const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: Key }));
  return {
    put: put.ETag,
    head: head.ETag,
    get: get.ETag,
    list: list.Contents?.find((o) => o.Key === Key)?.ETag,
    sse: head.ServerSideEncryption,
  };
}

describe('S3 ETags of encrypted objects', () => {
  const kmsBucket = unique('gw-kms');
  const plainBucket = unique('gw-plain');
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: kmsBucket }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: kmsBucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
        },
      }),
    );
    await s3.send(new CreateBucketCommand({ Bucket: plainBucket }));
  });

  test('an object in an SSE-KMS bucket has one ETag everywhere, and it is not the MD5 of its data', async () => {
    const etags = await etagsOf(kmsBucket, 'a.csv', 'id\n1\n');
    assert.equal(etags.sse, 'aws:kms');
    assert.notEqual(etags.put, md5('id\n1\n'));
    assert.match(etags.put!, /^"[0-9a-f]{32}"$/);
    assert.deepEqual([etags.head, etags.get, etags.list], [etags.put, etags.put, etags.put]);
  });

  test('SSE-KMS and DSSE-KMS objects put in a plain bucket get non-MD5 ETags; an unencrypted one keeps its MD5', async () => {
    for (const sse of ['aws:kms', 'aws:kms:dsse'] as const) {
      const etags = await etagsOf(plainBucket, `${sse}.csv`, 'id\n2\n', sse);
      assert.notEqual(etags.put, md5('id\n2\n'), sse);
      assert.deepEqual([etags.head, etags.get, etags.list], [etags.put, etags.put, etags.put], sse);
    }
    const plain = await etagsOf(plainBucket, 'plain.csv', 'id\n2\n');
    assert.deepEqual([plain.put, plain.head, plain.get, plain.list], Array(4).fill(md5('id\n2\n')));
  });

  test("CopyObject answers the copy's KMS ETag, and CopySourceIfMatch takes the ETag S3 showed, not the MD5", async () => {
    const source = await etagsOf(kmsBucket, 'source.csv', 'id\n3\n');
    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: kmsBucket,
        Key: 'copy.csv',
        CopySource: `${kmsBucket}/source.csv`,
        CopySourceIfMatch: source.head,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: kmsBucket, Key: 'copy.csv' }));
    assert.equal(copy.CopyObjectResult?.ETag, head.ETag);
    assert.notEqual(head.ETag, md5('id\n3\n'));
    assert.notEqual(head.ETag, source.head, "as on S3, a KMS copy's ETag is not its source's, though the bytes are");
    await assert.rejects(
      s3.send(
        new CopyObjectCommand({
          Bucket: kmsBucket,
          Key: 'copy2.csv',
          CopySource: `${kmsBucket}/source.csv`,
          CopySourceIfMatch: md5('id\n3\n'),
        }),
      ),
      { name: 'PreconditionFailed' },
    );
  });

  test('a multipart KMS object gets a -N ETag of its own, not the one of another object of the same parts', async () => {
    const parts = async (Key: string) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: kmsBucket, Key }));
      const Parts = [];
      for (const PartNumber of [1, 2]) {
        const Body = Buffer.alloc(PartNumber === 1 ? 5 * 1024 * 1024 : 10, PartNumber);
        const { ETag } = await s3.send(new UploadPartCommand({ Bucket: kmsBucket, Key, UploadId, PartNumber, Body }));
        Parts.push({ PartNumber, ETag });
      }
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: kmsBucket, Key, UploadId, MultipartUpload: { Parts } }),
      );
      return (await s3.send(new HeadObjectCommand({ Bucket: kmsBucket, Key }))).ETag!;
    };
    const [a, b] = [await parts('mp-a.bin'), await parts('mp-b.bin')];
    assert.match(a, /^"[0-9a-f]{32}-2"$/);
    assert.notEqual(a, b);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: kmsBucket, Prefix: 'mp-a' }));
    assert.equal(listed.Contents?.[0]?.ETag, a);
  });

  test('a second CompleteMultipartUpload of a completed upload fails NoSuchUpload, as on S3', async () => {
    const Key = 'completed-twice.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: plainBucket, Key }));
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: plainBucket, Key, UploadId, PartNumber: 1, Body: 'x' }),
    );
    const complete = () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: plainBucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
        }),
      );
    assert.match((await complete()).ETag!, /-1"$/);
    await assert.rejects(complete(), { name: 'NoSuchUpload' });
  });

  test('a copy whose CopySourceIfMatch no longer holds (the source changed since) fails PreconditionFailed', async () => {
    const Bucket = plainBucket;
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket, Key: 'changing.csv', Body: 'id\n4\n' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'changing.csv', Body: 'id\n5\n' }));
    const copy = (CopySourceIfMatch: string) =>
      s3.send(
        new CopyObjectCommand({ Bucket, Key: 'changed.csv', CopySource: `${Bucket}/changing.csv`, CopySourceIfMatch }),
      );
    await assert.rejects(copy(ETag!), { name: 'PreconditionFailed' });
    const now = await s3.send(new HeadObjectCommand({ Bucket, Key: 'changing.csv' }));
    assert.ok((await copy(now.ETag!)).CopyObjectResult?.ETag);
  });
});

describe('S3 objects encrypted with a customer-provided key (SSE-C)', () => {
  test('are read and copied only with the key, as on S3; an object written again without it is plain', async () => {
    const Bucket = unique('gw-ssec');
    await s3.send(new CreateBucketCommand({ Bucket }));
    const key = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: randomBytes(32).toString('base64') };
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'id\n1\n', ...key }));
    const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const refused = (err: Error) => err.name === 'InvalidRequest' && status(err) === 400;
    // A HEAD's answer has no body: the SDK knows the 400 only.
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'a.csv' })), (err) => status(err) === 400);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'a.csv' })), refused);
    const copy = (input: object = {}) =>
      s3.send(new CopyObjectCommand({ Bucket, Key: 'b.csv', CopySource: `${Bucket}/a.csv`, ...input }));
    await assert.rejects(copy(), refused);
    await s3.send(new HeadObjectCommand({ Bucket, Key: 'a.csv', ...key }));
    await copy({
      CopySourceSSECustomerAlgorithm: key.SSECustomerAlgorithm,
      CopySourceSSECustomerKey: key.SSECustomerKey,
    });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'id\n2\n' }));
    await s3.send(new HeadObjectCommand({ Bucket, Key: 'a.csv' }));
  });
});

describe("S3 LastModified on AWS's clock", () => {
  const gateway = new GatewayControl();

  test('HeadObject, GetObject, ListObjectsV2 and CopyObject show LastModified on the shifted clock', async () => {
    const Bucket = unique('gw-clock');
    await s3.send(new CreateBucketCommand({ Bucket }));
    const hour = 3_600_000;
    const seen = await gateway.atClockOffset(-hour, async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: 'a.csv', Body: 'id\n1\n' }));
      const copy = await s3.send(new CopyObjectCommand({ Bucket, Key: 'b.csv', CopySource: `${Bucket}/a.csv` }));
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'a.csv' }));
      const get = await s3.send(new GetObjectCommand({ Bucket, Key: 'a.csv' }));
      await get.Body!.transformToString();
      const list = await s3.send(new ListObjectsV2Command({ Bucket }));
      return [
        head.LastModified,
        get.LastModified,
        copy.CopyObjectResult?.LastModified,
        ...(list.Contents ?? []).map((o) => o.LastModified),
      ];
    });
    assert.equal(seen.length, 5);
    for (const time of seen) {
      const agoMs = Date.now() - time!.getTime();
      // An hour behind the machine's clock, give or take the minute the calls can take under load.
      assert.ok(agoMs > hour - 60_000 && agoMs < hour + 60_000, `LastModified ${time?.toISOString()}`);
    }
    const unshifted = await s3.send(new HeadObjectCommand({ Bucket, Key: 'a.csv' }));
    assert.ok(Math.abs(Date.now() - unshifted.LastModified!.getTime()) < 60_000, 'back on the machine clock');
  });
});
