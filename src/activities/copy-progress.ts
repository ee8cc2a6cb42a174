/**
 * copyObjects' progress as heartbeat details of bounded size: a bitmap over the copy's items (each destination
 * object, in the order the copy plans them) and a checksum of that plan, instead of every verified key. 10,000
 * objects to two regions are 20,000 items: 2,500 bytes of bitmap (about 3.4 KB as base64), where the keys
 * themselves passed Temporal's 2 MB payload limit. A retry resumes from it when it plans the same items.
 */
import { createHash } from 'node:crypto';
import type { CopyProgress } from '../workflow-safe/activity-types';

/** A checksum of the plan: the item ids, in order. A resume whose plan differs starts from nothing. */
export function planChecksum(ids: readonly string[]): string {
  const hash = createHash('sha256');
  for (const id of ids) hash.update(id).update('\n');
  return hash.digest('base64url').slice(0, 22);
}

/** Which items an earlier attempt verified, from its heartbeat details (either form), by item index. */
export function resumedItems(previous: unknown, ids: readonly string[], plan: string): Set<number> {
  const done = new Set<number>();
  const details = previous as Partial<CopyProgress> | undefined;
  if (details?.plan === plan && typeof details.done === 'string' && details.items === ids.length) {
    const bits = Buffer.from(details.done, 'base64');
    for (let i = 0; i < ids.length; i++) if ((bits[i >> 3] ?? 0) & (1 << (i & 7))) done.add(i);
  } else if (Array.isArray(details?.verified)) {
    // A worker from before compact progress heartbeated every verified id.
    const verified = new Set(details.verified);
    ids.forEach((id, i) => {
      if (verified.has(id)) done.add(i);
    });
  }
  return done;
}

/** Heartbeat details for the verified item indexes. */
export function progressDetails(items: number, plan: string, done: Iterable<number>, bytesDone: number): CopyProgress {
  const bits = Buffer.alloc(Math.ceil(items / 8));
  for (const i of done) bits[i >> 3] = (bits[i >> 3] ?? 0) | (1 << (i & 7));
  return { items, plan, done: bits.toString('base64'), bytesDone };
}
