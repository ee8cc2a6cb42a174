/**
 * P4, copy efficiency (the S3-to-S3 half): bytes through the worker process when copyObjects replicates
 * objects to the other region (server-side CopyObject), against a naive download-and-upload copy of the
 * same objects in the same run. Bytes are the process's read and write syscall bytes (/proc/self/io
 * rchar + wchar: sockets and files), so they include the SDK's requests and responses.
 */
import fs from 'node:fs';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Activities } from '../src/activities/s3';
import type { AwsClients, CopyObjectsResult } from '../src/activities/types';
import {
  activityEnv,
  barChart,
  benchAws,
  benchDeps,
  figure,
  fmt,
  type BenchContext,
  type BenchResult,
} from './support';

function ioBytes(): number {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
  return field('rchar') + field('wchar');
}

async function bucket(aws: AwsClients, region: string, name: string): Promise<string> {
  await aws.s3(region).send(
    new CreateBucketCommand({
      Bucket: name,
      CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as 'eu-west-1' },
    }),
  );
  return name;
}

export async function p4Copy(ctx: BenchContext): Promise<BenchResult> {
  const objects = ctx.quick ? 8 : 16;
  const objectBytes = (ctx.quick ? 2 : 4) * 2 ** 20;
  const [primary, replica] = ctx.stack.aws.regions as [string, string];
  const aws = benchAws(ctx.stack);
  const suffix = Date.now().toString(36);
  const source = await bucket(aws, primary, `bench-p4-src-${suffix}`);
  const copyDest = await bucket(aws, replica, `bench-p4-copy-${suffix}`);
  const naiveDest = await bucket(aws, replica, `bench-p4-naive-${suffix}`);
  const keys = Array.from({ length: objects }, (_, i) => `curated/part-${i}.parquet`);
  const body = Buffer.alloc(objectBytes, 7);
  for (const Key of keys) await aws.s3(primary).send(new PutObjectCommand({ Bucket: source, Key, Body: body }));
  const total = objects * objectBytes;

  ctx.log(`p4: copyObjects of ${objects} × ${fmt(objectBytes / 2 ** 20)} MiB to ${replica}`);
  const s3 = createS3Activities(benchDeps(ctx.stack, aws));
  let io0 = ioBytes();
  let t0 = performance.now();
  const result = (await activityEnv().run(s3.copyObjects, {
    source: { region: primary, bucket: source, keys },
    destinations: [{ region: replica, bucket: copyDest }],
  })) as CopyObjectsResult;
  const copy = { bytes: ioBytes() - io0, seconds: (performance.now() - t0) / 1000, copied: result.copied };

  ctx.log('p4: naive copy (GetObject, then PutObject) of the same objects');
  io0 = ioBytes();
  t0 = performance.now();
  for (const Key of keys) {
    const out = await aws.s3(primary).send(new GetObjectCommand({ Bucket: source, Key }));
    const bytes = await out.Body!.transformToByteArray();
    await aws.s3(replica).send(new PutObjectCommand({ Bucket: naiveDest, Key, Body: bytes }));
  }
  const naive = { bytes: ioBytes() - io0, seconds: (performance.now() - t0) / 1000 };

  const figures = [
    figure({
      name: 'P4 bytes through the worker per byte copied, copyObjects (S3-to-S3)',
      value: copy.bytes / total,
      unit: 'B/B',
      baselineName: 'download-and-upload copy',
      baseline: naive.bytes / total,
      goal: '≈ 0',
    }),
    figure({
      name: 'P4 copy throughput, copyObjects',
      value: total / 2 ** 20 / copy.seconds,
      unit: 'MiB/s',
      baselineName: 'download-and-upload copy',
      baseline: total / 2 ** 20 / naive.seconds,
    }),
  ];
  const markdown = [
    `${objects} objects of ${fmt(objectBytes / 2 ** 20)} MiB (${fmt(total / 2 ** 20)} MiB) in ${primary}, replicated to ${replica}`,
    'by the copyObjects activity (MockActivityEnvironment, the real activity and the gateway), then by a naive',
    'GetObject + PutObject loop in the same process. Bytes through the worker are /proc/self/io rchar + wchar.',
    '',
    '| copy | bytes through the worker | per byte copied | seconds | MiB/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| copyObjects (CopyObject, verified) | ${copy.bytes} | ${fmt(copy.bytes / total, 4)} | ${fmt(copy.seconds, 2)} | ${fmt(total / 2 ** 20 / copy.seconds)} |`,
    `| download and upload | ${naive.bytes} | ${fmt(naive.bytes / total, 4)} | ${fmt(naive.seconds, 2)} | ${fmt(total / 2 ** 20 / naive.seconds)} |`,
    '',
    'MiB through the worker:',
    '',
    barChart([
      { label: 'copyObjects', value: copy.bytes / 2 ** 20, note: fmt(copy.bytes / 2 ** 20, 3) },
      { label: 'download and upload', value: naive.bytes / 2 ** 20 },
    ]),
    '',
    'Not measured yet: the dual-region upload of local files (bytes read from disk, against two sequential uploads).',
  ].join('\n');
  return {
    id: 'p4',
    title: 'P4: copy efficiency (S3-to-S3 replication)',
    setup: `${objects} × ${fmt(objectBytes / 2 ** 20)} MiB`,
    figures,
    markdown,
    raw: { objects, objectBytes, copy, naive },
  };
}
