/**
 * S3 activities: verified server-side copies that resume from heartbeats, deletes, the Glue job's
 * manifest, and the Redshift COPY manifest written from it.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType } from '../workflow-safe/failures';
import { redshiftCopyManifest, type GlueManifest } from '../workflow-safe/layout';
import { awsCall, awsErrorName, awsFailure, invalidInput, isTemporalFailure, type AwsTarget } from './errors';
import type {
  CopyObjectsInput,
  CopyObjectsResult,
  CopyProgress,
  DeleteObjectsInput,
  GluelineActivities,
  ObjectSet,
  WriteCopyManifestInput,
} from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The largest object one CopyObject may copy; larger ones take UploadPartCopy. */
export const MAX_SINGLE_COPY_BYTES = 5 * GiB;
export const MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_BYTES = 5 * GiB;
export const MAX_PARTS = 10_000;
/** The largest object S3 stores. */
export const MAX_OBJECT_BYTES = 5 * 1024 * GiB;
/** Part size for multipart copies when the source's own layout is unknown or unusable. */
export const DEFAULT_COPY_PART_BYTES = 256 * MiB;
/** The shortest time between two progress heartbeats of copyObjects (each carries every verified key). */
const PROGRESS_HEARTBEAT_MS = 1_000;
/** Parts of one object copied at once. */
const PART_CONCURRENCY = 4;

/** One part of a multipart copy: bytes `first` to `last`, inclusive (as in `CopySourceRange`). */
export interface CopyPart {
  partNumber: number;
  first: number;
  last: number;
}

/**
 * Splits an object of `sizeBytes` into parts for UploadPartCopy. With `partSizeBytes` (the source's
 * own part size) the copy reproduces the source's multipart ETag; a size S3 would refuse, or none,
 * falls back to {@link DEFAULT_COPY_PART_BYTES}, grown until the parts fit in {@link MAX_PARTS}.
 */
export function planCopyParts(sizeBytes: number, partSizeBytes?: number): CopyPart[] {
  if (!Number.isInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > MAX_OBJECT_BYTES) {
    throw new RangeError(`cannot copy ${sizeBytes} bytes in parts: S3 objects hold 0 to ${MAX_OBJECT_BYTES} bytes`);
  }
  const usable = (size: number | undefined): size is number =>
    size !== undefined &&
    Number.isInteger(size) &&
    size <= MAX_PART_BYTES &&
    (size >= MIN_PART_BYTES || size >= sizeBytes) &&
    size > 0 &&
    Math.ceil(sizeBytes / size) <= MAX_PARTS;
  let partSize = partSizeBytes;
  if (!usable(partSize)) partSize = Math.max(DEFAULT_COPY_PART_BYTES, Math.ceil(sizeBytes / MAX_PARTS / MiB) * MiB);
  if (sizeBytes === 0) return [{ partNumber: 1, first: 0, last: -1 }];
  const parts: CopyPart[] = [];
  for (let first = 0, n = 1; first < sizeBytes; first += partSize, n++) {
    parts.push({ partNumber: n, first, last: Math.min(first + partSize, sizeBytes) - 1 });
  }
  return parts;
}

/** What we compare of an object: its size, ETag and any checksums S3 reports. */
export interface ObjectFingerprint {
  size: number;
  etag: string;
  checksums: Partial<Record<ChecksumField, string>>;
}

const CHECKSUM_FIELDS = [
  'ChecksumCRC64NVME',
  'ChecksumCRC32C',
  'ChecksumCRC32',
  'ChecksumSHA256',
  'ChecksumSHA1',
] as const;
type ChecksumField = (typeof CHECKSUM_FIELDS)[number];

function fingerprintOf(head: HeadObjectCommandOutput): ObjectFingerprint {
  const checksums: ObjectFingerprint['checksums'] = {};
  for (const field of CHECKSUM_FIELDS) {
    const value = head[field];
    if (value) checksums[field] = value;
  }
  return { size: head.ContentLength ?? 0, etag: head.ETag ?? '', checksums };
}

