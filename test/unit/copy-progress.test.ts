/**
 * copyObjects' heartbeat details stay bounded (issue #14 finding 7): 10,000 objects copied to two regions, the
 * count that passed Temporal's 2 MB payload limit when every verified key was in the details.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planChecksum, progressDetails, resumedItems } from '../../src/activities/copy-progress';

/** Temporal's default limit on one payload (blob size limit). */
const PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** 10,000 Parquet files Spark named (part-<n>-<uuid>.c000.snappy.parquet) copied to two regions' curated buckets. */
const ids = ['us-east-1/acme-orders-curated-use1', 'eu-west-1/acme-orders-curated-euw1'].flatMap((where) =>
  Array.from(
    { length: 10_000 },
    (_, i) =>
      `${where}/orders/batch_id=2026-11-30/order_date=2026-11-29/` +
      `part-${String(i).padStart(5, '0')}-3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f6a7b8.c000.snappy.parquet`,
  ),
);

describe('copy progress heartbeat details', () => {
  test('for 20,000 verified items are a few KB, where their keys alone pass the 2 MB payload limit', () => {
    const all = Array.from(ids.keys());
    const details = progressDetails(ids.length, planChecksum(ids), all, 123_456_789);
    const size = Buffer.byteLength(JSON.stringify(details));
    assert.ok(size < 4 * 1024, `${size} bytes`);
    // What the details held before: every verified id. Over the limit at this count.
    assert.ok(Buffer.byteLength(JSON.stringify({ verified: ids, bytesDone: 123_456_789 })) > PAYLOAD_LIMIT_BYTES);
  });

  test('round-trip: a retry with the same plan resumes exactly the verified items', () => {
    const plan = planChecksum(ids);
    const done = [0, 7, 8, 9_999, 10_000, 19_999];
    assert.deepEqual(
      [...resumedItems(progressDetails(ids.length, plan, done, 1), ids, plan)].sort((a, b) => a - b),
      done,
    );
  });

  test('a retry whose plan differs (other keys, order or count) resumes nothing', () => {
    const details = progressDetails(ids.length, planChecksum(ids), [0, 1, 2], 1);
    const reordered = [ids[1]!, ids[0]!, ...ids.slice(2)];
    assert.equal(resumedItems(details, reordered, planChecksum(reordered)).size, 0);
    const fewer = ids.slice(1);
    assert.equal(resumedItems(details, fewer, planChecksum(fewer)).size, 0);
  });

  test("an older worker's heartbeat (every verified id) is still read", () => {
    const resumed = resumedItems({ verified: [ids[3], ids[19_998]], bytesDone: 10 }, ids, planChecksum(ids));
    assert.deepEqual(
      [...resumed].sort((a, b) => a - b),
      [3, 19_998],
    );
    assert.equal(resumedItems(undefined, ids, planChecksum(ids)).size, 0);
  });
});
