/**
 * S3 activities: verified server-side copies that resume from heartbeats, deletes, the Glue job's
 * manifest, and the Redshift COPY manifest written from it. The calls are in src/aws/s3-objects.ts and src/aws/s3-copy.ts; here are the Temporal
 * decisions (progress heartbeats, resuming, cancellation, which failure).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { awsErrorName } from '../aws/errors';
import { copyVerified, forEachLimit, sourceObject, type SourceObject } from '../aws/s3-copy';
import {
  DELETE_BATCH_KEYS,
  deleteKeys,
  getObjectText,
  headIfExists,
  listKeys,
  putObjectText,
  type CallOptions,
} from '../aws/s3-objects';
import {
  copyVerificationFailed,
  deleteObjectsFailed,
  invalidInput,
  keyCollision,
  manifestFileMismatch,
  manifestInvalid,
  noSourceObjects,
} from '../workflow-safe/failures';
import { redshiftCopyManifest, s3Uri as uri, type GlueManifest } from '../workflow-safe/layout';
import { failureOf } from './errors';
import type {
  CopyObjectsInput,
  CopyObjectsResult,
  CopyProgress,
  DeleteObjectsInput,
  GluelineActivities,
  ObjectSet,
  WriteCopyManifestInput,
} from '../workflow-safe/activity-types';
import type { AwsClients } from '../aws/clients';
import type { ActivityDeps } from './deps';

/** The shortest time between two progress heartbeats of copyObjects (each carries every verified key). */
const PROGRESS_HEARTBEAT_MS = 1_000;

/** The signal that aborts SDK calls when the activity is cancelled, as the calls' options. */
const cancellable = (): CallOptions => ({ abortSignal: Context.current().cancellationSignal });

/** Runs calls of the AWS layer; an abort after cancellation comes out as the cancellation itself. */
async function s3Calls<T>(calls: () => Promise<T>): Promise<T> {
  try {
    return await calls();
  } catch (err) {
    // An aborted call fails with whatever the SDK makes of the abort: report the cancellation instead.
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) throw signal.reason;
    throw failureOf(err);
  }
}

function describeSet(set: ObjectSet): string {
  return set.keys ? `${set.keys.length} given keys in s3://${set.bucket}/` : uri(set.bucket, set.prefix ?? '');
}

/** Every key of the set: the given keys, or a listing of the prefix. */
async function keysOf(s3: S3Client, set: ObjectSet): Promise<string[]> {
  if (set.keys) return [...new Set(set.keys)];
  const prefix = set.prefix;
  if (prefix === undefined) {
    throw invalidInput(`object set in s3://${set.bucket} names neither keys nor a prefix: give one of them`);
  }
  return (await s3Calls(() => listKeys(s3, { ...set, prefix }, cancellable()))).map((o) => o.key);
}

/** A key's destination key under `rename`. */
function destinationKey(input: CopyObjectsInput, key: string): string {
  if (!input.rename) return key;
  const { stripPrefix, addPrefix } = input.rename;
  if (!key.startsWith(stripPrefix)) {
    throw invalidInput(
      `source key ${key} in s3://${input.source.bucket} does not start with rename.stripPrefix '${stripPrefix}': ` +
        `list only keys under it, or change the prefix`,
    );
  }
  return addPrefix + key.slice(stripPrefix.length);
}

/** The keys to copy, the last keys after the others; refuses an empty set (when required) and key collisions. */
function copyPlan(input: CopyObjectsInput, listed: string[]): { mainKeys: string[]; lastKeys: string[] } {
  const { source } = input;
  const lastKeys = [...new Set(input.lastKeys ?? [])];
  const mainKeys = listed.filter((key) => !lastKeys.includes(key));
  if ((input.requireObjects ?? true) && mainKeys.length === 0) {
    throw noSourceObjects(
      `no objects to copy in ${describeSet(source)} (${source.region})` +
        `${lastKeys.length ? ` besides ${lastKeys.join(', ')}` : ''}: ` +
        `the step expects the previous one to have written them; check it did, and the bucket and prefix`,
      { region: source.region, bucket: source.bucket, prefix: source.prefix, keys: source.keys },
    );
  }
  // Two source keys on one destination key would make the copy depend on timing: refuse.
  const sourceFor = new Map<string, string>();
  for (const key of [...mainKeys, ...lastKeys]) {
    const destKey = destinationKey(input, key);
    const other = sourceFor.get(destKey);
    if (other !== undefined) throw keyCollision(source.bucket, { destinationKey: destKey, sourceKeys: [other, key] });
    sourceFor.set(destKey, key);
  }
  return { mainKeys, lastKeys };
}

