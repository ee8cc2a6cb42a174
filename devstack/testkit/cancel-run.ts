/**
 * A run cancelled mid-step on the real stack, for the cancellation tests and the cancel bench: the worker as its
 * own process, the run started with the temporal CLI, `temporal workflow cancel`'s request sent once the step's
 * AWS work is under way, the run followed to its end, and the failure emails about its batch collected.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { SinkMessage } from '../mail-sink';
import { pipelineWorkflowId, PROGRESS_QUERY, type PipelineProgress } from '../../src/workflow-safe/pipeline';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { pollUntil } from './poll';
import { stack, unique } from './stack';
import {
  startWorker,
  stackWorkerEnv,
  stopWorker,
  temporalWorkflowStart,
  waitForOutput,
  type WorkerProcess,
} from './worker-process';

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** Long enough for a busy 2-core machine to reach a step that follows a few others. */
export const CANCEL_STEP_TIMEOUT_MS = 180_000;

/** What a cancelled run left behind. */
export interface CancelledRun {
  handle: WorkflowHandle;
  /** What `handle.result()` rejected with (undefined when the run completed: the cancel was ignored). */
  error: unknown;
  /** The progress when the cancel was sent. */
  progressAtCancel: PipelineProgress;
  /** The failure emails about this batch. */
  emails: SinkMessage[];
}

/** A worker process on the test stack with its own task queue, and a client. */
export class CancelTestWorker {
  readonly taskQueue = unique('e2e-cancel');
  private worker?: WorkerProcess;
  private connection?: Connection;
  client?: Client;

  /** Starts the worker (`env` on top of the test stack's) and connects a client. */
  async start(env: Record<string, string> = {}): Promise<void> {
    this.worker = startWorker(stackWorkerEnv(this.taskQueue, env));
    await waitForOutput(this.worker, 'glueline worker started');
    this.connection = await Connection.connect({ address: stack().temporal.address });
    this.client = new Client({ connection: this.connection, namespace: stack().temporal.namespace });
  }

  /**
   * Starts csvPipeline for `spec` and `batch` (with `options`) as an operator would, waits until `ready` holds for
   * the run's progress and the activity `waitActivity` is running (`count` of them, one per region), cancels the
   * run, and waits for it to end.
   */
  async cancelWhen(options: {
    spec: PipelineSpec;
    batch: Batch;
    runOptions?: Record<string, unknown>;
    ready: (p: PipelineProgress) => boolean;
    waitActivity: string;
    count?: number;
    /** Checked after `ready` and the running waits, before the cancel: the AWS work's own state. */
    readyInAws?: (p: PipelineProgress) => Promise<boolean>;
  }): Promise<CancelledRun> {
    const { spec, batch } = options;
    const workflowId = pipelineWorkflowId(spec, batch);
    temporalWorkflowStart({
      type: 'csvPipeline',
      taskQueue: this.taskQueue,
      workflowId,
      input: { spec, batch, ...(options.runOptions ? { options: options.runOptions } : {}) },
    });
    const handle = this.client!.workflow.getHandle(workflowId);
    const waits = options.count ?? 1;
    await pollUntil(
      async () => {
        const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
        if (!progress || !options.ready(progress)) return false;
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const running = pending.filter((a) => a.activityType?.name === options.waitActivity && a.state === STARTED);
        if (running.length < waits) return false;
        return options.readyInAws ? options.readyInAws(progress) : true;
      },
      (ready) => ready,
      { timeoutMs: CANCEL_STEP_TIMEOUT_MS, intervalMs: 250 },
    );
    const progressAtCancel = await handle.query<PipelineProgress>(PROGRESS_QUERY);
    await handle.cancel();
    const error = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    // The notice is sent before the run closes, so the sink holds it by now.
    const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
    const emails = inbox.filter((m) => m.subject.includes(`batch ${batch.id} `));
    return { handle, error, progressAtCancel, emails };
  }

  async stop(): Promise<void> {
    if (this.worker) await stopWorker(this.worker);
    await this.connection?.close();
  }
}

/** The names of the activities scheduled in a run's history, in order. */
export async function scheduledActivities(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => !!n);
}
