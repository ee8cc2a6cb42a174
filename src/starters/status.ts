/** `status <workflowId>` (one look at the progress query) and `follow <workflowId>` (live until it closes). */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY, type PipelineProgress, type PipelineResult } from '../workflow-safe/pipeline';
import { formatProgressLines, formatSummary } from './progress-view';
import { parseCommandArgs, runLink, UsageError, withClient, type CommandIo } from './common';
import { watchRun } from './live-view';

export const statusUsage = `usage: npm run glueline -- status <workflowId> [--run-id R]

Prints the run's status and one line per step instance (status, time, AWS ids, counts, error), from
the run's progress query. Works on closed runs too (a worker answers the query by replaying the history;
with no worker running, a completed run's result is shown instead). Exit 0 when the run succeeded or
is running, 1 when it failed, was cancelled or terminated.

the same with the temporal CLI:
  temporal workflow query --workflow-id <workflowId> --name progress
  temporal workflow describe --workflow-id <workflowId>
`;

export const followUsage = `usage: npm run glueline -- follow <workflowId> [--run-id R]

Follows a run live, one line per step instance updated as it moves (on a terminal, redrawn in place;
otherwise a line each time a step's status changes), until the run closes; then prints the summary.
Exit 0 when the run succeeded, 1 otherwise.

the same with the temporal CLI:
  temporal workflow query --workflow-id <workflowId> --name progress   (repeat it)
  temporal workflow result --workflow-id <workflowId>
`;

const options = { 'run-id': { type: 'string' } } as const;

function target(command: string, positionals: string[]): string {
  if (positionals.length !== 1)
    throw new UsageError(
      `${command} takes one workflow id, e.g. npm run glueline -- ${command} csv-pipeline-sales-2026-11-26`,
    );
  return positionals[0]!;
}

async function describeOrExplain(handle: WorkflowHandle) {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UsageError(
        `no workflow ${handle.workflowId} in this namespace: check the id (npm run glueline -- status <id>)`,
      );
    throw err;
  }
}

/** The `status` command. @returns the exit code. */
export async function statusCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', args, options);
  if (values.help) {
    io.out(statusUsage);
    return 0;
  }
  const workflowId = target('status', positionals);
  return withClient((client, namespace) => showStatus(client, namespace, io, workflowId, values['run-id']));
}

async function showStatus(client: Client, namespace: string, io: CommandIo, workflowId: string, runId?: string) {
  const handle = client.workflow.getHandle(workflowId, runId);
  const d = await describeOrExplain(handle);
  io.out(`${d.type} ${workflowId} run ${d.runId}: ${d.status.name}`);
  io.out(`  ${runLink(namespace, workflowId, d.runId)}`);
  const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
  if (progress) for (const line of formatProgressLines(progress)) io.out(line);
  else if (d.status.name === 'COMPLETED')
    for (const line of formatSummary((await handle.result()) as PipelineResult)) io.out(line);
  else io.out('(no progress: no worker answered the progress query; start one with npm run worker)');
  return ['RUNNING', 'COMPLETED', 'CONTINUED_AS_NEW'].includes(d.status.name) ? 0 : 1;
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
    io.out(`following ${d.type} ${workflowId} run ${d.runId}`);
    io.out(`  ${runLink(namespace, workflowId, d.runId)}`);
    return watchRun(client.workflow.getHandle(workflowId, d.runId), io);
  });
}