/**
 * The copy's progress, resumed from the last attempt's heartbeat: every heartbeat carries the whole
 * progress (never empty details, which would erase it), at most once a second unless forced.
 */
function progressTracker() {
  const previous = Context.current().info.heartbeatDetails as Partial<CopyProgress> | undefined;
  const verified = new Set(Array.isArray(previous?.verified) ? previous.verified : []);
  let bytesDone = typeof previous?.bytesDone === 'number' ? previous.bytesDone : 0;
  let lastBeatMs = 0;
  const beat = (force = false) => {
    const now = Date.now();
    if (!force && now - lastBeatMs < PROGRESS_HEARTBEAT_MS) return;
    lastBeatMs = now;
    Context.current().heartbeat({ verified: [...verified], bytesDone } satisfies CopyProgress);
  };
  const markVerified = (id: string, bytes: number) => {
    verified.add(id);
    bytesDone += bytes;
    beat();
  };
  return { beat, markVerified, isVerified: (id: string) => verified.has(id) };
}

/** One copy to make: a source object to one destination. */
interface CopyItem {
  source: SourceObject;
  dest: { region: string; bucket: string; key: string };
  /** `<region>/<bucket>/<key>`, as in CopyProgress.verified. */
  id: string;
}

/**
 * Copies one item (unless it already matches) and checks the copy; a mismatch, or a copy nothing can compare with
 * its source (no shared checksum, and KMS or SSE-C ETags), is CopyVerificationFailed.
 */
async function copyOne(aws: AwsClients, item: CopyItem, beat: () => void): Promise<'copied' | 'skipped'> {
  const outcome = await s3Calls(() => copyVerified(aws, item.source, item.dest, { ...cancellable(), onPart: beat }));
  if (outcome.done === 'skipped') return 'skipped';
  const { source, dest } = item;
  const what = `copy of ${uri(source.bucket, source.key)} (${source.region}) to ${uri(dest.bucket, dest.key)} (${dest.region})`;
  const details = { source: uri(source.bucket, source.key), destination: item.id };
  if (outcome.mismatch !== undefined) {
    throw copyVerificationFailed(
      `${what} does not match its source: ${outcome.mismatch}. Delete the destination objects and run the step again`,
      { ...details, why: outcome.mismatch },
    );
  }
  if (outcome.unverifiable !== undefined) {
    throw copyVerificationFailed(
      `${what} cannot be verified: ${outcome.unverifiable}. Give the source objects a checksum (S3 adds CRC64NVME to ` +
        'objects written since December 2024; older ones need copying once with a ChecksumAlgorithm) and run the step again',
      { ...details, why: outcome.unverifiable },
    );
  }
  return 'copied';
}

async function copyObjects(deps: ActivityDeps, input: CopyObjectsInput): Promise<CopyObjectsResult> {
  const { aws } = deps;
  const { source } = input;
  const sourceS3 = aws.s3(source.region);
  const { mainKeys, lastKeys } = copyPlan(input, await keysOf(sourceS3, source));
  const allKeys = [...mainKeys, ...lastKeys];
  const progress = progressTracker();
  // One CopyObject of a large object, or thousands of HEADs, can outlast the heartbeat timeout.
  const keepAlive = setInterval(() => progress.beat(), PROGRESS_HEARTBEAT_MS);
  keepAlive.unref();
  const concurrency = Math.max(1, input.concurrency ?? 8);
  const sources = new Map<string, SourceObject>();
  const counts = { copied: 0, skipped: 0 };
  const run = async (item: CopyItem) => {
    if (progress.isVerified(item.id)) {
      counts.skipped++;
      return;
    }
    counts[await copyOne(aws, item, () => progress.beat())]++;
    progress.markVerified(item.id, item.source.fingerprint.size);
  };
  const itemsFor = (keys: string[]): CopyItem[] =>
    keys.flatMap((key) =>
      input.destinations.map((d) => {
        const destKey = destinationKey(input, key);
        const dest = { region: d.region, bucket: d.bucket, key: destKey };
        return { source: sources.get(key)!, dest, id: `${d.region}/${d.bucket}/${destKey}` };
      }),
    );
  try {
    await forEachLimit(allKeys, concurrency, async (key) => {
      sources.set(key, await s3Calls(() => sourceObject(sourceS3, { ...source, key }, cancellable())));
    });
    // The last keys go only once every other object is verified: their presence marks a complete copy.
    await forEachLimit(itemsFor(mainKeys), concurrency, run);
    await forEachLimit(itemsFor(lastKeys), concurrency, run);
  } finally {
    clearInterval(keepAlive);
    // Whatever happened, the next attempt starts from everything verified so far.
    progress.beat(true);
  }
  return {
    objects: allKeys.length,
    bytes: [...sources.values()].reduce((n, o) => n + o.fingerprint.size, 0),
    ...counts,
    verifiedKeys: allKeys.length * input.destinations.length,
  };
}

