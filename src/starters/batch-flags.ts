/**
 * The flags that name a batch (--batch-id with --prefix, --key or --files) and a run's step range
 * (--start-at, --stop-after, --skip), validated into the spec's own types. Shared by run, step and schedule.
 */
import path from 'node:path';
import { primaryRegion } from '../workflow-safe/layout';
import { type PipelineSpec } from '../workflow-safe/spec';
import { Batch, RunOptions } from '../workflow-safe/run-input';
import { parseOrExplain } from '../workflow-safe/validation';
import { asUsageError, UsageError } from './common';

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
): { batch: Batch; uploads: { path: string; key: string }[] } {
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
  return { batch, uploads };
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
