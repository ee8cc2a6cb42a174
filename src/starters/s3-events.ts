/**
 * The S3 event trigger's shared code, used by the SQS consumer (`glueline s3-events`) and the
 * AWS Lambda handler (src/starters/s3-events-lambda.ts): S3 ObjectCreated events are parsed, grouped into
 * batches by their landing folder, and each batch is started under its business-key workflow id once it
 * has been quiet for a while. A duplicate or replayed event maps to the same workflow id, so it attaches
 * to the running run or finds the batch completed: it never starts a second run.
 *
 * Layout: `s3://<source bucket>/<landing prefix><batch id>/<files>`; the batch is that folder (a prefix),
 * its id the folder's name.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Client } from '@temporalio/client';
import { primaryRegion } from '../workflow-safe/layout';
import { type PipelineSpec } from '../workflow-safe/spec';
import { Batch } from '../workflow-safe/run-input';
import { startOrAttach, startRefusedRun, type StartOutcome } from './start-options';

/** One object that S3 says was created. */
export interface S3ObjectCreated {
  bucket: string;
  key: string;
  size?: number;
  /** The bucket's region, as the event gives it (awsRegion; EventBridge's region). @default - not given */
  region?: string;
}

interface S3Record {
  eventSource?: string;
  awsRegion?: string;
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number } };
}

/**
 * The ObjectCreated events in one SQS message body: an S3 event notification, the same wrapped in an
 * SNS notification, or an EventBridge "Object Created" event. Other events (s3:TestEvent, removals) give [].
 */
export function parseS3Events(body: string): S3ObjectCreated[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return [];
  }
  const v = value as {
    Type?: string;
    Message?: string;
    Records?: S3Record[];
    source?: string;
    region?: string;
    'detail-type'?: string;
    detail?: { bucket?: { name?: string }; object?: { key?: string; size?: number } };
  };
  if (v.Type === 'Notification' && typeof v.Message === 'string') return parseS3Events(v.Message);
  if (v.source === 'aws.s3' && v['detail-type'] === 'Object Created') {
    const bucket = v.detail?.bucket?.name;
    const key = v.detail?.object?.key;
    return bucket && key ? [{ bucket, key, size: v.detail?.object?.size, ...regionOf(v.region) }] : [];
  }
  return (v.Records ?? []).flatMap((r) => {
    if (r.eventSource !== 'aws:s3' || !r.eventName?.startsWith('ObjectCreated:')) return [];
    const bucket = r.s3?.bucket?.name;
    const rawKey = r.s3?.object?.key;
    if (!bucket || !rawKey) return [];
    // Notification keys are URL-encoded, with '+' for spaces.
    const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    return [{ bucket, key, size: r.s3?.object?.size, ...regionOf(r.awsRegion) }];
  });
}

const regionOf = (region: unknown) => (typeof region === 'string' && region ? { region } : {});

/** Where the trigger looks for batches. */
export interface S3TriggerOptions {
  spec: PipelineSpec;
  /** @default - the spec's primary raw bucket */
  sourceBucket?: string;
  /**
   * The source bucket's region, for events that do not give one: a landing bucket outside the primary region is
   * read through its own region (S3 answers 301 PermanentRedirect otherwise). @default - the primary region
   */
  sourceRegion?: string;
  /** Batches are the folders right under this prefix. @default 'landing/' */
  landingPrefix?: string;
}

/** A batch folder whose name is no batch id: started anyway, for the worker to refuse it and tell the team. */
export interface RefusedBatch {
  refused: { id: string; source: { bucket: string; prefix: string } };
  reason: string;
}

