/**
 * S3 copies: plan the parts, copy (CopyObject, or UploadPartCopy keeping the source's part layout so
 * the ETag matches, with a full-object checksum), and verify the copy against its source by size and a
 * full-object checksum, or by ETag where ETags are digests of the data (not for SSE-KMS, DSSE-KMS, SSE-C).
 * Every call that fails throws an {@link AwsCallError}.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Uri as uri } from '../workflow-safe/layout';
import type { AwsClients } from './clients';
import { awsCall, awsErrorName, mayHaveTakenEffect, missingField, type AwsTarget } from './errors';
import {
  checksumAlgorithmOf,
  compareCopy,
  fingerprintOf,
  FULL_OBJECT_MULTIPART,
  isComposite,
  type ObjectFingerprint,
} from './s3-compare';
import { headIfExists, headObject, type CallOptions, type ObjectRef } from './s3-objects';

export { compareCopy, type CopyComparison, type ObjectFingerprint } from './s3-compare';

const missingDestinationFix = 'create the destination bucket (npm run provision) or fix its name in the spec';

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

/** `CopySource` for a key: bucket and URL-encoded key, '/' kept. */
const copySource = (bucket: string, key: string) =>
  `${bucket}/${key
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/')}`;

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

/** A source object as a copy needs it: its HEAD and what a copy must match. */
export interface SourceObject extends ObjectRef {
  head: HeadObjectCommandOutput;
  fingerprint: ObjectFingerprint;
}

/** HEADs an object for copying. */
export async function sourceObject(s3: S3Client, object: ObjectRef, options: CallOptions = {}): Promise<SourceObject> {
  const head = await headObject(s3, object, options);
  return { ...object, head, fingerprint: fingerprintOf(head) };
}

/** The source's part size when it was uploaded in parts, so a multipart copy reproduces its ETag. */
async function sourcePartSize(s3: S3Client, source: SourceObject, options: CallOptions): Promise<number | undefined> {
  if (!isComposite(source.fingerprint.etag)) return undefined;
  const first = await headObject(s3, source, { ...options, partNumber: 1 });
  const partSize = first.ContentLength;
  const count = first.PartsCount;
  if (partSize === undefined || count === undefined) return undefined;
  return Math.ceil(source.fingerprint.size / partSize) === count ? partSize : undefined;
}

/**
 * The source's tags as CreateMultipartUpload's `Tagging` (a URL query string), or undefined when it has none:
 * CopyObject keeps an object's tags by itself, a multipart copy only when given them.
 */
