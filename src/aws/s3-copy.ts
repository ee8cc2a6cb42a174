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
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Uri as uri } from '../workflow-safe/layout';
import type { AwsClients } from './clients';
import { awsCall, type AwsTarget } from './errors';
import { headIfExists, headObject, type CallOptions, type ObjectRef } from './s3-objects';

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

/** What we compare of an object: its size, ETag and any checksums S3 reports. */
export interface ObjectFingerprint {
  size: number;
  etag: string;
  checksums: Partial<Record<ChecksumField, string>>;
  /**
   * Why the ETag is no digest of the data, so two copies of the same bytes show different ones: `SSE-KMS`,
   * `DSSE-KMS` or `SSE-C` (S3 API reference, Object.ETag). @default - the ETag is a digest (MD5, or of the parts')
   */
  opaqueEtag?: string;
}

const CHECKSUM_FIELDS = [
  'ChecksumCRC64NVME',
  'ChecksumCRC32C',
  'ChecksumCRC32',
  'ChecksumSHA256',
  'ChecksumSHA1',
] as const;
type ChecksumField = (typeof CHECKSUM_FIELDS)[number];

/** Encryptions whose objects get ETags that are not digests of their data. */
const OPAQUE_ETAG_ENCRYPTION: Record<string, string> = { 'aws:kms': 'SSE-KMS', 'aws:kms:dsse': 'DSSE-KMS' };

function fingerprintOf(head: HeadObjectCommandOutput): ObjectFingerprint {
  const checksums: ObjectFingerprint['checksums'] = {};
  for (const field of CHECKSUM_FIELDS) {
    const value = head[field];
    if (value) checksums[field] = value;
  }
  const opaqueEtag = head.SSECustomerAlgorithm ? 'SSE-C' : OPAQUE_ETAG_ENCRYPTION[head.ServerSideEncryption ?? ''];
  return { size: head.ContentLength ?? 0, etag: head.ETag ?? '', checksums, ...(opaqueEtag ? { opaqueEtag } : {}) };
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
function checksumAlgorithmOf(fingerprint: ObjectFingerprint, only: readonly ChecksumField[] = CHECKSUM_FIELDS) {
  const field = only.find((f) => fingerprint.checksums[f] !== undefined && !isComposite(fingerprint.checksums[f]));
  return field === undefined ? undefined : CHECKSUM_ALGORITHM[field];
}

/** The checksums a multipart upload can keep for the whole object (FULL_OBJECT): the CRCs, not SHA-1 or SHA-256. */
const FULL_OBJECT_MULTIPART: readonly ChecksumField[] = ['ChecksumCRC64NVME', 'ChecksumCRC32C', 'ChecksumCRC32'];

/** What comparing a copy with its source found. */
export type CopyComparison =
  | { verdict: 'same'; by: string }
  | { verdict: 'different'; why: string }
  /** Nothing both report can tell: no shared full-object checksum, and ETags that are no digests. */
  | { verdict: 'unknown'; why: string };

/**
 * Whether `dest` is a copy of `source`: sizes must match, then a full-object checksum both report decides; without
 * one, the ETags decide only when both are digests of the data (not for SSE-KMS, DSSE-KMS or SSE-C objects, whose
 * ETags differ between copies of the same bytes).
 */
export function compareCopy(source: ObjectFingerprint, dest: ObjectFingerprint): CopyComparison {
  if (source.size !== dest.size)
    return { verdict: 'different', why: `size ${dest.size} bytes, source ${source.size} bytes` };
  for (const field of CHECKSUM_FIELDS) {
    const a = source.checksums[field];
    const b = dest.checksums[field];
    if (a === undefined || b === undefined) continue;
    if (a === b) return { verdict: 'same', by: field };
    if (!isComposite(a) && !isComposite(b)) return { verdict: 'different', why: `${field} ${b}, source ${a}` };
  }
  const opaque = source.opaqueEtag ?? dest.opaqueEtag;
  if (opaque) {
    const has = (f: ObjectFingerprint) => Object.keys(f.checksums).join(', ') || 'no checksum';
    return {
      verdict: 'unknown',
      why:
        `the source (${has(source)}) and the copy (${has(dest)}) share no full-object checksum, and ${opaque} ` +
        'ETags are no digests of the data, so they cannot be compared',
    };
  }
  return source.etag === dest.etag
    ? { verdict: 'same', by: 'ETag' }
    : { verdict: 'different', why: `ETag ${dest.etag}, source ${source.etag}` };
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

/** UploadPartCopy of every part, at most {@link PART_CONCURRENCY} at once; `onPart` after each. */
async function multipartCopy(
  aws: AwsClients,
  source: SourceObject,
  dest: ObjectRef,
  options: CallOptions & { onPart?: () => void },
): Promise<void> {
  const s3 = aws.s3(dest.region);
  const { abortSignal } = options;
  const { head: src } = source;
  const target: AwsTarget = {
    operation: 'UploadPartCopy',
    resource: `object ${uri(dest.bucket, dest.key)}`,
    bucket: dest.bucket,
    region: dest.region,
    notFoundFix: missingDestinationFix,
  };
  const parts = planCopyParts(source.fingerprint.size, await sourcePartSize(aws.s3(source.region), source, options));
  const { Bucket, Key } = { Bucket: dest.bucket, Key: dest.key };
  // A full-object checksum of the source's algorithm (a CRC), so the copy can be compared with the source without
  // ETags; CRC32 when the source has no such checksum (the copy then has one for later comparisons).
  const ChecksumAlgorithm = checksumAlgorithmOf(source.fingerprint, FULL_OBJECT_MULTIPART) ?? 'CRC32';
  const { UploadId } = await awsCall({ ...target, operation: 'CreateMultipartUpload' }, () =>
    s3.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        ContentType: src.ContentType,
        ContentEncoding: src.ContentEncoding,
        ContentDisposition: src.ContentDisposition,
        CacheControl: src.CacheControl,
        Metadata: src.Metadata,
        ChecksumAlgorithm,
        ChecksumType: 'FULL_OBJECT',
      }),
      { abortSignal },
    ),
  );
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
    const Parts = parts.map((p) => copied.get(p.partNumber)!);
    await awsCall({ ...target, operation: 'CompleteMultipartUpload' }, () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts },
          ChecksumType: 'FULL_OBJECT',
        }),
        { abortSignal },
      ),
    );
  } catch (err) {
    // Best effort: a multipart upload left open costs storage until a lifecycle rule removes it.
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
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