const isComposite = (value: string) => /-\d+"?$/.test(value);

const CHECKSUM_ALGORITHM = {
  ChecksumCRC64NVME: 'CRC64NVME',
  ChecksumCRC32C: 'CRC32C',
  ChecksumCRC32: 'CRC32',
  ChecksumSHA256: 'SHA256',
  ChecksumSHA1: 'SHA1',
} as const satisfies Record<ChecksumField, ChecksumAlgorithm>;

/** The algorithm of the source's first full-object checksum, for the copy to compute the same one. */
function checksumAlgorithmOf(fingerprint: ObjectFingerprint): ChecksumAlgorithm | undefined {
  const field = CHECKSUM_FIELDS.find(
    (f) => fingerprint.checksums[f] !== undefined && !isComposite(fingerprint.checksums[f]),
  );
  return field === undefined ? undefined : CHECKSUM_ALGORITHM[field];
}

/**
 * Why `dest` is not a copy of `source`, or undefined when it is: sizes must match, then a checksum
 * both report (full-object ones decide either way), else the ETag.
 */
export function mismatch(source: ObjectFingerprint, dest: ObjectFingerprint): string | undefined {
  if (source.size !== dest.size) return `size ${dest.size} bytes, source ${source.size} bytes`;
  for (const field of CHECKSUM_FIELDS) {
    const a = source.checksums[field];
    const b = dest.checksums[field];
    if (a === undefined || b === undefined) continue;
    if (a === b) return undefined;
    if (!isComposite(a) && !isComposite(b)) return `${field} ${b}, source ${a}`;
  }
  return source.etag === dest.etag ? undefined : `ETag ${dest.etag}, source ${source.etag}`;
}

/** `CopySource` for a key: bucket and URL-encoded key, '/' kept. */
const copySource = (bucket: string, key: string) =>
  `${bucket}/${key
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/')}`;

const uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** The signal that aborts SDK calls when the activity is cancelled. */
const abortSignal = () => Context.current().cancellationSignal;

/** Runs `fn` over `items`, at most `limit` at once; after the first error starts no more, lets running ones end, throws it. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const runner = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, runner));
  if (failure) throw failure.err;
}

/** Turns an SDK abort after cancellation into the cancellation itself. */
async function unlessCancelled<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    // An aborted call fails with whatever the SDK makes of the abort: report the cancellation instead.
    const signal = abortSignal();
    if (signal.aborted) throw signal.reason;
    throw err;
  }
}

function describeSet(set: ObjectSet): string {
  return set.keys ? `${set.keys.length} given keys in s3://${set.bucket}/` : uri(set.bucket, set.prefix ?? '');
}

/** Every key of the set: the given keys, or a paged listing of the prefix (folder markers left out). */
async function listKeys(s3: S3Client, set: ObjectSet): Promise<{ key: string; size?: number }[]> {
  if (set.keys) return [...new Set(set.keys)].map((key) => ({ key }));
  if (set.prefix === undefined) {
    throw invalidInput(`object set in s3://${set.bucket} names neither keys nor a prefix: give one of them`);
  }
  const found: { key: string; size?: number }[] = [];
  let token: string | undefined;
  do {
    const page = await unlessCancelled(() =>
      awsCall(
        {
          operation: 'ListObjectsV2',
          resource: `bucket ${set.bucket}`,
          region: set.region,
          notFoundFix: 'create the bucket (npm run provision) or fix the bucket name in the spec',
        },
        () =>
          s3.send(new ListObjectsV2Command({ Bucket: set.bucket, Prefix: set.prefix, ContinuationToken: token }), {
            abortSignal: abortSignal(),
          }),
      ),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key && !o.Key.endsWith('/')) found.push({ key: o.Key, size: o.Size });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

const headTarget = (region: string, bucket: string, key: string): AwsTarget => ({
  operation: 'HeadObject',
  resource: `object ${uri(bucket, key)}`,
  bucket,
  region,
  notFoundFix: 'check the bucket and key, or run the step that writes it first',
});

async function head(s3: S3Client, region: string, bucket: string, key: string, partNumber?: number) {
  return unlessCancelled(() =>
    awsCall(headTarget(region, bucket, key), () =>
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', PartNumber: partNumber }), {
        abortSignal: abortSignal(),
      }),
    ),
  );
}