/** The batch an object belongs to, the folder refused as a batch, or why the object belongs to none. */
export function batchOf(
  options: S3TriggerOptions,
  object: S3ObjectCreated,
): { batch: Batch } | { ignored: string } | RefusedBatch {
  const bucket = options.sourceBucket ?? primaryRegion(options.spec).rawBucket;
  const landing = options.landingPrefix ?? 'landing/';
  if (object.bucket !== bucket) return { ignored: `bucket ${object.bucket} is not the source bucket ${bucket}` };
  if (!object.key.startsWith(landing)) return { ignored: `${object.key} is not under ${landing}` };
  const rest = object.key.slice(landing.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return { ignored: `${object.key} is not in a batch folder (${landing}<batch id>/<file>)` };
  const name = rest.slice(rest.lastIndexOf('/') + 1);
  if (name === '' || name.startsWith('_') || name.startsWith('.'))
    return { ignored: `${object.key} is a folder marker or a hidden file` };
  const region = object.region ?? options.sourceRegion;
  const prefix = `${landing}${rest.slice(0, slash)}/`;
  const folder = { id: rest.slice(0, slash), source: { bucket, ...(region ? { region } : {}), prefix } };
  const parsed = Batch.safeParse(folder);
  if (!parsed.success) return { refused: folder, reason: `${folder.id} is not a usable batch id` };
  return { batch: parsed.data };
}

/**
 * Starts the run of a folder that is no batch, so that the worker refuses it and the spec's team hears of it.
 * @returns the log line
 */
export async function startRefusedBatch(
  client: Client,
  spec: PipelineSpec,
  found: RefusedBatch,
  taskQueue: string,
): Promise<string> {
  const o = await startRefusedRun(client, { spec, batch: found.refused }, { taskQueue, trigger: 's3-event' });
  return o.outcome === 'completed'
    ? `${found.reason}: already refused as ${o.workflowId}; not started again`
    : `${found.reason}: started ${o.workflowId} for the worker to refuse and notify`;
}

/** Batches gathering events until they have been quiet for `quietMs`. */
export class BatchGrouper {
  private readonly groups = new Map<
    string,
    { batch: Batch; lastEventMs: number; keys: Set<string>; messages: Set<string> }
  >();

  /** Adds an object's event; `messageId` names the SQS message it came in. */
  add(batch: Batch, key: string, messageId: string, nowMs: number): void {
    const group = this.groups.get(batch.id) ?? { batch, lastEventMs: nowMs, keys: new Set(), messages: new Set() };
    group.lastEventMs = nowMs;
    group.keys.add(key);
    group.messages.add(messageId);
    this.groups.set(batch.id, group);
  }

  /** Removes and returns the batches quiet for at least `quietMs`. */
  takeDue(nowMs: number, quietMs: number): { batch: Batch; keys: string[]; messages: string[] }[] {
    const due = [...this.groups.values()].filter((g) => nowMs - g.lastEventMs >= quietMs);
    for (const g of due) this.groups.delete(g.batch.id);
    return due.map((g) => ({ batch: g.batch, keys: [...g.keys], messages: [...g.messages] }));
  }

  /** Message ids of the batches still gathering. */
  pendingMessages(): Set<string> {
    return new Set([...this.groups.values()].flatMap((g) => [...g.messages]));
  }

  get size(): number {
    return this.groups.size;
  }
}

/** Starts (or attaches to) the batch's run; the outcome says which, so duplicates are visible in logs. */
export function startBatch(client: Client, spec: PipelineSpec, batch: Batch, taskQueue: string): Promise<StartOutcome> {
  return startOrAttach(client, { spec, batch }, { redo: false, taskQueue, trigger: 's3-event' });
}

export const describeOutcome = (batch: Batch, o: StartOutcome): string =>
  o.outcome === 'started'
    ? `batch ${batch.id}: started ${o.workflowId} run ${o.runId}`
    : o.outcome === 'attached'
      ? `batch ${batch.id}: already running as ${o.workflowId} run ${o.runId}; no second run`
      : `batch ${batch.id}: already completed as ${o.workflowId}; not started again (glueline run ... --rerun to redo it)`;

export interface ConsumeOptions extends S3TriggerOptions {
  sqs: SQSClient;
  queueUrl: string;
  client: Client;
  taskQueue: string;
  /** A batch starts once no event for it arrived for this long. @default 30_000 */
  quietMs?: number;
  /** Longest wait of one ReceiveMessage call. @default 20 */
  waitTimeSeconds?: number;
  /** Return once nothing is pending and the queue gave nothing (for tests and one-shot runs). @default false */
  stopWhenIdle?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/**
 * Consumes S3 events from an SQS queue until `signal` aborts (or, with stopWhenIdle, the queue is
 * drained). A message is deleted once every batch it names has been started (or found running or
 * completed), so a crash before that redelivers it, and its batch is started then.
 */
export async function consumeS3Events(options: ConsumeOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  const quietMs = options.quietMs ?? 30_000;
  const grouper = new BatchGrouper();
  /** Receipt handle per message, and the batches it names that are still to start. */
  const messages = new Map<string, { receipt: string; batches: Set<string> }>();
  const remove = async (messageId: string) => {
    const m = messages.get(messageId);
    if (!m) return;
    messages.delete(messageId);
    await options.sqs
      .send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: m.receipt }))
      .catch((err: Error) =>
        log(`could not delete message ${messageId} (it will come again, harmlessly): ${err.message}`),
      );
  };
  // Messages must stay hidden while their batch waits for quiet.
  const visibility = Math.ceil(quietMs / 1000) + 60;
  while (!options.signal?.aborted) {
    const waitSeconds = grouper.size
      ? Math.min(options.waitTimeSeconds ?? 20, Math.max(1, Math.ceil(quietMs / 1000)))
      : (options.waitTimeSeconds ?? 20);
    const received = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: visibility,
      }),
      { abortSignal: options.signal },
    );
    const now = Date.now();
    for (const message of received.Messages ?? []) {
      const id = message.MessageId!;
      const batches = new Set<string>();
      for (const object of parseS3Events(message.Body ?? '')) {
        const found = batchOf(options, object);
        if ('ignored' in found) {
          log(`ignored s3://${object.bucket}/${object.key}: ${found.ignored}`);
          continue;
        }
        if ('refused' in found) {
          log(await startRefusedBatch(options.client, options.spec, found, options.taskQueue));
          continue;
        }
        grouper.add(found.batch, object.key, id, now);
        batches.add(found.batch.id);
      }
      // A redelivered message (same id, new receipt) names the same batches again.
      const known = messages.get(id)?.batches ?? new Set<string>();
      messages.set(id, { receipt: message.ReceiptHandle!, batches: new Set([...known, ...batches]) });
      if (batches.size === 0) await remove(id);
    }
    for (const due of grouper.takeDue(Date.now(), quietMs)) {
      const outcome = await startBatch(options.client, options.spec, due.batch, options.taskQueue);
      log(`${describeOutcome(due.batch, outcome)} (${due.keys.length} object event(s))`);
      for (const id of due.messages) {
        const m = messages.get(id);
        m?.batches.delete(due.batch.id);
        if (m && m.batches.size === 0) await remove(id);
      }
    }
    // Keep the still-waiting messages hidden as long as their batch waits.
    for (const id of grouper.pendingMessages()) {
      const m = messages.get(id);
      if (m)
        await options.sqs
          .send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: options.queueUrl,
              ReceiptHandle: m.receipt,
              VisibilityTimeout: visibility,
            }),
          )
          .catch(() => undefined);
    }
    if (options.stopWhenIdle && grouper.size === 0 && !(received.Messages ?? []).length) return;
  }
}
