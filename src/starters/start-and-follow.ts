/**
 * A start as the operator sees it: starts a batch's run (or attaches to the running one), prints the
 * workflow and its UI link, and with --wait follows it live. Shared by run and redrive.
 */
import type { Client } from '@temporalio/client';
import type { PipelineInputRaw } from '../workflow-safe/run-input';
import { asUsageError, humanIo, printJson, runLink, taskQueue, type CommandIo } from './common';
import { awaitOutcome, watchRun, type RunOutcome } from './live-view';
import { startOrAttach, type StartOutcome } from './start-options';
import { noWorkerMessage, workerPolls } from './worker-check';

/** `run --json`'s document (and step's and redrive's): what the start did and, with --wait, how the run ended. */
export interface StartDocument extends Partial<RunOutcome> {
  /** started: a new run; attached: the batch was already running; completed: it had completed, nothing started. */
  outcome: StartOutcome['outcome'];
  batchId: string;
  /** `step`: the step instance run alone (`crawl-curated@eu-west-1`). */
  step?: string;
  /** `redrive`: the run redriven, and the step the new run starts at. */
  redrive?: { runId: string; status: string; from: string };
  workflowId: string;
  runId: string | null;
  url: string | null;
}

/** What a start is of, for the lines a person reads: `batch 2026-11-26`, `crawl-raw of batch 2026-11-26`. */
const subject = (document: StartDocument) => `${document.step ? `${document.step} of ` : ''}batch ${document.batchId}`;

/**
 * Starts the run (or attaches to the running one); with `wait`, follows it. With `json`, the lines for a person go
 * to stderr and stdout gets one {@link StartDocument}. @returns the exit code.
 */
export async function startPipeline(
  client: Client,
  namespace: string,
  stdio: CommandIo,
  input: PipelineInputRaw,
  flags: { rerun: boolean; wait: boolean; json?: boolean; redrive?: StartDocument['redrive'] },
): Promise<number> {
  const io = humanIo(stdio, flags.json);
  const queue = taskQueue();
  // --wait with no worker would wait for ever in silence; without --wait the run may wait for a worker to come.
  if (flags.wait && !(await workerPolls(client, namespace, queue))) {
    io.err(`${noWorkerMessage(queue, namespace)}; nothing was started`);
    return 1;
  }
  let started: StartOutcome;
  try {
    started = await startOrAttach(client, input, { redo: flags.rerun, taskQueue: queue });
  } catch (err) {
    asUsageError(err);
  }
  const document: StartDocument = {
    outcome: started.outcome,
    batchId: input.batch.id,
    ...(flags.redrive ? { redrive: flags.redrive } : {}),
    workflowId: started.workflowId,
    runId: started.outcome === 'completed' ? null : started.runId,
    url: started.outcome === 'completed' ? null : runLink(namespace, started.workflowId, started.runId),
  };
  if (started.outcome === 'completed') {
    io.out(
      `batch ${input.batch.id} already completed (workflow ${started.workflowId}); nothing started. ` +
        `Run it again with --rerun, or look at it with: glueline status ${started.workflowId}`,
    );
    if (flags.json) printJson(stdio, document);
    return 0;
  }
  return reportStart(client, namespace, stdio, { ...document, runId: started.runId }, flags);
}

/**
 * After a start (or an attach): the workflow and its UI link; without `wait`, how to follow it and a warning when
 * no worker polls; with `wait`, the live view (or, with `json`, the run's outcome in the document).
 * @returns the exit code: 0, or with `wait` 0 if the run succeeded and 1 if not
 */
export async function reportStart(
  client: Client,
  namespace: string,
  stdio: CommandIo,
  document: StartDocument & { runId: string },
  flags: { wait: boolean; json?: boolean },
): Promise<number> {
  const io = humanIo(stdio, flags.json);
  const { workflowId, runId } = document;
  io.out(
    document.outcome === 'attached'
      ? `${subject(document)} is already running: attached to workflow ${workflowId} run ${runId}`
      : `started workflow ${workflowId} run ${runId}`,
  );
  io.out(`  ${runLink(namespace, workflowId, runId)}`);
  if (!flags.wait) {
    io.out(`  follow it: glueline follow ${workflowId}`);
    const queue = taskQueue();
    if (!(await workerPolls(client, namespace, queue, 0)))
      io.err(`warning: ${noWorkerMessage(queue, namespace)}; the run waits on the task queue until one does`);
    if (flags.json) printJson(stdio, document);
    return 0;
  }
  const handle = client.workflow.getHandle(workflowId, runId);
  if (!flags.json) return watchRun(handle, io);
  const outcome = await awaitOutcome(handle);
  printJson(stdio, { ...document, ...outcome });
  return outcome.status === 'COMPLETED' ? 0 : 1;
}
