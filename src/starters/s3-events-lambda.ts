/**
 * The S3 event trigger as an AWS Lambda handler for an SQS event source, sharing the consumer's code.
 * The event source's batching window (MaximumBatchingWindowInSeconds) plays the quiet period: each
 * invocation groups its records by batch and starts each batch under its business-key id, so a batch
 * split over two invocations, or a redelivered record, attaches to the run instead of starting another.
 * Configure ReportBatchItemFailures: only the records of batches that failed to start come back.
 *
 * Environment: GLUELINE_SPEC_FILE (bundled with the function), GLUELINE_LANDING_PREFIX (default landing/),
 * GLUELINE_SOURCE_BUCKET (default the primary raw bucket), GLUELINE_SOURCE_REGION (its region when the
 * event records give none; default the primary), GLUELINE_TASK_QUEUE, and Temporal's
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY (from a secret, never from the event).
 */
import type { Client } from '@temporalio/client';
import { connectClient } from '../temporal/connection';
import type { PipelineSpec } from '../workflow-safe/spec';
import type { Batch } from '../workflow-safe/run-input';
import { taskQueue } from './common';
import {
  batchOf,
  describeOutcome,
  parseS3Events,
  startBatch,
  startRefusedBatch,
  type S3TriggerOptions,
} from './s3-events';
import { loadSpecFile } from './spec-file';

/** The part of Lambda's SQSEvent the handler reads. */
export interface SqsEvent {
  Records: { messageId: string; body: string }[];
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The handler's logic, with its client and settings passed in (tests call it directly). */
export async function handleSqsEvent(
  event: SqsEvent,
  deps: S3TriggerOptions & { client: Client; taskQueue: string; log?: (line: string) => void },
): Promise<SqsBatchResponse> {
  const log = deps.log ?? ((line: string) => console.log(line));
  const batches = new Map<string, { batch: Batch; messageIds: Set<string> }>();
  const failed = new Set<string>();
  for (const record of event.Records) {
    for (const object of parseS3Events(record.body)) {
      const found = batchOf(deps, object);
      if ('ignored' in found) {
        log(`ignored s3://${object.bucket}/${object.key}: ${found.ignored}`);
        continue;
      }
      if ('refused' in found) {
        try {
          log(await startRefusedBatch(deps.client, deps.spec, found, deps.taskQueue));
        } catch (err) {
          log(`${found.reason}: could not start its refusal: ${(err as Error).message}`);
          failed.add(record.messageId);
        }
        continue;
      }
      const entry = batches.get(found.batch.id) ?? { batch: found.batch, messageIds: new Set<string>() };
      entry.messageIds.add(record.messageId);
      batches.set(found.batch.id, entry);
    }
  }
  for (const { batch, messageIds } of batches.values()) {
    try {
      log(describeOutcome(batch, await startBatch(deps.client, deps.spec, batch, deps.taskQueue)));
    } catch (err) {
      log(`batch ${batch.id}: could not start: ${(err as Error).message}`);
      for (const id of messageIds) failed.add(id);
    }
  }
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

let ready: Promise<{ client: Client; spec: PipelineSpec }> | undefined;

/**
 * The Lambda entry point: connects once per container, then handles each invocation. A failed start (Temporal
 * unreachable during a cold start, a bad setting) is not kept: the next invocation tries again, instead of every
 * later invocation of the container failing with the first one's error.
 */
export async function handler(event: SqsEvent): Promise<SqsBatchResponse> {
  const starting = (ready ??= (async () => {
    const file = process.env.GLUELINE_SPEC_FILE;
    if (!file) throw new Error('GLUELINE_SPEC_FILE is not set: bundle the spec with the function and name it there');
    const spec = loadSpecFile(file);
    const { client } = await connectClient();
    return { client, spec };
  })());
  const { client, spec } = await starting.catch((err: unknown) => {
    if (ready === starting) ready = undefined;
    throw err;
  });
  return handleSqsEvent(event, {
    client,
    spec,
    taskQueue: taskQueue(),
    landingPrefix: process.env.GLUELINE_LANDING_PREFIX || 'landing/',
    ...(process.env.GLUELINE_SOURCE_BUCKET ? { sourceBucket: process.env.GLUELINE_SOURCE_BUCKET } : {}),
    ...(process.env.GLUELINE_SOURCE_REGION ? { sourceRegion: process.env.GLUELINE_SOURCE_REGION } : {}),
  });
}
