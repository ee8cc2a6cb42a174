/**
 * A start as the operator sees it: starts a batch's run (or attaches to the running one), prints the
 * workflow and its UI link, and with --wait follows it live. Shared by run and redrive.
 */
import type { Client } from '@temporalio/client';
import type { PipelineInputRaw } from '../workflow-safe/run-input';
import { asUsageError, runLink, taskQueue, type CommandIo } from './common';
import { watchRun } from './live-view';
import { startOrAttach, type StartOutcome } from './start-options';

/** Starts the run (or attaches to the running one); with `wait`, follows it. @returns the exit code. */
export async function startPipeline(
  client: Client,
  namespace: string,
  io: CommandIo,
  input: PipelineInputRaw,
  flags: { rerun: boolean; wait: boolean },
): Promise<number> {
  let started: StartOutcome;
  try {
    started = await startOrAttach(client, input, { redo: flags.rerun, taskQueue: taskQueue() });
  } catch (err) {
    asUsageError(err);
  }
  const { workflowId } = started;
  if (started.outcome === 'completed') {
    io.out(
      `batch ${input.batch.id} already completed (workflow ${workflowId}); nothing started. ` +
        `Run it again with --rerun, or look at it with: npm run glueline -- status ${workflowId}`,
    );
    return 0;
  }
  io.out(
    started.outcome === 'attached'
      ? `batch ${input.batch.id} is already running: attached to workflow ${workflowId} run ${started.runId}`
      : `started workflow ${workflowId} run ${started.runId}`,
  );
  io.out(`  ${runLink(namespace, workflowId, started.runId)}`);
  if (!flags.wait) {
    io.out(`  follow it: npm run glueline -- follow ${workflowId}`);
    return 0;
  }
  return watchRun(client.workflow.getHandle(workflowId, started.runId), io);
}