async function sourceTagging(s3: S3Client, source: SourceObject, { abortSignal }: CallOptions) {
  const target: AwsTarget = {
    operation: 'GetObjectTagging',
    resource: `object ${uri(source.bucket, source.key)}`,
    bucket: source.bucket,
    region: source.region,
  };
  const out = await awsCall(target, () =>
    s3.send(new GetObjectTaggingCommand({ Bucket: source.bucket, Key: source.key }), { abortSignal }),
  );
  const tags = out.TagSet ?? [];
  // Percent-encoded, spaces as %20 (not URLSearchParams's '+', which S3 could read as a plus sign).
  const pairs = tags.map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`);
  return pairs.length === 0 ? undefined : pairs.join('&');
}

/**
 * CreateMultipartUpload of the copy, with the source's headers, metadata and tags, and a full-object checksum of the
 * source's algorithm (a CRC), so the copy can be compared with the source without ETags; CRC32 when the source has
 * no such checksum (the copy then has one for later comparisons). @returns the UploadId
 */
async function createUpload(
  aws: AwsClients,
  source: SourceObject,
  dest: ObjectRef,
  options: CallOptions & { target: AwsTarget },
): Promise<string> {
  const { head: src } = source;
  const Tagging = await sourceTagging(aws.s3(source.region), source, options);
  const target = { ...options.target, operation: 'CreateMultipartUpload' };
  const { UploadId } = await awsCall(target, () =>
    aws.s3(dest.region).send(
      new CreateMultipartUploadCommand({
        Bucket: dest.bucket,
        Key: dest.key,
        ContentType: src.ContentType,
        ContentEncoding: src.ContentEncoding,
        ContentDisposition: src.ContentDisposition,
        CacheControl: src.CacheControl,
        Metadata: src.Metadata,
        ChecksumAlgorithm: checksumAlgorithmOf(source.fingerprint, FULL_OBJECT_MULTIPART) ?? 'CRC32',
        ChecksumType: 'FULL_OBJECT',
        Tagging,
      }),
      { abortSignal: options.abortSignal },
    ),
  );
  if (!UploadId) throw missingField(target, 'UploadId');
  return UploadId;
}

/** UploadPartCopy of every part, at most {@link PART_CONCURRENCY} at once; `onPart` after each. */
async function multipartCopy(
  aws: AwsClients,
  source: SourceObject,
  dest: ObjectRef,
  options: CallOptions & { onPart?: () => void },
): Promise<void> {
  const s3 = aws.s3(dest.region);
  const { abortSignal } = options;
  const target: AwsTarget = {
    operation: 'UploadPartCopy',
    resource: `object ${uri(dest.bucket, dest.key)}`,
    bucket: dest.bucket,
    region: dest.region,
    notFoundFix: missingDestinationFix,
  };
  const parts = planCopyParts(source.fingerprint.size, await sourcePartSize(aws.s3(source.region), source, options));
  const { Bucket, Key } = { Bucket: dest.bucket, Key: dest.key };
  const UploadId = await createUpload(aws, source, dest, { ...options, target });
  try {
    const copied = new Map<number, CompletedPart>();
    await forEachLimit(parts, PART_CONCURRENCY, async (part) => {
      const out = await awsCall(target, () =>
        s3.send(
          new UploadPartCopyCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber: part.partNumber,
            CopySource: copySource(source.bucket, source.key),
            CopySourceIfMatch: source.fingerprint.etag,
            CopySourceRange: part.last >= part.first ? `bytes=${part.first}-${part.last}` : undefined,
          }),
          { abortSignal },
        ),
      );
      // The part's checksum goes back in CompleteMultipartUpload, as S3 asks of an upload created with one.
      const { ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME } = out.CopyPartResult ?? {};
      copied.set(part.partNumber, {
        PartNumber: part.partNumber,
        ETag,
        ChecksumCRC32,
        ChecksumCRC32C,
        ChecksumCRC64NVME,
      });
      options.onPart?.();
    });
    await completeUpload(
      s3,
      source,
      dest,
      { UploadId, Parts: parts.map((p) => copied.get(p.partNumber)!) },
      {
        ...options,
        target: { ...target, operation: 'CompleteMultipartUpload' },
      },
    );
  } catch (err) {
    // Best effort: a multipart upload left open costs storage until a lifecycle rule removes it.
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}

/**
 * CompleteMultipartUpload. A Complete whose answer was lost may have completed the upload all the same, and its
 * retry (the SDK's, or the next attempt's) then gets NoSuchUpload: the destination is looked at, and when it is a
 * copy of the source the upload did complete.
 */
async function completeUpload(
  s3: S3Client,
  source: SourceObject,
  dest: ObjectRef,
  upload: { UploadId: string; Parts: CompletedPart[] },
  options: CallOptions & { target: AwsTarget },
): Promise<void> {
  try {
    await awsCall(options.target, () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: dest.bucket,
          Key: dest.key,
          UploadId: upload.UploadId,
          MultipartUpload: { Parts: upload.Parts },
          ChecksumType: 'FULL_OBJECT',
        }),
        { abortSignal: options.abortSignal },
      ),
    );
  } catch (err) {
    if (awsErrorName(err) !== 'NoSuchUpload' && !mayHaveTakenEffect(err)) throw err;
    const written = await headIfExists(s3, dest, options);
    if (written && compareCopy(source.fingerprint, fingerprintOf(written)).verdict === 'same') return;
    throw err;
  }
}

/** One CopyObject, asking for the source's checksum algorithm. */
async function singleCopy(s3: S3Client, source: SourceObject, dest: ObjectRef, { abortSignal }: CallOptions) {
  const target: AwsTarget = {
    operation: 'CopyObject',
    resource: `object ${uri(dest.bucket, dest.key)} (from ${uri(source.bucket, source.key)} in ${source.region})`,
    bucket: dest.bucket,
    region: dest.region,
    notFoundFix: missingDestinationFix,
  };
  await awsCall(target, () =>
    s3.send(
      new CopyObjectCommand({
        Bucket: dest.bucket,
        Key: dest.key,
        CopySource: copySource(source.bucket, source.key),
        CopySourceIfMatch: source.fingerprint.etag,
        MetadataDirective: 'COPY',
        // Ask for the source's checksum algorithm, so the copy carries a checksum to compare: ETags
        // alone differ for SSE-KMS objects even when the bytes are the same.
        ChecksumAlgorithm: checksumAlgorithmOf(source.fingerprint),
      }),
      { abortSignal },
    ),
  );
}

/**
 * What {@link copyVerified} did: skipped (the destination already matched) or copied, and whether the copy matches
 * (`mismatch`: it does not; `unverifiable`: nothing both report can tell).
 */
export type CopyOutcome = { done: 'skipped' } | { done: 'copied'; mismatch?: string; unverifiable?: string };

/**
 * Copies `source` to `dest` unless `dest` already matches it, then HEADs the copy and compares: CopyObject
 * up to 5 GiB, UploadPartCopy for larger or multipart sources (keeping their part layout).
 */
export async function copyVerified(
  aws: AwsClients,
  source: SourceObject,
  dest: ObjectRef,
  options: CallOptions & { onPart?: () => void } = {},
): Promise<CopyOutcome> {
  const s3 = aws.s3(dest.region);
  const existing = await headIfExists(s3, dest, options);
  const { fingerprint } = source;
  if (existing && compareCopy(fingerprint, fingerprintOf(existing)).verdict === 'same') return { done: 'skipped' };
  if (fingerprint.size > MAX_SINGLE_COPY_BYTES || isComposite(fingerprint.etag)) {
    await multipartCopy(aws, source, dest, options);
  } else {
    await singleCopy(s3, source, dest, options);
  }
  const written = compareCopy(fingerprint, fingerprintOf(await headObject(s3, dest, options)));
  if (written.verdict === 'different') return { done: 'copied', mismatch: written.why };
  if (written.verdict === 'unknown') return { done: 'copied', unverifiable: written.why };
  return { done: 'copied' };
}
