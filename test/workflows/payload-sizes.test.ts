/**
 * Payload sizes with large batches (issue #14: Temporal refuses payloads over 2 MB and warns from 512 KB): a batch of
 * 20,000 keys named with `glueline run --key` makes a run input, and activity inputs and results, of a few KB.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { batchFromFlags } from '../../src/starters/batch-flags';
import type { CopyObjectsInput } from '../../src/workflow-safe/activity-types';
import { KEY_LIST_BOUND } from '../../src/workflow-safe/key-list';
import { keysChecksum } from '../../src/workflow-safe/manifest-files';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { KEY_LIST_PATCH } from '../../src/workflows/steps/stage-raw';
import { testInput, testSpec, useWorkflowTestBed } from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

const keysOf = (n: number) =>
  Array.from({ length: n }, (_, i) => `landing/2026/11/30/orders-${String(i).padStart(5, '0')}-eu-west-1-export.csv`);

/** Every payload of the history, by where it is: the run input, each activity's input and each activity's result. */
function payloadSizes(events: temporal.api.history.v1.IHistoryEvent[]) {
  const size = (p: temporal.api.common.v1.IPayloads | null | undefined) =>
    (p?.payloads ?? []).reduce((n, x) => n + (x.data?.length ?? 0), 0);
  const names = new Map<string, string>();
  const sizes: { at: string; bytes: number }[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    if (e.workflowExecutionStartedEventAttributes)
      sizes.push({ at: 'run input', bytes: size(e.workflowExecutionStartedEventAttributes.input) });
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      names.set(id, scheduled.activityType!.name!);
      sizes.push({ at: `${scheduled.activityType!.name} input`, bytes: size(scheduled.input) });
    }
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed)
      sizes.push({ at: `${names.get(String(completed.scheduledEventId))} result`, bytes: size(completed.result) });
  }
  return sizes;
}

describe('a batch of 20,000 keys', () => {
  const spec = PipelineSpec.parse(testSpec());

  test('run --key names a key-list object: the batch is a few hundred bytes, where the keys were over 1 MB', () => {
    const keys = keysOf(20_000);
    const { batch, keyList } = batchFromFlags(spec, { 'batch-id': 'b20k', key: keys }, []);
    assert.equal(batch.source.keys, undefined);
    assert.deepEqual(batch.source.keyList, {
      region: spec.regions[0]!.region,
      bucket: spec.regions[0]!.rawBucket,
      key: `_glueline/key-lists/${spec.name}/b20k-${keysChecksum(keys)}.json`,
      count: 20_000,
      checksum: keysChecksum(keys),
      directory: 'landing/2026/11/30/',
    });
    assert.deepEqual(JSON.parse(keyList!.text), keys);
    assert.ok(JSON.stringify(batch).length < 1024, JSON.stringify(batch));
    assert.ok(JSON.stringify(keys).length > 1024 * 1024);
  });

  test(`up to ${KEY_LIST_BOUND} keys still travel in the input, as before`, () => {
    const keys = keysOf(KEY_LIST_BOUND);
    const { batch, keyList } = batchFromFlags(spec, { 'batch-id': 'b1k', key: keys }, []);
    assert.deepEqual(batch.source.keys, keys);
    assert.equal(keyList, undefined);
    const more = batchFromFlags(spec, { 'batch-id': 'b1k', key: keys }, ['landing/2026/11/30/one-more.csv']);
    assert.equal(more.batch.source.keyList?.count, KEY_LIST_BOUND + 1);
  });

  test('--files over the bound: the uploads keep their keys, the input names the list of them', () => {
    const files = Array.from({ length: KEY_LIST_BOUND + 1 }, (_, i) => `/tmp/day/part-${i}.csv`);
    const { batch, uploads, keyList } = batchFromFlags(spec, { 'batch-id': 'bf', files }, []);
    assert.equal(uploads.length, KEY_LIST_BOUND + 1);
    assert.equal(uploads[0]!.key, 'landing/bf/part-0.csv');
    assert.deepEqual(
      JSON.parse(keyList!.text),
      uploads.map((u) => u.key),
    );
    assert.equal(batch.source.keyList?.directory, 'landing/bf/');
  });

  test('the run input and every activity input and result in history stay under 4 KB', async () => {
    const { batch } = batchFromFlags(spec, { 'batch-id': 'b20k', key: keysOf(20_000) }, []);
    const input = testInput({ batch: { ...batch, id: `${batch.id}-${Date.now()}` } });
    const { result, handle, called } = await bed.runToEnd(
      'csvPipeline',
      input,
      {},
      pipelineWorkflowId(spec, input.batch as { id: string }),
    );
    assert.equal(result?.status, 'succeeded');
    const stage = called('copyObjects')[0]!.input as CopyObjectsInput;
    assert.deepEqual(stage.source.keyList, batch.source.keyList);
    assert.equal(stage.source.keys, undefined);
    assert.equal(stage.rename?.stripPrefix, 'landing/2026/11/30/');
    assert.equal(result?.steps.find((s) => s.step === 'stage-raw')?.counts.objects, 20_000);
    const events = (await handle.fetchHistory()).events ?? [];
    const markers = events.flatMap((e) =>
      Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((p) =>
        (p.payloads ?? []).map((x) => Buffer.from(x.data ?? []).toString()),
      ),
    );
    assert.ok(
      markers.some((d) => d.includes(KEY_LIST_PATCH)),
      `no ${KEY_LIST_PATCH} marker`,
    );
    const sizes = payloadSizes(events);
    assert.ok(sizes.length > 20, JSON.stringify(sizes));
    const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    assert.ok(largest.bytes < 4 * 1024, `largest payload: ${largest.at}, ${largest.bytes} bytes`);
  });
});
