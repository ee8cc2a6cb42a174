/**
 * The Glue manifest's output files named by the manifest instead of key by key, so an activity input or result
 * stays the same size however many files the job wrote (10,000 keys are about 1 MB of a 2 MB payload limit), and
 * the summary of the manifest the workflow keeps. Workflow-safe: readManifestSummary and a workflow replaying a
 * history that read the manifest whole summarize it alike; the activities check the manifest they read against it.
 */
import type { GlueManifest } from './layout';

/** Where the Glue manifest is. */
export interface ManifestLocation {
  region: string;
  bucket: string;
  key: string;
}

/** The output files of the Glue manifest at s3://bucket/key: how many and a checksum of their keys, in order. */
export interface ManifestFiles extends ManifestLocation {
  count: number;
  checksum: string;
  /**
   * The ETag of the manifest the workflow read (runs that read it whole have none): the activity reads it with
   * If-Match, so a manifest rewritten since fails even when it lists the same keys. @default - count and checksum only
   */
  etag?: string;
  /** Its VersionId, in a versioned bucket: the failure names it. @default - none */
  versionId?: string;
}

/**
 * What the workflow keeps of the Glue manifest (readManifestSummary's result): its counts, and its output files
 * named by the manifest instead of listed, so it is a few hundred bytes however many files the job wrote (the
 * whole manifest is about 100 bytes an output file: 20,000 files are 2 MB, Temporal's payload limit).
 */
export interface ManifestSummary {
  batchId: string;
  rowsIn: number;
  rowsOut: number;
  rowsRejected: number;
  rowsDropped?: number;
  /** How many CSVs the job read, and how many quarantine files it wrote. */
  inputFiles: number;
  quarantineFiles: number;
  /** The output files: where the manifest is (with the ETag read), how many, and a checksum of their keys. */
  files: ManifestFiles;
  /** Their total size. */
  outputBytes: number;
}

/**
 * A checksum of keys in order: two 32-bit FNV-1a hashes (other offsets) over each key's UTF-16 code units and a
 * separator, as 16 hex digits. Not a security measure: it tells a manifest rewritten since the workflow read it.
 */
export function keysChecksum(keys: readonly string[]): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ keys.length;
  const mix = (code: number) => {
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code, 0x01000193) >>> 0;
    b = (b ^ (b >>> 15)) >>> 0;
  };
  for (const key of keys) {
    for (let i = 0; i < key.length; i++) mix(key.charCodeAt(i));
    mix(0x0a);
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** The reference to a manifest's output files, from the manifest the workflow read. */
export function manifestFiles(
  where: ManifestLocation & Pick<ManifestFiles, 'etag' | 'versionId'>,
  manifest: Pick<GlueManifest, 'outputFiles'>,
): ManifestFiles {
  const keys = manifest.outputFiles.map((f) => f.key);
  return { ...where, count: keys.length, checksum: keysChecksum(keys) };
}

/**
 * The summary of the manifest at `where` (with the ETag and VersionId it was read at, when known): the same in the
 * activity that reads it and in a workflow replaying a history that read it whole.
 */
export function summarizeManifest(
  where: ManifestLocation & Pick<ManifestFiles, 'etag' | 'versionId'>,
  manifest: GlueManifest,
): ManifestSummary {
  const { batchId, rowsIn, rowsOut, rowsRejected, rowsDropped } = manifest;
  return {
    batchId,
    rowsIn,
    rowsOut,
    rowsRejected,
    ...(rowsDropped !== undefined ? { rowsDropped } : {}),
    inputFiles: manifest.inputFiles.length,
    quarantineFiles: manifest.quarantineFiles.length,
    files: manifestFiles(where, manifest),
    outputBytes: manifest.outputFiles.reduce((n, f) => n + f.bytes, 0),
  };
}