async function deleteObjects(deps: ActivityDeps, input: DeleteObjectsInput): Promise<{ deleted: number }> {
  const { aws } = deps;
  const s3 = aws.s3(input.region);
  const keep = new Set(input.except ?? []);
  const keys = (await keysOf(s3, input)).filter((key) => !keep.has(key));
  let deleted = 0;
  for (let i = 0; i < keys.length; i += DELETE_BATCH_KEYS) {
    const batch = keys.slice(i, i + DELETE_BATCH_KEYS);
    const errors = await s3Calls(() => deleteKeys(s3, input, batch, cancellable()));
    const first = errors[0];
    if (first) {
      const denied = errors.some((e) => e.Code === 'AccessDenied');
      throw deleteObjectsFailed(
        `DeleteObjects in s3://${input.bucket} (${input.region}) could not delete ${errors.length} of ${batch.length} ` +
          `objects, first ${first.Key}: ${first.Code}: ${first.Message}` +
          (denied ? `: allow the worker's AWS identity s3:DeleteObject on the bucket` : ''),
        first.Code,
        denied,
        { bucket: input.bucket, errors: errors.slice(0, 20) },
      );
    }
    deleted += batch.length;
    Context.current().heartbeat({ deleted });
  }
  return { deleted };
}

async function writeCopyManifest(deps: ActivityDeps, input: WriteCopyManifestInput): Promise<{ entries: number }> {
  const s3 = deps.aws.s3(input.region);
  for (const file of input.files) {
    const where = { region: input.region, bucket: input.bucket, key: file.key };
    const found = await s3Calls(() => headIfExists(s3, where, cancellable()));
    if (found?.ContentLength === file.bytes) continue;
    // Redshift reads Parquet by the byte ranges content_length gives: a manifest naming a file that is not as
    // the Glue job wrote it would fail the refresh or load other rows, so stop here instead.
    throw manifestFileMismatch(
      where,
      (found
        ? `is ${found.ContentLength} bytes, not the ${file.bytes} bytes the Glue job's manifest gives`
        : `does not exist, though the Glue job's manifest lists it`) +
        `: run the batch again from transform (glueline redrive <workflowId> --from transform)`,
    );
  }
  const text = JSON.stringify(redshiftCopyManifest(input.bucket, input.files));
  await s3Calls(() =>
    putObjectText(
      s3,
      { region: input.region, bucket: input.bucket, key: input.key },
      text,
      'application/json',
      cancellable(),
    ),
  );
  return { entries: input.files.length };
}

async function readManifest(
  deps: ActivityDeps,
  input: { region: string; bucket: string; key: string },
): Promise<GlueManifest> {
  const { aws } = deps;
  const text = await s3Calls(async () => {
    try {
      return await getObjectText(aws.s3(input.region), input, cancellable());
    } catch (err) {
      if (awsErrorName(err) !== 'NoSuchKey') throw err;
      throw manifestInvalid(
        input,
        'does not exist: the job writes it last when it succeeds, so it did not finish; see its logs in CloudWatch',
      );
    }
  });
  return parseManifest(input, text);
}

/** The S3 activities, over the clients and settings in `deps`. */
export function createS3Activities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'copyObjects' | 'deleteObjects' | 'readManifest' | 'writeCopyManifest'> {
  return {
    copyObjects: (input) => copyObjects(deps, input),
    deleteObjects: (input) => deleteObjects(deps, input),
    readManifest: (input) => readManifest(deps, input),
    writeCopyManifest: (input) => writeCopyManifest(deps, input),
  };
}

/** The manifest's text as a GlueManifest, or ManifestInvalid naming what is wrong with it. */
function parseManifest(where: { region: string; bucket: string; key: string }, text: string): GlueManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw manifestInvalid(where, `is not JSON (${(err as Error).message}): the job's manifest writer is broken`);
  }
  const parsed = GlueManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'} ${i.message}`)
      .join('; ');
    throw manifestInvalid(where, `does not have the expected shape: ${problems}`);
  }
  return parsed.data;
}

const fileEntry = z.object({ key: z.string().min(1), bytes: z.number().int().nonnegative() });
const count = z.number().int().nonnegative();
/** The manifest's shape, checked field by field so the failure names the field. */
const GlueManifestSchema = z.object({
  batchId: z.string().min(1),
  inputFiles: z.array(z.string()),
  rowsIn: count,
  rowsOut: count,
  rowsRejected: count,
  rowsDropped: z.number().int().optional(),
  outputFiles: z.array(fileEntry),
  quarantineFiles: z.array(fileEntry),
}) satisfies z.ZodType<GlueManifest>;
