/**
 * P4, copy efficiency: copyObjects replicating objects to the other region (server-side CopyObject, each copy
 * verified), against what a user would otherwise do in the same run: plain server-side CopyObject calls at the same
 * concurrency, unverified, so the difference is the verification's cost; a download-and-upload copy is shown too.
 * Bytes are the process's read and write syscall bytes (/proc/self/io rchar + wchar: sockets and files), so they
 * include the SDK's requests and responses. And a local file uploaded to both regions at once (src/aws/upload.ts)
 * against one upload to the primary region followed by a server-side copy to the other.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CopyObjectCommand, CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { forEachLimit } from '../src/aws/s3-copy';
import { createS3Activities } from '../src/activities/s3';
import type { CopyObjectsResult } from '../src/workflow-safe/activity-types';
import type { AwsClients } from '../src/aws/clients';
import { uploadFile } from '../src/aws/upload';
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

/** copyObjects' default concurrency (src/activities/s3.ts), given to both copies. */
const COPY_CONCURRENCY = 8;

function ioField(name: 'rchar' | 'wchar'): number {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  return Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
}
const ioBytes = () => ioField('rchar') + ioField('wchar');

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
  const plainDest = await bucket(aws, replica, `bench-p4-plain-${suffix}`);
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
    concurrency: COPY_CONCURRENCY,
  })) as CopyObjectsResult;
  const copy = { bytes: ioBytes() - io0, seconds: (performance.now() - t0) / 1000, copied: result.copied };

  // What a user would otherwise run (`aws s3 cp --recursive` between buckets): CopyObject per object, unverified.
  ctx.log('p4: plain server-side CopyObject of the same objects, at the same concurrency, unverified');
  io0 = ioBytes();
  t0 = performance.now();
  await forEachLimit(keys, COPY_CONCURRENCY, async (Key) => {
    await aws
      .s3(replica)
      .send(new CopyObjectCommand({ Bucket: plainDest, Key, CopySource: `${source}/${encodeURIComponent(Key)}` }));
  });
  const plain = { bytes: ioBytes() - io0, seconds: (performance.now() - t0) / 1000 };

  ctx.log('p4: naive copy (GetObject, then PutObject) of the same objects');
  io0 = ioBytes();
  t0 = performance.now();
  for (const Key of keys) {
    const out = await aws.s3(primary).send(new GetObjectCommand({ Bucket: source, Key }));
    const bytes = await out.Body!.transformToByteArray();
    await aws.s3(replica).send(new PutObjectCommand({ Bucket: naiveDest, Key, Body: bytes }));
  }
  const naive = { bytes: ioBytes() - io0, seconds: (performance.now() - t0) / 1000 };

  // The other half: a local file to both regions, read once, against two sequential single-region uploads.
  const fileBytes = (ctx.quick ? 24 : 64) * 2 ** 20;
  const filePath = path.join(os.tmpdir(), `bench-p4-${suffix}.csv`);
  fs.writeFileSync(filePath, Buffer.alloc(fileBytes, 'a'));
  const upDest = [
    { region: primary, bucket: await bucket(aws, primary, `bench-p4-up1-${suffix}`) },
    { region: replica, bucket: await bucket(aws, replica, `bench-p4-up2-${suffix}`) },
  ];
  ctx.log(`p4: dual-region upload of ${fmt(fileBytes / 2 ** 20)} MiB, then one upload and a server-side copy`);
  // bytesRead is upload.ts's own count; rchar (all reads, sockets included) checks it from outside.
  let u0 = performance.now();
  let r0 = ioField('rchar');
  const w00 = ioField('wchar');
  const dual = await uploadFile(aws, filePath, 'raw/dual.csv', upDest);
  const dualRun = {
    bytesRead: dual.bytesRead,
    rchar: ioField('rchar') - r0,
    wchar: ioField('wchar') - w00,
    seconds: (performance.now() - u0) / 1000,
  };
  // The other way to land a file in both regions: upload it to one, then copy it server-side to the other.
  const wchar = () => ioField('wchar');
  u0 = performance.now();
  r0 = ioField('rchar');
  const w0 = wchar();
  const [first, second] = upDest as [(typeof upDest)[number], (typeof upDest)[number]];
  const once = await uploadFile(aws, filePath, 'raw/then-copied.csv', [first]);
  await aws.s3(second.region).send(
    new CopyObjectCommand({
      Bucket: second.bucket,
      Key: 'raw/then-copied.csv',
      CopySource: `${first.bucket}/raw/then-copied.csv`,
    }),
  );
  const uploadThenCopy = {
    bytesRead: once.bytesRead,
    rchar: ioField('rchar') - r0,
    wchar: wchar() - w0,
    seconds: (performance.now() - u0) / 1000,
  };
  fs.rmSync(filePath, { force: true });
  const uploadMiBps = (run: { seconds: number }) => (2 * fileBytes) / 2 ** 20 / run.seconds;

  const figures = [
    figure({
      name: 'P4 bytes through the worker per byte copied, copyObjects (S3-to-S3, verified)',
      value: copy.bytes / total,
      unit: 'B/B',
      baselineName: 'plain server-side CopyObject, unverified',
      baseline: plain.bytes / total,
      goal: '≈ 0',
    }),
    figure({
      name: "P4 copy throughput, copyObjects (the verification's cost is the gap)",
      value: total / 2 ** 20 / copy.seconds,
      unit: 'MiB/s',
      baselineName: 'plain server-side CopyObject, unverified',
      baseline: total / 2 ** 20 / plain.seconds,
    }),
    figure({
      name: 'P4 dual-region upload: bytes read from disk per byte of the file',
      value: dualRun.bytesRead / fileBytes,
      unit: 'B/B',
      baselineName: 'one upload, then a server-side copy',
      baseline: uploadThenCopy.bytesRead / fileBytes,
      goal: '1',
    }),
    figure({
      name: 'P4 dual-region upload throughput (bytes stored in both regions / s)',
      value: uploadMiBps(dualRun),
      unit: 'MiB/s',
      baselineName: 'one upload, then a server-side copy',
      baseline: uploadMiBps(uploadThenCopy),
    }),
  ];
  const row = (label: string, r: { bytes: number; seconds: number }) =>
    `| ${label} | ${r.bytes} | ${fmt(r.bytes / total, 4)} | ${fmt(r.seconds, 2)} | ${fmt(total / 2 ** 20 / r.seconds)} |`;
  const markdown = [
    `${objects} objects of ${fmt(objectBytes / 2 ** 20)} MiB (${fmt(total / 2 ** 20)} MiB) in ${primary}, replicated to ${replica}`,
    `by the copyObjects activity (MockActivityEnvironment, the real activity and the gateway; ${COPY_CONCURRENCY} at a time, each`,
    'copy verified against its source), then by plain CopyObject calls at the same concurrency (what `aws s3 cp` between',
    'buckets does, unverified), then by a GetObject + PutObject loop, in the same process. Bytes through the worker are',
    "/proc/self/io rchar + wchar. The verification's cost is copyObjects' time and bytes over the plain copy's.",
    '',
    '| copy | bytes through the worker | per byte copied | seconds | MiB/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('copyObjects (CopyObject, verified)', copy),
    row('plain CopyObject (unverified)', plain),
    row('download and upload', naive),
    '',
    `Verification: ${fmt(copy.seconds - plain.seconds, 2)} s and ${copy.bytes - plain.bytes} bytes through the worker more than the plain copy.`,
    '',
    'MiB through the worker:',
    '',
    barChart([
      { label: 'copyObjects', value: copy.bytes / 2 ** 20, note: fmt(copy.bytes / 2 ** 20, 3) },
      { label: 'plain CopyObject', value: plain.bytes / 2 ** 20, note: fmt(plain.bytes / 2 ** 20, 3) },
      { label: 'download and upload', value: naive.bytes / 2 ** 20 },
    ]),
    '',
    `A local file of ${fmt(fileBytes / 2 ** 20)} MiB uploaded to ${primary} and ${replica} by src/aws/upload.ts (16 MiB parts, each read once`,
    `and sent to both regions), against one upload to ${primary} followed by a server-side CopyObject to ${replica}:`,
    'both read the file once; the dual upload sends it twice from the worker, the copy once.',
    '',
    '| upload | bytes read from disk (upload.ts) | rchar (all reads) | wchar (all writes) | seconds | MiB/s stored |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| both regions at once | ${dualRun.bytesRead} | ${dualRun.rchar} | ${dualRun.wchar} | ${fmt(dualRun.seconds, 2)} | ${fmt(uploadMiBps(dualRun))} |`,
    `| one upload, then a server-side copy | ${uploadThenCopy.bytesRead} | ${uploadThenCopy.rchar} | ${uploadThenCopy.wchar} | ${fmt(uploadThenCopy.seconds, 2)} | ${fmt(uploadMiBps(uploadThenCopy))} |`,
  ].join('\n');
  return {
    id: 'p4',
    title: 'P4: copy efficiency (S3-to-S3 replication, dual-region upload)',
    setup: `${objects} × ${fmt(objectBytes / 2 ** 20)} MiB copied; a ${fmt(fileBytes / 2 ** 20)} MiB file uploaded`,
    figures,
    markdown,
    raw: { objects, objectBytes, copy, plain, naive, fileBytes, dual: dualRun, uploadThenCopy },
  };
}
