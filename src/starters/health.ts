/**
 * `health --pipeline <name>`: a pipeline's recent batches at a glance (status, rows in/out/rejected and the
 * rejected share, each region's reconciliation, warnings, the failed step, duration), from Temporal's visibility
 * (runs found by the GluelinePipeline search attribute) and each run's progress query, or its result.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { FRESHNESS_QUERY, freshnessWorkflowId, type FreshnessState } from '../workflow-safe/freshness';
import { PROGRESS_QUERY, WorkflowType, type PipelineProgress } from '../workflow-safe/pipeline';
import { parseCommandArgs, UsageError, withClient, type CommandIo } from './common';
import { formatDuration } from './progress-view';

export const healthUsage = `usage: glueline health --pipeline <name> [--limit N] [--json]

Lists the pipeline's most recent csvPipeline runs, newest first (default 20): status, rows in, out and
rejected (with the rejected share), each region's reconciliation (rows counted after the refresh against
rowsOut), warnings, the step a failed run failed at, and how long it took. First, the freshness watch's state
when the spec has a freshness section (glueline freshness): the rule, fresh or missed (each missed window and
what was found), the last good batch and the next deadline. --json prints one JSON document: {pipeline,
freshness, batches}.
The progress of a closed run comes from a worker replaying it; with none running, a completed run's result.

the same with the temporal CLI:
  temporal workflow list --query "GluelinePipeline = '<name>' AND WorkflowType = 'csvPipeline'"
`;

/** One batch run as the health command shows it. */
export interface BatchHealth {
  batchId: string;
  workflowId: string;
  runId: string;
  status: string;
  startedAt: string;
  durationMs?: number;
  rowsIn?: number;
  rowsOut?: number;
  rowsRejected?: number;
  /** rowsRejected / rowsIn, to 4 places. */
  rejectedRatio?: number;
  /** Per region: rows counted after the refresh, rowsOut, and whether they matched. */
  reconciliation: { region: string; actualRows: number; expectedRows: number; matched: boolean }[];
  warnings: { step: string; limit: string; value: number; threshold: number }[];
  failedStep?: { step: string; type: string; message: string };
}

const options = { pipeline: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } } as const;

