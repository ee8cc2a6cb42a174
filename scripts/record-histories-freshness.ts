/**
 * The freshness watch's scenario of `npm run record-histories` (scripts/record-histories.ts): a watch with a
 * 10-second window on the recorder's pipeline, started by the code of `glueline freshness`. It records three runs
 * of the one workflow id, each a history of its own: the run that judged a window missed and sent the no-data
 * notice, the run that saw a late batch complete and sent the data-back notice, and the run that the `configure`
 * signal with `null` stopped. Every wait is for a condition (a webhook post, a run's end), never for a time.
 */
import type { Client } from '@temporalio/client';
import { applyFreshness } from '../src/starters/freshness-setup';
import { freshnessWorkflowId } from '../src/workflow-safe/freshness';
import { csvPipelineStartOptions } from '../src/starters/start-options';
import type { PipelineSpec } from '../src/workflow-safe/spec';
import type { GatewayControl } from '../devstack/testkit/gateway';
import { pollUntil } from '../devstack/testkit/poll';
import { landBatch } from '../devstack/testkit/scripted-pipeline';

/** What the scenario needs of the recorder. */
export interface FreshnessContext {
  client: Client;
  spec: PipelineSpec;
  gateway: GatewayControl;
  webhook: { requests: { body: string }[] };
}

/** One run of the watch, saved as `<name>.json`. */
export interface NamedRun {
  name: string;
  covers: string;
  run: { workflowId: string; runId: string };
}

/** Windows pass every 10 s; a batch on a busy 2-core machine may take minutes. */
const WAIT_MS = 300_000;

/** The run id of the first watch notice of `kind` the webhook received, once one has. */
async function noticeRun(ctx: FreshnessContext, workflowId: string, kind: string): Promise<string> {
  const find = () =>
    ctx.webhook.requests
      .map((r) => JSON.parse(r.body) as { kind?: string; workflowId?: string; runId?: string })
      .find((n) => n.kind === kind && n.workflowId === workflowId)?.runId;
  const runId = await pollUntil(
    async () => find(),
    (id) => id !== undefined,
    { timeoutMs: WAIT_MS, intervalMs: 250 },
  );
  return runId!;
}

/** Waits for the run to close as `status` (a watch's run closes by continue-as-new after each deadline). */
async function closed(ctx: FreshnessContext, workflowId: string, runId: string, status: string): Promise<void> {
  const handle = ctx.client.workflow.getHandle(workflowId, runId);
  const ended = await pollUntil(
    async () => (await handle.describe()).status.name,
    (s) => s !== 'RUNNING',
    { timeoutMs: WAIT_MS, intervalMs: 250 },
  );
  if (ended !== status) throw new Error(`watch run ${runId} ended ${ended}, expected ${status}`);
}

/** Runs the scenario. @returns the three runs to save */
export async function recordFreshnessWatch(ctx: FreshnessContext): Promise<NamedRun[]> {
  const spec: PipelineSpec = { ...ctx.spec, freshness: { every: '10s', timeZone: 'UTC' } };
  const workflowId = freshnessWorkflowId(spec.name);
  const action = await applyFreshness(ctx.client, spec);
  if (action !== 'started') throw new Error(`glueline freshness ${action} the watch ${workflowId}, expected started`);

  const missedRun = await noticeRun(ctx, workflowId, 'freshness-missed');
  await closed(ctx, workflowId, missedRun, 'CONTINUED_AS_NEW');

  // A late batch: the watch's rechecks find it completed and send the data-back notice.
  const batch = await landBatch(spec, 'late-for-freshness');
  await ctx.gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 1 }]);
  const pipeline = await ctx.client.workflow.start('csvPipeline', csvPipelineStartOptions({ spec, batch }));
  await pipeline.result();
  const backRun = await noticeRun(ctx, workflowId, 'freshness-back');
  await closed(ctx, workflowId, backRun, 'CONTINUED_AS_NEW');

  // A spec without the section: the watch's current run takes the null configure and returns.
  const { freshness: _, ...without } = spec;
  const stopped = await applyFreshness(ctx.client, without as PipelineSpec);
  if (stopped !== 'stopped') throw new Error(`glueline freshness ${stopped} the watch, expected stopped`);
  const { runId: lastRun } = await ctx.client.workflow.getHandle(workflowId).describe();
  await closed(ctx, workflowId, lastRun, 'COMPLETED');

  return [
    {
      name: 'freshness-missed',
      covers:
        'freshnessWatch (10 s window): the durable timer to the deadline, checkFreshness, the no-data notice by ' +
        'email and webhook, then continue-as-new with the missed window carried',
      run: { workflowId, runId: missedRun },
    },
    {
      name: 'freshness-back',
      covers:
        'freshnessWatch while windows are missed: rechecks every quarter window until a late batch completed, the ' +
        'data-back notice, then continue-as-new',
      run: { workflowId, runId: backRun },
    },
    {
      name: 'freshness-stopped',
      covers: 'freshnessWatch stopped by the configure signal with null (glueline freshness on a spec without it)',
      run: { workflowId, runId: lastRun },
    },
  ];
}
