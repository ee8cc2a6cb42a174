/**
 * A batch's keys named by a key-list object instead of key by key, so the workflow input stays a few hundred bytes
 * however many keys the batch has (20,000 keys are over 1 MB of Temporal's 2 MB payload limit). `glueline run`
 * writes the object for a list longer than KEY_LIST_BOUND; the copy activity reads it and checks count and checksum.
 */
import { commonDirectory } from './layout';
import { keysChecksum } from './manifest-files';
import type { KeyListRef } from './run-input';

/** The most keys a workflow input lists itself (about 100 KB of keys at most); a longer list goes to a key-list object. */
export const KEY_LIST_BOUND = 1000;

/** The prefix of the key-list objects in the primary raw bucket (the operator's CLI may write there). */
export const KEY_LISTS_PREFIX = '_glueline/key-lists/';

/**
 * Where the key list of a batch goes: in the primary raw bucket, outside the raw prefix the crawler reads, named by
 * its checksum so that two starts of the batch with other keys never overwrite the list a running run reads.
 */
export const keyListKey = (specName: string, batchId: string, checksum: string) =>
  `${KEY_LISTS_PREFIX}${specName}/${batchId}-${checksum}.json`;

/** The reference to a key-list object of `keys` at `where` (in the input), and the object's text (to write). */
export function keyListOf(
  where: { region: string; bucket: string; specName: string; batchId: string },
  keys: string[],
): { ref: KeyListRef; text: string } {
  const checksum = keysChecksum(keys);
  const ref: KeyListRef = {
    region: where.region,
    bucket: where.bucket,
    key: keyListKey(where.specName, where.batchId, checksum),
    count: keys.length,
    checksum,
    directory: commonDirectory(keys),
  };
  return { ref, text: JSON.stringify(keys) };
}
