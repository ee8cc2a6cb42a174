/**
 * The flags that name a batch (--batch-id with --prefix, --key or --files) and a run's step range
 * (--start-at, --stop-after, --skip), validated into the spec's own types. Shared by run, step and schedule.
 */
import path from 'node:path';
import { uploadFiles } from '../aws/upload';
import { putObjectText } from '../aws/s3-objects';
import { KEY_LIST_BOUND, keyListOf } from '../workflow-safe/key-list';
import { primaryRegion } from '../workflow-safe/layout';
import { type PipelineSpec } from '../workflow-safe/spec';
import { Batch, RunOptions } from '../workflow-safe/run-input';
import { parseOrExplain } from '../workflow-safe/validation';
import { asUsageError, awsClients, UsageError, type CommandIo } from './common';

/** What batchFromFlags found: the batch, and what must be written to S3 before a run of it starts. */
export interface BatchFromFlags {
  batch: Batch;
  /** Local files to upload, to the source bucket. */
  uploads: { path: string; key: string }[];
  /** The key-list object the batch names (more keys than KEY_LIST_BOUND), to write. */
  keyList?: { region: string; bucket: string; key: string; text: string };
}

/** The batch the flags name, validated; local files are returned for upload. */
export function batchFromFlags(
  spec: PipelineSpec,
  values: {
    'batch-id'?: string;
    prefix?: string;
    key?: string[];
    files?: string[];
    'source-bucket'?: string;
    'source-region'?: string;
  },
  positionals: string[],
): BatchFromFlags {
  if (!values['batch-id']) throw new UsageError('--batch-id is required: name the batch, e.g. --batch-id 2026-11-26');
  const chosen = (['prefix', 'key', 'files'] as const).filter((f) => values[f] !== undefined);
  if (chosen.length !== 1)
    throw new UsageError(
      `name the batch's data with exactly one of --prefix, --key and --files (got ${chosen.length ? chosen.map((c) => `--${c}`).join(', ') : 'none'})`,
    );
  if (positionals.length && chosen[0] === 'prefix')
    throw new UsageError(`unexpected argument(s) ${positionals.join(' ')}: --prefix takes one prefix`);
  const bucket = values['source-bucket'] ?? primaryRegion(spec).rawBucket;
  // A landing bucket outside the primary region is read through its own region's endpoint (S3 answers 301 otherwise).
  const where = values['source-region'] ? { region: values['source-region'] } : {};
  const batchId = values['batch-id'];
  let uploads: { path: string; key: string }[] = [];
  let source: Record<string, unknown>;
  if (values.prefix !== undefined) source = { bucket, ...where, prefix: values.prefix };
  else if (values.key) source = { bucket, ...where, keys: [...values.key, ...positionals] };
  else {
    const files = [...values.files!, ...positionals];
    uploads = files.map((f) => ({ path: f, key: `landing/${batchId}/${path.basename(f)}` }));
    const names = new Set(uploads.map((u) => u.key));
    if (names.size !== uploads.length)
      throw new UsageError('--files: two files have the same name; each file lands as landing/<batch id>/<file name>');
    source = { bucket, ...where, keys: uploads.map((u) => u.key) };
  }
  let batch: Batch;
  try {
    batch = parseOrExplain(Batch, { id: batchId, source }, 'batch');
  } catch (err) {
    asUsageError(err);
  }
  const keys = batch.source.keys;
  if (!keys || keys.length <= KEY_LIST_BOUND) return { batch, uploads };
  // Checked above key by key; the input names the list instead, so it stays small however long the list is.
  const primary = primaryRegion(spec);
  const { ref, text } = keyListOf(
    { region: primary.region, bucket: primary.rawBucket, specName: spec.name, batchId: batch.id },
    keys,
  );
  const { bucket: sourceBucket, region: sourceRegion } = batch.source;
  const listed = { bucket: sourceBucket, ...(sourceRegion ? { region: sourceRegion } : {}), keyList: ref };
  return { batch: { ...batch, source: listed }, uploads, keyList: { ...ref, text } };
}

/** Uploads the batch's local files and writes its key-list object, before the run that reads them starts. */
export async function writeBatchObjects(spec: PipelineSpec, found: BatchFromFlags, io: CommandIo): Promise<void> {
  const { batch, uploads, keyList } = found;
  if (!uploads.length && !keyList) return;
  const aws = awsClients();
  const region = primaryRegion(spec).region;
  if (uploads.length) {
    io.out(`uploading ${uploads.length} file(s) to s3://${batch.source.bucket}/landing/${batch.id}/`);
    const results = await uploadFiles(aws, uploads, [{ region, bucket: batch.source.bucket }]);
    io.out(`  uploaded ${results.reduce((n, r) => n + r.bytes, 0)} bytes`);
  }
  if (keyList) {
    const { text, ...where } = keyList;
    await putObjectText(aws.s3(where.region), where, text, 'application/json');
    io.out(
      `wrote the batch's ${batch.source.keyList!.count} keys to s3://${where.bucket}/${where.key} (the run reads them there)`,
    );
  }
}

/** --start-at, --stop-after and --skip, validated. */
export function runOptionsFromFlags(values: {
  'start-at'?: string;
  'stop-after'?: string;
  skip?: string[];
}): RunOptions | undefined {
  const raw = {
    ...(values['start-at'] ? { startAt: values['start-at'] } : {}),
    ...(values['stop-after'] ? { stopAfter: values['stop-after'] } : {}),
    ...(values.skip ? { skip: values.skip } : {}),
  };
  if (Object.keys(raw).length === 0) return undefined;
  try {
    return parseOrExplain(RunOptions, raw, 'options');
  } catch (err) {
    asUsageError(err, {
      'options.startAt': '--start-at',
      'options.stopAfter': '--stop-after',
      'options.skip': '--skip',
    });
  }
}
