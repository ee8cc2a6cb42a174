/**
 * P4, copy efficiency: bytes through the worker process when copyObjects replicates
 * objects to the other region (server-side CopyObject), against a naive download-and-upload copy of the
 * same objects in the same run. Bytes are the process's read and write syscall bytes (/proc/self/io
 * rchar + wchar: sockets and files), so they include the SDK's requests and responses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
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

  // The other half: a local file to both regions, read once, against two sequential single-region uploads.
  const fileBytes = (ctx.quick ? 24 : 64) * 2 ** 20;
  const filePath = path.join(os.tmpdir(), `bench-p4-${suffix}.csv`);
  fs.writeFileSync(filePath, Buffer.alloc(fileBytes, 'a'));
  const upDest = [
    { region: primary, bucket: await bucket(aws, primary, `bench-p4-up1-${suffix}`) },
    { region: replica, bucket: await bucket(aws, replica, `bench-p4-up2-${suffix}`) },
  ];
  ctx.log(`p4: dual-region upload of ${fmt(fileBytes / 2 ** 20)} MiB, then two sequential uploads`);
  // bytesRead is upload.ts's own count; rchar (all reads, sockets included) checks it from outside.
  let u0 = performance.now();
  let r0 = ioField('rchar');
  const dual = await uploadFile(aws, filePath, 'raw/dual.csv', upDest);
  const dualRun = { bytesRead: dual.bytesRead, rchar: ioField('rchar') - r0, seconds: (performance.now() - u0) / 1000 };
  u0 = performance.now();
  r0 = ioField('rchar');
  let sequentialRead = 0;
  for (const d of upDest) sequentialRead += (await uploadFile(aws, filePath, 'raw/sequential.csv', [d])).bytesRead;
  const sequentialRun = {
    bytesRead: sequentialRead,
    rchar: ioField('rchar') - r0,
    seconds: (performance.now() - u0) / 1000,
  };
  fs.rmSync(filePath, { force: true });
  const uploadMiBps = (run: { seconds: number }) => (2 * fileBytes) / 2 ** 20 / run.seconds;

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
    figure({
      name: 'P4 dual-region upload: bytes read from disk per byte of the file',
      value: dualRun.bytesRead / fileBytes,
      unit: 'B/B',
      baselineName: 'two sequential single-region uploads',
      baseline: sequentialRun.bytesRead / fileBytes,
      goal: '1',
    }),
    figure({
      name: 'P4 dual-region upload throughput (bytes stored in both regions / s)',
      value: uploadMiBps(dualRun),
      unit: 'MiB/s',
      baselineName: 'two sequential single-region uploads',
      baseline: uploadMiBps(sequentialRun),
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
    `A local file of ${fmt(fileBytes / 2 ** 20)} MiB uploaded to ${primary} and ${replica} by src/aws/upload.ts (16 MiB parts, each read once`,
    'and sent to both regions), against two sequential single-region uploads of the same file:',
    '',
    '| upload | bytes read from disk (upload.ts) | rchar (all reads) | seconds | MiB/s stored |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| both regions at once | ${dualRun.bytesRead} | ${dualRun.rchar} | ${fmt(dualRun.seconds, 2)} | ${fmt(uploadMiBps(dualRun))} |`,
    `| one region, then the other | ${sequentialRun.bytesRead} | ${sequentialRun.rchar} | ${fmt(sequentialRun.seconds, 2)} | ${fmt(uploadMiBps(sequentialRun))} |`,
  ].join('\n');
  return {
    id: 'p4',
    title: 'P4: copy efficiency (S3-to-S3 replication, dual-region upload)',
    setup: `${objects} × ${fmt(objectBytes / 2 ** 20)} MiB copied; a ${fmt(fileBytes / 2 ** 20)} MiB file uploaded`,
    figures,
    markdown,
    raw: { objects, objectBytes, copy, naive, fileBytes, dual: dualRun, sequential: sequentialRun },
  };
}
