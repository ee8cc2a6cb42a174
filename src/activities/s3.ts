/**
 * S3 activities: verified server-side copies that resume from heartbeats, deletes, the Glue job's
 * manifest, and the Redshift COPY manifest written from it. The calls are in src/aws/s3-objects.ts and src/aws/s3-copy.ts; here are the Temporal
 * decisions (progress heartbeats, resuming, cancellation, which failure).
 */
import { Context } from '@temporalio/activity';
import { copyVerified, forEachLimit, sourceObject, type SourceObject } from '../aws/s3-copy';
import { DELETE_BATCH_KEYS, deleteKeys, headIfExists, listKeys, putObjectText } from '../aws/s3-objects';
import {
  copyVerificationFailed,
  deleteObjectsFailed,
  invalidInput,
  keyCollision,
  manifestFileMismatch,
  noSourceObjects,
} from '../workflow-safe/failures';
import { redshiftCopyManifest, s3Uri as uri } from '../workflow-safe/layout';
import { objectKey } from '../workflow-safe/run-input';
import { planChecksum, progressDetails, resumedItems } from './copy-progress';
import { manifestOutputFiles, readManifest, readManifestSummary } from './glue-manifest';
import { keyListKeys } from './key-list';
import { cancellable, s3Calls } from './s3-calls';
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

/** The shortest time between two progress heartbeats of copyObjects. */
const PROGRESS_HEARTBEAT_MS = 1_000;

function describeSet(set: ObjectSet): string {
  if (set.manifestFiles)
    return `the ${set.manifestFiles.count} output files of ${uri(set.bucket, set.manifestFiles.key)}`;
  if (set.keyList) return `the ${set.keyList.count} keys of key list ${uri(set.keyList.bucket, set.keyList.key)}`;
  return set.keys ? `${set.keys.length} given keys in s3://${set.bucket}/` : uri(set.bucket, set.prefix ?? '');
}

