import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreateJobCommand,
  GetDatabaseCommand,
  GetJobCommand,
  GlueClient,
  ListCrawlersCommand,
} from '@aws-sdk/client-glue';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const gateway = new GatewayControl();
const [primary, replica] = stack().aws.regions as [string, string];
const glue = new GlueClient(awsClientConfig(primary));
const s3 = new S3Client(awsClientConfig(primary));
const s3Replica = new S3Client(awsClientConfig(replica));
after(() => [glue, s3, s3Replica].forEach((c) => c.destroy()));

describe('what the gateway does not serve goes to moto unchanged', () => {
  test('Glue job, crawler and catalog definitions round-trip through moto', async () => {
    const name = unique('gw-defs');
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: name } }));
    await glue.send(
      new CreateJobCommand({
        Name: name,
        Role: 'arn:aws:iam::123456789012:role/glue',
        Command: { Name: 'glueetl', ScriptLocation: 's3://scripts/job.py' },
        DefaultArguments: { '--output': 's3://curated/' },
      }),
    );
    await glue.send(
      new CreateCrawlerCommand({
        Name: name,
        Role: 'r',
        DatabaseName: name,
        Targets: { S3Targets: [{ Path: 's3://raw/' }] },
      }),
    );
    assert.equal((await glue.send(new GetDatabaseCommand({ Name: name }))).Database?.Name, name);
    assert.deepEqual((await glue.send(new GetJobCommand({ JobName: name }))).Job?.DefaultArguments, {
      '--output': 's3://curated/',
    });
    assert.ok((await glue.send(new ListCrawlersCommand({}))).CrawlerNames?.includes(name));
    assert.deepEqual((await gateway.counts(name))['glue:GetJob'], { count: 1, faulted: 0 });
  });

  test('S3 calls of a copy to the replica region are counted under their S3 operation names', async () => {
    const Bucket = unique('gw-src');
    const Replica = unique('gw-dst');
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3Replica.send(
      new CreateBucketCommand({
        Bucket: Replica,
        CreateBucketConfiguration: { LocationConstraint: replica as 'eu-west-1' },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket, Key: 'out/part-0.parquet', Body: 'parquet bytes' }));
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'out/big' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket, Key: 'out/big', UploadId: upload.UploadId, PartNumber: 1, Body: 'last part' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'out/big',
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] },
      }),
    );
    await s3Replica.send(
      new CopyObjectCommand({ Bucket: Replica, Key: 'out/part-0.parquet', CopySource: `${Bucket}/out/part-0.parquet` }),
    );
    const head = await s3Replica.send(new HeadObjectCommand({ Bucket: Replica, Key: 'out/part-0.parquet' }));
    assert.equal(head.ContentLength, 'parquet bytes'.length);
    const got = await s3Replica.send(new GetObjectCommand({ Bucket: Replica, Key: 'out/part-0.parquet' }));
    assert.equal(await got.Body!.transformToString(), 'parquet bytes');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'out/' }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['out/big', 'out/part-0.parquet'],
    );
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'out/big' }));
    await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'out/part-0.parquet' }] } }));

    // Counts filtered by bucket name: a CopyObject counts under its destination bucket.
    const only = async (bucket: string) => Object.keys(await gateway.counts(bucket)).sort();
    assert.deepEqual(await only(Bucket), [
      's3:CompleteMultipartUpload',
      's3:CreateBucket',
      's3:CreateMultipartUpload',
      's3:DeleteObject',
      's3:DeleteObjects',
      's3:ListObjectsV2',
      's3:PutObject',
      's3:UploadPart',
    ]);
    assert.deepEqual(await only(Replica), ['s3:CopyObject', 's3:CreateBucket', 's3:GetObject', 's3:HeadObject']);
  });

  test('multipart copies, object attributes and bucket calls are counted under their S3 operation names', async () => {
    const Bucket = unique('gw-ops');
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new HeadBucketCommand({ Bucket }));
    await s3.send(new ListBucketsCommand({}));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'source bytes' }));
    await s3.send(new GetObjectAttributesCommand({ Bucket, Key: 'src', ObjectAttributes: ['ObjectSize'] }));
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'dst' }));
    await s3.send(
      new UploadPartCopyCommand({
        Bucket,
        Key: 'dst',
        UploadId: upload.UploadId,
        PartNumber: 1,
        CopySource: `${Bucket}/src`,
      }),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'dst', UploadId: upload.UploadId }));
    assert.deepEqual(Object.keys(await gateway.counts(Bucket)).sort(), [
      's3:AbortMultipartUpload',
      's3:CreateBucket',
      's3:CreateMultipartUpload',
      's3:GetObjectAttributes',
      's3:HeadBucket',
      's3:PutObject',
      's3:UploadPartCopy',
    ]);
    assert.ok((await gateway.counts())['s3:ListBuckets']!.count >= 1);
  });

  test('a fault rule scoped to one region leaves the other region alone', async () => {
    const Bucket = unique('gw-region');
    await s3Replica.send(
      new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: replica as 'eu-west-1' } }),
    );
    const rule = await gateway.addFault({
      target: 's3:*',
      region: primary,
      resource: Bucket,
      action: { type: 'drop' },
    });
    try {
      await s3Replica.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'v' }));
    } finally {
      await gateway.deleteFault(rule.id);
    }
    assert.deepEqual((await gateway.counts(Bucket))['s3:PutObject'], { count: 1, faulted: 0 });
  });
});
