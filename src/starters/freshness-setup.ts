/**
 * Setting up a pipeline's freshness watch (src/workflows/freshness-watch.ts) from its spec: start it, give a
 * running one the spec's new settings, or stop it when the spec has no `freshness` section. Shared by the two
 * commands that do it, `glueline freshness` and `glueline provision` (no command imports another).
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
import { runLink, taskQueue } from './common';

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

/**
 * Sets up the spec's watch ({@link applyFreshness}) and says what it did: one line, and for a watch that runs, its
 * page in the Temporal UI. @returns what it did and the lines to print
 */
export async function setUpFreshnessWatch(
  client: Client,
  namespace: string,
  spec: PipelineSpec,
): Promise<{ action: FreshnessAction; lines: string[] }> {
  const action = await applyFreshness(client, spec);
  const id = freshnessWorkflowId(spec.name);
  const rule = spec.freshness ? describeRule(spec.freshness) : '';
  const said: Record<FreshnessAction, string> = {
    started: `started the freshness watch ${id}: a batch ${rule}`,
    updated: `updated the freshness watch ${id}: a batch ${rule}`,
    stopped: `stopped the freshness watch ${id}: the spec has no freshness section`,
    none: `no freshness watch: the spec has no freshness section (and ${id} is not running)`,
  };
  const lines = [said[action]];
  if (action === 'started' || action === 'updated') {
    const run = await client.workflow.getHandle(id).describe();
    lines.push(`  in the Temporal UI: ${runLink(namespace, id, run.runId)}`);
  }
  return { action, lines };
}