/** Every key of the set: the given keys and the files a manifest lists, or a listing of the prefix. */
async function keysOf(deps: ActivityDeps, set: ObjectSet): Promise<string[]> {
  if (set.manifestFiles) {
    const listed = (await manifestOutputFiles(deps, set.manifestFiles)).map((f) => f.key);
    return [...new Set([...(set.keys ?? []), ...listed])];
  }
  if (set.keys) return [...new Set(set.keys)];
  if (set.keyList) return [...new Set(await keyListKeys(deps, set.keyList))];
  const prefix = set.prefix;
  if (prefix === undefined) {
    throw invalidInput(`object set in s3://${set.bucket} names neither keys nor a prefix: give one of them`);
  }
  const s3 = deps.aws.s3(set.region);
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

/**
 * A batch's keys the job could not read as they are: a key listed under the batch's prefix gets the same check as
 * a key the run names. Hadoop resolves a `..` segment (`x/../y.csv` is read as `y.csv`, another object or none), so
 * such a key would load the wrong rows; refused before anything is copied.
 */
function refuseUnusableKeys(bucket: string, keys: string[]): void {
  for (const key of keys) {
    const parsed = objectKey.safeParse(key);
    if (!parsed.success) {
      throw invalidInput(
        `object ${uri(bucket, key)} in the batch's source ${parsed.error.issues[0]?.message ?? 'is not usable'}: ` +
          `the Glue job would not read it as it is. Rename it, or move it out of the batch's prefix, then start ` +
          `the batch again`,
        { bucket, key },
      );
    }
  }
}

/** The keys to copy, the last keys after the others; refuses an empty set (when required) and key collisions. */
function copyPlan(input: CopyObjectsInput, listed: string[]): { mainKeys: string[]; lastKeys: string[] } {
  const { source } = input;
  const lastKeys = [...new Set(input.lastKeys ?? [])];
  const mainKeys = listed.filter((key) => !lastKeys.includes(key));
  if ((input.requireObjects ?? true) && mainKeys.length === 0) {
    const where = `${describeSet(source)} (${source.region})${lastKeys.length ? ` besides ${lastKeys.join(', ')}` : ''}`;
    throw noSourceObjects(
      input.sourceIs === 'batch'
        ? `no objects in the batch's source ${where}: the batch's prefix is empty, so there is nothing to stage. ` +
            `Check that the prefix the batch was started with (--prefix of glueline run or schedule, or the S3 ` +
            `event's folder) names the folder its CSVs are in, and that their upload finished; then start the batch again`
        : `no objects to copy in ${where}: the step expects an earlier step to have written them; ` +
            `check it did, and the bucket and prefix`,
      { region: source.region, bucket: source.bucket, prefix: source.prefix, keys: source.keys },
    );
  }
  if (input.sourceIs === 'batch') refuseUnusableKeys(source.bucket, mainKeys);
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
 * The copy's progress over its planned items, resumed from the last attempt's heartbeat: every heartbeat carries
 * the whole progress as a bitmap (never empty details, which would erase it), at most once a second unless forced.
 */
function progressTracker(ids: readonly string[]) {
  const plan = planChecksum(ids);
  const previous = Context.current().info.heartbeatDetails as Partial<CopyProgress> | undefined;
  const verified = resumedItems(previous, ids, plan);
  let bytesDone = typeof previous?.bytesDone === 'number' ? previous.bytesDone : 0;
  let lastBeatMs = 0;
  const beat = (force = false) => {
    const now = Date.now();
    if (!force && now - lastBeatMs < PROGRESS_HEARTBEAT_MS) return;
    lastBeatMs = now;
    Context.current().heartbeat(progressDetails(ids.length, plan, verified, bytesDone));
  };
  const markVerified = (index: number, bytes: number) => {
    verified.add(index);
    bytesDone += bytes;
    beat();
  };
  return { beat, markVerified, isVerified: (index: number) => verified.has(index) };
}

/** One copy to make: a source object to one destination. */
interface CopyItem {
  source: SourceObject;
  dest: { region: string; bucket: string; key: string };
  /** `<region>/<bucket>/<key>`. */
  id: string;
  /** Its place in the copy's plan (CopyProgress's bitmap). */
  index: number;
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
  const { mainKeys, lastKeys } = copyPlan(input, await keysOf(deps, source));
  const allKeys = [...mainKeys, ...lastKeys];
  const sources = new Map<string, SourceObject>();
  // Every destination of a key, keys in plan order: the order the progress bitmap counts in.
  const planned = allKeys.flatMap((key) =>
    input.destinations.map((d) => {
      const dest = { region: d.region, bucket: d.bucket, key: destinationKey(input, key) };
      return { key, dest, id: `${d.region}/${d.bucket}/${dest.key}` };
    }),
  );
  const progress = progressTracker(planned.map((p) => p.id));
  // One CopyObject of a large object, or thousands of HEADs, can outlast the heartbeat timeout.
  const keepAlive = setInterval(() => progress.beat(), PROGRESS_HEARTBEAT_MS);
  keepAlive.unref();
  const concurrency = Math.max(1, input.concurrency ?? 8);
  const counts = { copied: 0, skipped: 0 };
  const run = async (item: CopyItem) => {
    if (progress.isVerified(item.index)) {
      counts.skipped++;
      return;
    }
    counts[await copyOne(aws, item, () => progress.beat())]++;
    progress.markVerified(item.index, item.source.fingerprint.size);
  };
  const itemsFor = (keys: string[]): CopyItem[] => {
    const wanted = new Set(keys);
    return planned.flatMap((p, index) =>
      wanted.has(p.key) ? [{ source: sources.get(p.key)!, dest: p.dest, id: p.id, index }] : [],
    );
  };
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
  const kept = input.exceptManifestFiles ? await manifestOutputFiles(deps, input.exceptManifestFiles) : [];
  const keep = new Set([...(input.except ?? []), ...kept.map((f) => f.key)]);
  const keys = (await keysOf(deps, input)).filter((key) => !keep.has(key));
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
  const files = input.manifestFiles ? await manifestOutputFiles(deps, input.manifestFiles) : (input.files ?? []);
  for (const file of files) {
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
  const text = JSON.stringify(redshiftCopyManifest(input.bucket, files));
  await s3Calls(() =>
    putObjectText(
      s3,
      { region: input.region, bucket: input.bucket, key: input.key },
      text,
      'application/json',
      cancellable(),
    ),
  );
  return { entries: files.length };
}

/** The S3 activities, over the clients and settings in `deps`. */
export function createS3Activities(
  deps: ActivityDeps,
): Pick<
  GluelineActivities,
  'copyObjects' | 'deleteObjects' | 'readManifest' | 'readManifestSummary' | 'writeCopyManifest'
> {
  return {
    copyObjects: (input) => copyObjects(deps, input),
    deleteObjects: (input) => deleteObjects(deps, input),
    readManifest: (input) => readManifest(deps, input),
    readManifestSummary: (input) => readManifestSummary(deps, input),
    writeCopyManifest: (input) => writeCopyManifest(deps, input),
  };
}
