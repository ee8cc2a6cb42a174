/**
 * Payload sizes with large batches (issue #14: Temporal refuses payloads over 2 MB and warns from 512 KB): a batch of
 * 20,000 keys named with `glueline run --key`, or a Glue job writing 20,000 output files, makes a run input, and
 * activity inputs and results, of a few KB.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { batchFromFlags } from '../../src/starters/batch-flags';
import type { CopyObjectsInput, WriteCopyManifestInput } from '../../src/workflow-safe/activity-types';
import { KEY_LIST_BOUND } from '../../src/workflow-safe/key-list';
import type { GlueManifest } from '../../src/workflow-safe/layout';
import { keysChecksum } from '../../src/workflow-safe/manifest-files';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { KEY_LIST_PATCH } from '../../src/workflows/steps/stage-raw';
import { MANIFEST_SUMMARY_PATCH } from '../../src/workflows/steps/transform';
import { MANIFEST, testInput, testSpec, useWorkflowTestBed } from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

const keysOf = (n: number) =>
  Array.from({ length: n }, (_, i) => `landing/2026/11/30/orders-${String(i).padStart(5, '0')}-eu-west-1-export.csv`);

/** The text of every marker's details in the history (a patch marker names its patch id). */
function markerTexts(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events.flatMap((e) =>
    Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((p) =>
      (p.payloads ?? []).map((x) => Buffer.from(x.data ?? []).toString()),
    ),
  );
}

/** The largest payload of the history, after checking that it has payloads of every step's activities. */
function largestPayload(events: temporal.api.history.v1.IHistoryEvent[]) {
  const sizes = payloadSizes(events);
  assert.ok(sizes.length > 20, JSON.stringify(sizes));
  return sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

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
    assert.ok(
      markerTexts(events).some((d) => d.includes(KEY_LIST_PATCH)),
      `no ${KEY_LIST_PATCH} marker`,
    );
    const largest = largestPayload(events);
    assert.ok(largest.bytes < 4 * 1024, `largest payload: ${largest.at}, ${largest.bytes} bytes`);
  });
});

describe('a Glue job that writes 20,000 output files', () => {
  const manifest: GlueManifest = {
    ...MANIFEST,
    outputFiles: Array.from({ length: 20_000 }, (_, i) => ({
      // As Spark names them: the partition folder, the task, the write's UUID.
      key: `curated/sales/batch_id=b/order_date=2026-11-29/part-${String(i).padStart(5, '0')}-3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f6a7b8.c000.snappy.parquet`,
      bytes: 1000 + i,
    })),
  };

  test("the whole manifest would pass Temporal's 2 MB payload limit: why the workflow keeps a summary", () => {
    const bytes = JSON.stringify(manifest).length;
    assert.ok(bytes > 2 * 1024 * 1024, `${bytes} bytes`);
  });

  test('every payload in history, the manifest read included, stays under 4 KB; the counts are whole', async () => {
    const input = testInput();
    const { result, handle, called } = await bed.runToEnd('csvPipeline', input, { manifest });
    assert.equal(result?.status, 'succeeded');
    assert.equal(called('readManifest').length, 0);
    const summary = called('readManifestSummary');
    assert.equal(summary.length, 1);
    assert.equal(result?.totals.curatedObjects, 20_000);
    assert.equal(
      result?.totals.curatedBytes,
      manifest.outputFiles.reduce((n, f) => n + f.bytes, 0),
    );
    const transform = result?.steps.find((s) => s.step === 'transform');
    assert.equal(transform?.counts.outputFiles, 20_000);
    // The activities that need the files name the manifest, with the ETag and checksum the summary read.
    const keys = manifest.outputFiles.map((f) => f.key);
    const named = {
      ...(summary[0]!.input as { region: string; bucket: string; key: string }),
      count: 20_000,
      checksum: keysChecksum(keys),
      etag: '"fake-manifest-etag"',
    };
    const copies = called('copyObjects').map((c) => (c.input as CopyObjectsInput).source.manifestFiles);
    assert.deepEqual(copies.filter(Boolean), [named]);
    for (const c of called('writeCopyManifest'))
      assert.deepEqual((c.input as WriteCopyManifestInput).manifestFiles, named);
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(
      markerTexts(events).some((d) => d.includes(MANIFEST_SUMMARY_PATCH)),
      `no ${MANIFEST_SUMMARY_PATCH} marker`,
    );
    const largest = largestPayload(events);
    assert.ok(largest.bytes < 4 * 1024, `largest payload: ${largest.at}, ${largest.bytes} bytes`);
  });
});