/** The `health` command. @returns the exit code: 0, or 1 when the newest batch failed. */
export async function healthCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('health', args, options);
  if (values.help) {
    io.out(healthUsage);
    return 0;
  }
  const pipeline = values.pipeline;
  if (!pipeline || !/^[a-z][a-z0-9-]{0,39}$/.test(pipeline))
    throw new UsageError(`--pipeline ${pipeline ?? '(missing)'} is not a pipeline name: give the spec's name`);
  const limit = Number(values.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit ${values.limit} is not a whole number from 1 to 1000`);
  const [batches, freshness] = await withClient((client) =>
    Promise.all([recentBatches(client, pipeline, limit), freshnessOf(client, pipeline)]),
  );
  if (values.json) io.out(JSON.stringify({ pipeline, freshness: freshness ?? null, batches }, null, 2));
  else for (const line of [...formatFreshness(freshness), ...formatHealth(pipeline, batches)]) io.out(line);
  return batches[0]?.status === 'failed' ? 1 : 0;
}

/** The pipeline's newest `limit` csvPipeline runs, with their figures. */
export async function recentBatches(client: Client, pipeline: string, limit: number): Promise<BatchHealth[]> {
  const runs: WorkflowExecutionInfo[] = [];
  const query = `GluelinePipeline = '${pipeline}' AND WorkflowType = '${WorkflowType.pipeline}'`;
  for await (const run of client.workflow.list({ query })) {
    runs.push(run);
    if (runs.length >= limit) break;
  }
  return Promise.all(runs.map((run) => batchHealth(client, run)));
}

async function batchHealth(client: Client, run: WorkflowExecutionInfo): Promise<BatchHealth> {
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  const progress =
    (await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined)) ??
    (run.status.name === 'COMPLETED' ? ((await handle.result()) as PipelineProgress) : undefined);
  const transform = progress?.steps.find((s) => s.name === 'transform' && s.counts.rowsIn !== undefined);
  const counts = transform?.counts ?? progress?.steps.find((s) => s.counts.rowsIn !== undefined)?.counts;
  const failed = progress?.steps.find((s) => s.status === 'failed' && s.error);
  const ended = run.closeTime ?? undefined;
  return {
    batchId: progress?.batchId ?? String(run.memo?.batchId ?? ''),
    workflowId: run.workflowId,
    runId: run.runId,
    status: progress?.status ?? run.status.name.toLowerCase(),
    startedAt: run.startTime.toISOString(),
    ...(ended ? { durationMs: ended.getTime() - run.startTime.getTime() } : {}),
    ...(counts?.rowsIn !== undefined
      ? {
          rowsIn: counts.rowsIn,
          rowsOut: counts.rowsOut,
          rowsRejected: counts.rowsRejected,
          rejectedRatio: counts.rowsIn ? Math.round(((counts.rowsRejected ?? 0) / counts.rowsIn) * 10_000) / 10_000 : 0,
        }
      : {}),
    reconciliation: (progress?.steps ?? [])
      .filter((s) => s.reconciliation)
      .map((s) => ({
        region: s.region!,
        actualRows: s.reconciliation!.actualRows,
        expectedRows: s.reconciliation!.expectedRows,
        matched: s.reconciliation!.matched,
      })),
    warnings: (progress?.warnings ?? []).map(({ step, limit, value, threshold }) => ({
      step,
      limit,
      value,
      threshold,
    })),
    ...(failed ? { failedStep: { step: failed.step, type: failed.error!.type, message: failed.error!.message } } : {}),
  };
}

/** One line per batch, newest first. */
export function formatHealth(pipeline: string, batches: BatchHealth[]): string[] {
  if (batches.length === 0) return [`no csvPipeline runs of pipeline ${pipeline} in this namespace`];
  return [
    `pipeline ${pipeline}: the ${batches.length} most recent batch run(s), newest first`,
    ...batches.map((b) => {
      const rows =
        b.rowsIn === undefined
          ? 'rows -'
          : `rows ${b.rowsIn} in, ${b.rowsOut} out, ${b.rowsRejected} rejected (${(b.rejectedRatio! * 100).toFixed(1)}%)`;
      const recon = b.reconciliation.length
        ? `reconciled ${b.reconciliation.map((r) => `${r.region} ${r.matched ? 'ok' : `MISMATCH ${r.actualRows}/${r.expectedRows}`}`).join(', ')}`
        : '';
      const warned = b.warnings.length ? `warnings ${b.warnings.map((w) => w.limit).join(', ')}` : '';
      const failed = b.failedStep ? `failed at ${b.failedStep.step} (${b.failedStep.type})` : '';
      const took = b.durationMs === undefined ? '' : formatDuration(b.durationMs);
      return [b.batchId, b.status, took, rows, recon, warned, failed].filter(Boolean).join('  ');
    }),
  ];
}

/** The freshness watch's state; undefined when the pipeline has none running (or no worker answers). */
export async function freshnessOf(client: Client, pipeline: string): Promise<FreshnessState | undefined> {
  const handle = client.workflow.getHandle(freshnessWorkflowId(pipeline));
  const running = await handle.describe().then(
    (d) => d.status.name === 'RUNNING',
    () => false,
  );
  if (!running) return undefined;
  return handle.query<FreshnessState>(FRESHNESS_QUERY).catch((err: unknown) => {
    throw new Error(
      `the freshness watch ${handle.workflowId} runs but did not answer its query (${(err as Error).message}): ` +
        'start a worker (glueline worker) and try again',
    );
  });
}

const batchText = (b: { batchId: string; completedAt: string }) => `${b.batchId} (completed ${b.completedAt})`;

/** The freshness lines of `health`: the rule, fresh or missed, the last good batch, the next deadline. */
export function formatFreshness(state: FreshnessState | undefined): string[] {
  if (!state) return ['freshness: no watch (no freshness section in the spec, or glueline freshness was not run)'];
  const status =
    state.status === 'missed'
      ? `MISSED ${state.missed.length} window(s)`
      : state.status === 'fresh'
        ? 'fresh'
        : 'waiting for the first deadline';
  return [
    `freshness: a batch ${state.rule}: ${status}; last good batch ${state.lastGood ? batchText(state.lastGood) : 'none'}; next deadline ${state.nextDeadline}`,
    ...state.missed.map((m) => `  missed ${m.start} to ${m.end}: ${m.found}: ${m.detail}`),
  ];
}
