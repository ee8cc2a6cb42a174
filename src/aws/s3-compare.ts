/**
 * What a copy is compared with its source by: size, full-object checksums, and the ETag only where it is a digest
 * of the data (not for SSE-KMS, DSSE-KMS or SSE-C objects, whose ETags differ between copies of the same bytes).
 */
import type { ChecksumAlgorithm, HeadObjectCommandOutput } from '@aws-sdk/client-s3';

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

export function fingerprintOf(head: HeadObjectCommandOutput): ObjectFingerprint {
  const checksums: ObjectFingerprint['checksums'] = {};
  for (const field of CHECKSUM_FIELDS) {
    const value = head[field];
    if (value) checksums[field] = value;
  }
  const opaqueEtag = head.SSECustomerAlgorithm ? 'SSE-C' : OPAQUE_ETAG_ENCRYPTION[head.ServerSideEncryption ?? ''];
  return { size: head.ContentLength ?? 0, etag: head.ETag ?? '', checksums, ...(opaqueEtag ? { opaqueEtag } : {}) };
}

export const isComposite = (value: string) => /-\d+"?$/.test(value);

const CHECKSUM_ALGORITHM = {
  ChecksumCRC64NVME: 'CRC64NVME',
  ChecksumCRC32C: 'CRC32C',
  ChecksumCRC32: 'CRC32',
  ChecksumSHA256: 'SHA256',
  ChecksumSHA1: 'SHA1',
} as const satisfies Record<ChecksumField, ChecksumAlgorithm>;

/** The algorithm of the source's first full-object checksum, for the copy to compute the same one. */
export function checksumAlgorithmOf(fingerprint: ObjectFingerprint, only: readonly ChecksumField[] = CHECKSUM_FIELDS) {
  const field = only.find((f) => fingerprint.checksums[f] !== undefined && !isComposite(fingerprint.checksums[f]));
  return field === undefined ? undefined : CHECKSUM_ALGORITHM[field];
}

/** The checksums a multipart upload can keep for the whole object (FULL_OBJECT): the CRCs, not SHA-1 or SHA-256. */
export const FULL_OBJECT_MULTIPART: readonly ChecksumField[] = ['ChecksumCRC64NVME', 'ChecksumCRC32C', 'ChecksumCRC32'];

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
