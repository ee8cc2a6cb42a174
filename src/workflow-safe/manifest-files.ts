/**
 * The Glue manifest's output files named by the manifest instead of key by key, so an activity input stays the
 * same size however many files the job wrote (10,000 keys are about 1 MB of a 2 MB payload limit). Workflow-safe:
 * the workflow computes the checksum of what it read, and the activity checks the manifest it reads against it.
 */
import type { GlueManifest } from './layout';

/** The output files of the Glue manifest at s3://bucket/key: how many and a checksum of their keys, in order. */
export interface ManifestFiles {
  region: string;
  bucket: string;
  key: string;
  count: number;
  checksum: string;
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
  where: { region: string; bucket: string; key: string },
  manifest: Pick<GlueManifest, 'outputFiles'>,
): ManifestFiles {
  const keys = manifest.outputFiles.map((f) => f.key);
  return { ...where, count: keys.length, checksum: keysChecksum(keys) };
}
