/**
 * `glueline freshness --spec <file>`: sets up the pipeline's freshness watch (src/workflows/freshness-watch.ts) as
 * the spec's `freshness` section says: starts it, gives a running one the new settings, or stops it when the
 * section is gone. Run it after every change of the section, as `provision` is run after a change of the rest.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  describeRule,
  FRESHNESS_CONFIGURE_SIGNAL,
  FRESHNESS_WORKFLOW,
  freshnessWatchInput,
  freshnessWorkflowId,
  type FreshnessWatchInput,
} from '../workflow-safe/freshness';
import { SearchAttributeKeys } from '../workflow-safe/pipeline';
import type { PipelineSpec } from '../workflow-safe/spec';
import { parseCommandArgs, runLink, taskQueue, UsageError, withClient, type CommandIo } from './common';
import { loadSpec } from './spec-arg';

export const freshnessUsage = `usage: glueline freshness --spec <file>

Sets up the pipeline's freshness watch from the spec's freshness section: a workflow run by Temporal
(workflow id freshness-watch-<pipeline>, type ${FRESHNESS_WORKFLOW}) that notifies once per window with no batch
completed (no run started, a run failed, or a run still going) and once when data is back. Starts the watch,
gives a running one the spec's new settings, or stops it when the spec has no freshness section. Its state:
glueline health --pipeline <name>. The worker must be running for the watch to run.

the same with the temporal CLI:
  temporal workflow start --type ${FRESHNESS_WORKFLOW} --task-queue glueline --workflow-id freshness-watch-<name> \\
    --input-file watch-input.json        ({"pipeline", "freshness", "notify", "sentRecord"})
  temporal workflow signal --workflow-id freshness-watch-<name> --name ${FRESHNESS_CONFIGURE_SIGNAL} --input null   (stops it)
`;

const options = { spec: { type: 'string' } } as const;

/** What {@link applyFreshness} did. */
export type FreshnessAction = 'started' | 'updated' | 'stopped' | 'none';

/** Starts, updates or stops the spec's watch. @returns what it did */
export async function applyFreshness(client: Client, spec: PipelineSpec): Promise<FreshnessAction> {
  const workflowId = freshnessWorkflowId(spec.name);
  const input = freshnessWatchInput(spec);
  const handle = client.workflow.getHandle(workflowId);
  const running = await handle.describe().then(
    (d) => d.status.name === 'RUNNING',
    (err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    },
  );
  if (!input) {
    if (!running) return 'none';
    await handle.signal<[FreshnessWatchInput | null]>(FRESHNESS_CONFIGURE_SIGNAL, null);
    return 'stopped';
  }
  if (!running) {
    try {
      await client.workflow.start(FRESHNESS_WORKFLOW, {
        workflowId,
        taskQueue: taskQueue(),
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        staticSummary: `${spec.name}: freshness watch, a batch ${describeRule(input.freshness)}`,
        typedSearchAttributes: [{ key: SearchAttributeKeys.pipeline, value: spec.name }],
      });
      return 'started';
    } catch (err) {
      // Started by someone else in the meantime: give it these settings.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  await handle.signal<[FreshnessWatchInput | null]>(FRESHNESS_CONFIGURE_SIGNAL, input);
  return 'updated';
}

/** The `freshness` command. @returns the exit code. */
export async function freshnessCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('freshness', args, options);
  if (values.help) {
    io.out(freshnessUsage);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument(s) ${positionals.join(' ')}: give --spec FILE`);
  const spec = loadSpec(values.spec);
  return withClient(async (client, namespace) => {
    const action = await applyFreshness(client, spec);
    const id = freshnessWorkflowId(spec.name);
    const rule = spec.freshness ? describeRule(spec.freshness) : '';
    const said: Record<FreshnessAction, string> = {
      started: `started the freshness watch ${id}: a batch ${rule}`,
      updated: `updated the freshness watch ${id}: a batch ${rule}`,
      stopped: `stopped the freshness watch ${id}: the spec has no freshness section`,
      none: `no freshness watch: the spec has no freshness section (and ${id} is not running)`,
    };
    io.out(said[action]);
    if (action === 'started' || action === 'updated') {
      const run = await client.workflow.getHandle(id).describe();
      io.out(`  in the Temporal UI: ${runLink(namespace, id, run.runId)}`);
    }
    return 0;
  });
}