/** HEAD that answers undefined when the object is not there (a destination not yet written). */
async function headIfExists(s3: S3Client, region: string, bucket: string, key: string) {
  try {
    return await unlessCancelled(() =>
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), {
        abortSignal: abortSignal(),
      }),
    );
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'NotFound' || name === 'NoSuchKey') return undefined;
    if (isTemporalFailure(err)) throw err;
    throw awsFailure(err, headTarget(region, bucket, key));
  }
}

interface SourceObject {
  key: string;
  head: HeadObjectCommandOutput;
  fingerprint: ObjectFingerprint;
}

interface CopyItem {
  source: SourceObject;
  dest: { region: string; bucket: string; key: string };
  /** `<region>/<bucket>/<key>`, as in CopyProgress.verified. */
  id: string;
}

export function createS3Activities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'copyObjects' | 'deleteObjects' | 'readManifest' | 'writeCopyManifest'> {
  const { aws } = deps;

  /** The source's part size when it was uploaded in parts, so a multipart copy reproduces its ETag. */
  async function sourcePartSize(region: string, bucket: string, object: SourceObject): Promise<number | undefined> {
    if (!isComposite(object.fingerprint.etag)) return undefined;
    const first = await head(aws.s3(region), region, bucket, object.key, 1);
    const partSize = first.ContentLength;
    const count = first.PartsCount;
    if (partSize === undefined || count === undefined) return undefined;
    return Math.ceil(object.fingerprint.size / partSize) === count ? partSize : undefined;
  }

  async function multipartCopy(
    item: CopyItem,
    sourceRegion: string,
    sourceBucket: string,
    beat: () => void,
  ): Promise<void> {
    const s3 = aws.s3(item.dest.region);
    const { head: src } = item.source;
    const target: AwsTarget = {
      operation: 'UploadPartCopy',
      resource: `object ${uri(item.dest.bucket, item.dest.key)}`,
      bucket: item.dest.bucket,
      region: item.dest.region,
      notFoundFix: 'create the destination bucket (npm run provision) or fix its name in the spec',
    };
    const parts = planCopyParts(
      item.source.fingerprint.size,
      await sourcePartSize(sourceRegion, sourceBucket, item.source),
    );
    const { UploadId } = await unlessCancelled(() =>
      awsCall({ ...target, operation: 'CreateMultipartUpload' }, () =>
        s3.send(
          new CreateMultipartUploadCommand({
            Bucket: item.dest.bucket,
            Key: item.dest.key,
            ContentType: src.ContentType,
            ContentEncoding: src.ContentEncoding,
            ContentDisposition: src.ContentDisposition,
            CacheControl: src.CacheControl,
            Metadata: src.Metadata,
          }),
          { abortSignal: abortSignal() },
        ),
      ),
    );
    try {
      const etags = new Map<number, string>();
      await forEachLimit(parts, PART_CONCURRENCY, async (part) => {
        const out = await unlessCancelled(() =>
          awsCall(target, () =>
            s3.send(
              new UploadPartCopyCommand({
                Bucket: item.dest.bucket,
                Key: item.dest.key,
                UploadId,
                PartNumber: part.partNumber,
                CopySource: copySource(sourceBucket, item.source.key),
                CopySourceIfMatch: item.source.fingerprint.etag,
                CopySourceRange: part.last >= part.first ? `bytes=${part.first}-${part.last}` : undefined,
              }),
              { abortSignal: abortSignal() },
            ),
          ),
        );
        etags.set(part.partNumber, out.CopyPartResult?.ETag ?? '');
        beat();
      });
      await unlessCancelled(() =>
        awsCall({ ...target, operation: 'CompleteMultipartUpload' }, () =>
          s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: item.dest.bucket,
              Key: item.dest.key,
              UploadId,
              MultipartUpload: {
                Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: etags.get(p.partNumber) })),
              },
            }),
            { abortSignal: abortSignal() },
          ),
        ),
      );
    } catch (err) {
      // Best effort: a multipart upload left open costs storage until a lifecycle rule removes it.
      await s3
        .send(new AbortMultipartUploadCommand({ Bucket: item.dest.bucket, Key: item.dest.key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  async function copyOne(item: CopyItem, source: ObjectSet, beat: () => void): Promise<'copied' | 'skipped'> {
    const s3 = aws.s3(item.dest.region);
    const existing = await headIfExists(s3, item.dest.region, item.dest.bucket, item.dest.key);
    if (existing && mismatch(item.source.fingerprint, fingerprintOf(existing)) === undefined) return 'skipped';
    const { fingerprint } = item.source;
    if (fingerprint.size > MAX_SINGLE_COPY_BYTES || isComposite(fingerprint.etag)) {
      await multipartCopy(item, source.region, source.bucket, beat);
    } else {
      await unlessCancelled(() =>
        awsCall(
          {
            operation: 'CopyObject',
            resource: `object ${uri(item.dest.bucket, item.dest.key)} (from ${uri(source.bucket, item.source.key)} in ${source.region})`,
            bucket: item.dest.bucket,
            region: item.dest.region,
            notFoundFix: 'create the destination bucket (npm run provision) or fix its name in the spec',
          },
          () =>
            s3.send(
              new CopyObjectCommand({
                Bucket: item.dest.bucket,
                Key: item.dest.key,
                CopySource: copySource(source.bucket, item.source.key),
                CopySourceIfMatch: fingerprint.etag,
                MetadataDirective: 'COPY',
                // Ask for the source's checksum algorithm, so the copy carries a checksum to compare: ETags
                // alone differ for SSE-KMS objects even when the bytes are the same.
                ChecksumAlgorithm: checksumAlgorithmOf(fingerprint),
              }),
              { abortSignal: abortSignal() },
            ),
        ),
      );
    }
    const written = await head(s3, item.dest.region, item.dest.bucket, item.dest.key);
    const why = mismatch(fingerprint, fingerprintOf(written));
    if (why !== undefined) {
      throw ApplicationFailure.create({
        type: FailureType.CopyVerificationFailed,
        nonRetryable: true,
        message:
          `copy of ${uri(source.bucket, item.source.key)} (${source.region}) to ${uri(item.dest.bucket, item.dest.key)} ` +
          `(${item.dest.region}) does not match its source: ${why}. Delete the destination objects and run the step again`,
        details: [{ source: uri(source.bucket, item.source.key), destination: item.id, why }],
      });
    }
    return 'copied';
  }

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

  return {
    async copyObjects(input: CopyObjectsInput): Promise<CopyObjectsResult> {
      const { source } = input;
      const sourceS3 = aws.s3(source.region);
      const lastKeys = [...new Set(input.lastKeys ?? [])];
      const listed = await listKeys(sourceS3, source);
      const mainKeys = listed.map((o) => o.key).filter((key) => !lastKeys.includes(key));
      if ((input.requireObjects ?? true) && mainKeys.length === 0) {
        throw ApplicationFailure.create({
          type: FailureType.NoSourceObjects,
          nonRetryable: true,
          message:
            `no objects to copy in ${describeSet(source)} (${source.region})` +
            `${lastKeys.length ? ` besides ${lastKeys.join(', ')}` : ''}: ` +
            `the step expects the previous one to have written them; check it did, and the bucket and prefix`,
          details: [{ region: source.region, bucket: source.bucket, prefix: source.prefix, keys: source.keys }],
        });
      }
      const allKeys = [...mainKeys, ...lastKeys];

      // Two source keys on one destination key would make the copy depend on timing: refuse.
      const bySourceFor = new Map<string, string>();
      for (const key of allKeys) {
        const destKey = destinationKey(input, key);
        const other = bySourceFor.get(destKey);
        if (other !== undefined) {
          throw ApplicationFailure.create({
            type: FailureType.KeyCollision,
            nonRetryable: true,
            message:
              `source keys ${other} and ${key} in s3://${source.bucket} would both be copied to ${destKey}: ` +
              `rename one of them or change rename.stripPrefix/addPrefix`,
            details: [{ destinationKey: destKey, sourceKeys: [other, key] }],
          });
        }
        bySourceFor.set(destKey, key);
      }

      const previous = Context.current().info.heartbeatDetails as Partial<CopyProgress> | undefined;
      const verified = new Set(Array.isArray(previous?.verified) ? previous.verified : []);
      let bytesDone = typeof previous?.bytesDone === 'number' ? previous.bytesDone : 0;
      const progress = (): CopyProgress => ({ verified: [...verified], bytesDone });
      // Every heartbeat carries the whole progress (never empty details, which would erase it), at most once a second.
      let lastBeatMs = 0;
      const beat = (force: boolean) => {
        const now = Date.now();
        if (!force && now - lastBeatMs < PROGRESS_HEARTBEAT_MS) return;
        lastBeatMs = now;
        Context.current().heartbeat(progress());
      };
      // One CopyObject of a large object, or thousands of HEADs, can outlast the heartbeat timeout.
      const keepAlive = setInterval(() => beat(false), PROGRESS_HEARTBEAT_MS);
      keepAlive.unref();

      const concurrency = Math.max(1, input.concurrency ?? 8);
      const sources = new Map<string, SourceObject>();
      let copied = 0;
      let skipped = 0;
      const run = async (item: CopyItem) => {
        if (verified.has(item.id)) {
          skipped++;
          return;
        }
        const done = await copyOne(item, source, () => beat(false));
        if (done === 'copied') copied++;
        else skipped++;
        verified.add(item.id);
        bytesDone += item.source.fingerprint.size;
        beat(false);
      };
      const itemsFor = (keys: string[]): CopyItem[] =>
        keys.flatMap((key) =>
          input.destinations.map((d) => {
            const destKey = destinationKey(input, key);
            return {
              source: sources.get(key)!,
              dest: { region: d.region, bucket: d.bucket, key: destKey },
              id: `${d.region}/${d.bucket}/${destKey}`,
            };
          }),
        );

      let items: number;
      try {
        await forEachLimit(allKeys, concurrency, async (key) => {
          const h = await head(sourceS3, source.region, source.bucket, key);
          sources.set(key, { key, head: h, fingerprint: fingerprintOf(h) });
        });
        // The last keys go only once every other object is verified: their presence marks a complete copy.
        const main = itemsFor(mainKeys);
        const last = itemsFor(lastKeys);
        items = main.length + last.length;
        await forEachLimit(main, concurrency, run);
        await forEachLimit(last, concurrency, run);
      } finally {
        clearInterval(keepAlive);
        // Whatever happened, the next attempt starts from everything verified so far.
        beat(true);
      }

      return {
        objects: allKeys.length,
        bytes: [...sources.values()].reduce((n, o) => n + o.fingerprint.size, 0),
        copied,
        skipped,
        verifiedKeys: items,
      };
    },

    async deleteObjects(input: DeleteObjectsInput): Promise<{ deleted: number }> {
      const s3 = aws.s3(input.region);
      const keep = new Set(input.except ?? []);
      const keys = (await listKeys(s3, input)).map((o) => o.key).filter((key) => !keep.has(key));
      let deleted = 0;
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        const out = await unlessCancelled(() =>
          awsCall({ operation: 'DeleteObjects', resource: `bucket ${input.bucket}`, region: input.region }, () =>
            s3.send(
              new DeleteObjectsCommand({
                Bucket: input.bucket,
                Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
              }),
              { abortSignal: abortSignal() },
            ),
          ),
        );
        const errors = out.Errors ?? [];
        if (errors.length > 0) {
          const first = errors[0]!;
          const denied = errors.some((e) => e.Code === 'AccessDenied');
          throw ApplicationFailure.create({
            type: first.Code ?? 'DeleteObjectsFailed',
            nonRetryable: denied,
            message:
              `DeleteObjects in s3://${input.bucket} (${input.region}) could not delete ${errors.length} of ${batch.length} ` +
              `objects, first ${first.Key}: ${first.Code}: ${first.Message}` +
              (denied ? `: allow the worker's AWS identity s3:DeleteObject on the bucket` : ''),
            details: [{ bucket: input.bucket, errors: errors.slice(0, 20) }],
          });
        }
        deleted += batch.length;
        Context.current().heartbeat({ deleted });
      }
      return { deleted };
    },

    async writeCopyManifest(input: WriteCopyManifestInput): Promise<{ entries: number }> {
      const s3 = aws.s3(input.region);
      for (const file of input.files) {
        const found = await headIfExists(s3, input.region, input.bucket, file.key);
        if (found?.ContentLength === file.bytes) continue;
        // A COPY manifest naming a file that is not as the Glue job wrote it would fail the refresh (Redshift
        // reads Parquet by the byte ranges content_length gives) or load other rows: stop here instead.
        throw ApplicationFailure.create({
          type: FailureType.ManifestInvalid,
          nonRetryable: true,
          message:
            `${uri(input.bucket, file.key)} (${input.region}) ` +
            (found
              ? `is ${found.ContentLength} bytes, not the ${file.bytes} bytes the Glue job's manifest gives`
              : `does not exist, though the Glue job's manifest lists it`) +
            `: run the batch again from transform (npm run glueline -- redrive <workflowId> --from transform)`,
          details: [{ region: input.region, bucket: input.bucket, key: file.key }],
        });
      }
      const body = JSON.stringify(redshiftCopyManifest(input.bucket, input.files));
      await unlessCancelled(() =>
        awsCall(
          {
            operation: 'PutObject',
            resource: `object ${uri(input.bucket, input.key)}`,
            bucket: input.bucket,
            region: input.region,
            notFoundFix: 'create the bucket (npm run provision) or fix the bucket name in the spec',
          },
          () =>
            s3.send(
              new PutObjectCommand({
                Bucket: input.bucket,
                Key: input.key,
                Body: body,
                ContentType: 'application/json',
              }),
              { abortSignal: abortSignal() },
            ),
        ),
      );
      return { entries: input.files.length };
    },

    async readManifest(input: { region: string; bucket: string; key: string }): Promise<GlueManifest> {
      const s3 = aws.s3(input.region);
      const where = `${uri(input.bucket, input.key)} (${input.region})`;
      const invalid = (why: string) =>
        ApplicationFailure.create({
          type: FailureType.ManifestInvalid,
          nonRetryable: true,
          message: `the Glue job's manifest ${where} ${why}`,
          details: [{ region: input.region, bucket: input.bucket, key: input.key }],
        });
      let text: string;
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key }), {
          abortSignal: abortSignal(),
        });
        text = (await out.Body?.transformToString('utf-8')) ?? '';
      } catch (err) {
        if (abortSignal().aborted) throw abortSignal().reason;
        if (awsErrorName(err) === 'NoSuchKey') {
          throw invalid(
            'does not exist: the job writes it last when it succeeds, so it did not finish; see its logs in CloudWatch',
          );
        }
        if (isTemporalFailure(err)) throw err;
        throw awsFailure(err, {
          operation: 'GetObject',
          resource: `manifest ${uri(input.bucket, input.key)}`,
          region: input.region,
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw invalid(`is not JSON (${(err as Error).message}): the job's manifest writer is broken`);
      }
      const parsed = GlueManifestSchema.safeParse(json);
      if (!parsed.success) {
        const problems = parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.length ? i.path.join('.') : '(root)'} ${i.message}`)
          .join('; ');
        throw invalid(`does not have the expected shape: ${problems}`);
      }
      return parsed.data;
    },
  };
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
  outputFiles: z.array(fileEntry),
  quarantineFiles: z.array(fileEntry),
}) satisfies z.ZodType<GlueManifest>;
