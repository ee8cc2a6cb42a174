/** `status <workflowId>` (one look at the progress query) and `follow <workflowId>` (live until it closes). */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY, type PipelineProgress, type PipelineResult } from '../workflow-safe/pipeline';
import { asClosed, formatProgressLines, formatSummary } from './progress-view';
import { jsonOption, parseCommandArgs, printJson, runLink, UsageError, withClient, type CommandIo } from './common';
import { watchRun } from './live-view';
import { noWorkerMessage, workerPolls } from './worker-check';

export const statusUsage = `usage: glueline status <workflowId> [--run-id R] [--json]

Prints the run's status and one line per step instance (status, time, AWS ids, counts, error), from
the run's progress query. Works on closed runs too (a worker answers the query by replaying the history;
with no worker polling the run's task queue, no worker is asked: a completed run's result is shown instead, else
which queue has no worker). Exit 0 when the run succeeded or
is running, 1 when it failed, was cancelled or terminated.

  --json   print one JSON document instead: {workflowId, runId, type, status, url, progress, result}
           (progress: the progress query's answer or null; result: a completed run's result or null)

A closed run's steps that never ran (an earlier step failed, or the run was cancelled or terminated first) show
as not-run, with the reason, in the text and in --json (progress.steps[].status "not-run", skipReason).

the same with the temporal CLI:
  temporal workflow query --workflow-id <workflowId> --name progress
  temporal workflow describe --workflow-id <workflowId>
`;

export const followUsage = `usage: glueline follow <workflowId> [--run-id R]

Follows a run live, one line per step instance updated as it moves (on a terminal, redrawn in place;
otherwise a line each time a step's status changes), until the run closes; then prints the summary.
With no worker polling the run's task queue, it says so on stderr first, and shows a closed run as
status does. Exit 0 when the run succeeded, 1 otherwise.

the same with the temporal CLI:
  temporal workflow query --workflow-id <workflowId> --name progress   (repeat it)
  temporal workflow result --workflow-id <workflowId>
`;

const options = { 'run-id': { type: 'string' } } as const;

function target(command: string, positionals: string[]): string {
  if (positionals.length !== 1)
    throw new UsageError(`${command} takes one workflow id, e.g. glueline ${command} csv-pipeline-sales-2026-11-26`);
  return positionals[0]!;
}

async function describeOrExplain(handle: WorkflowHandle) {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UsageError(`no workflow ${handle.workflowId} in this namespace: check the id (glueline status <id>)`);
    throw err;
  }
}

/** The `status` command. @returns the exit code. */
export async function statusCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', args, { ...options, ...jsonOption });
  if (values.help) {
    io.out(statusUsage);
    return 0;
  }
  const workflowId = target('status', positionals);
  return withClient(async (client, namespace) => {
    const { idleQueue, ...s } = await readStatus(client, namespace, workflowId, values['run-id']);
    if (values.json) printJson(io, s);
    else showStatus(io, s, idleQueue && noWorkerMessage(idleQueue, namespace));
    return statusExitCode(s.status);
  });
}

const statusExitCode = (status: string): number =>
  ['RUNNING', 'COMPLETED', 'CONTINUED_AS_NEW'].includes(status) ? 0 : 1;

/** What `status` shows of a run, and its `--json` document. */
export interface RunStatus {
  workflowId: string;
  runId: string;
  /** The workflow type: csvPipeline, pipelineStep. */
  type: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT... */
  status: string;
  /** The run's page in the Temporal UI. */
  url: string;
  /** The progress query's answer; null when no worker answered it. */
  progress: PipelineProgress | null;
  /** A completed run's result, read from its history when no worker answered the query; null otherwise. */
  result: PipelineResult | null;
}

/** The run's status; `idleQueue`: its task queue, when no worker polls it (so no worker was asked). */
async function readStatus(
  client: Client,
  namespace: string,
  workflowId: string,
  runId?: string,
): Promise<RunStatus & { idleQueue?: string }> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const d = await describeOrExplain(handle);
  // Asked only when a worker polls the run's queue: with none, the server holds the query half a minute, silently.
  const polled = await workerPolls(client, namespace, d.taskQueue, 0);
  const answer = polled ? await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined) : undefined;
  const progress = answer ? asClosed(answer, d.status.name) : null;
  const result =
    !progress && d.status.name === 'COMPLETED'
      ? ((await client.workflow.getHandle(workflowId, d.runId).result()) as PipelineResult)
      : null;
  return {
    workflowId,
    runId: d.runId,
    type: d.type,
    status: d.status.name,
    url: runLink(namespace, workflowId, d.runId),
    progress,
    result,
    ...(polled ? {} : { idleQueue: d.taskQueue }),
  };
}

function showStatus(io: CommandIo, s: RunStatus, noWorker?: string): void {
  io.out(`${s.type} ${s.workflowId} run ${s.runId}: ${s.status}`);
  io.out(`  ${s.url}`);
  if (s.progress) for (const line of formatProgressLines(s.progress)) io.out(line);
  else if (s.result) for (const line of formatSummary(s.result)) io.out(line);
  else if (noWorker) io.out(`(no progress: ${noWorker})`);
  else io.out('(no progress: no worker answered the progress query; start one with glueline worker)');
}

/** The `follow` command. @returns the exit code. */
export async function followCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('follow', args, options);
  if (values.help) {
    io.out(followUsage);
    return 0;
  }
  const workflowId = target('follow', positionals);
  return withClient(async (client, namespace) => {
    const handle = client.workflow.getHandle(workflowId, values['run-id']);
    const d = await describeOrExplain(handle);
    const polled = await workerPolls(client, namespace, d.taskQueue, 0);
    if (!polled && d.status.name !== 'RUNNING') {
      // A closed run has nothing left to follow, and no worker would answer its progress query: show it as status does.
      const { idleQueue, ...s } = await readStatus(client, namespace, workflowId, d.runId);
      showStatus(io, s, idleQueue && noWorkerMessage(idleQueue, namespace));
      return statusExitCode(s.status);
    }
    io.out(`following ${d.type} ${workflowId} run ${d.runId}`);
    io.out(`  ${runLink(namespace, workflowId, d.runId)}`);
    // The progress comes from a worker: say so before waiting for one.
    if (!polled) io.err(`warning: ${noWorkerMessage(d.taskQueue, namespace)}; its progress shows once one does`);
    return watchRun(client.workflow.getHandle(workflowId, d.runId), io);
  });
}
