/**
 * `glueline list`: a pipeline's recent runs, newest first, from Temporal's visibility store (the GluelinePipeline
 * and GluelineBatch search attributes, the run's status and times) and the outcome memo a run records when it ends
 * (rows in/out/rejected, the failed step).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import {
  OUTCOME_MEMO_KEY,
  PROGRESS_QUERY,
  SearchAttributeKeys,
  WorkflowType,
  type PipelineProgress,
  type PipelineResult,
  type RunOutcomeMemo,
} from '../workflow-safe/pipeline';
import { shellWord } from '../temporal/run-links';
import { jsonOption, parseCommandArgs, printJson, runLink, UsageError, withClient, type CommandIo } from './common';
import { formatDuration, formatTable } from './progress-view';
import { loadSpec } from './spec-arg';
import { workerPolls } from './worker-check';

export const listUsage = `usage: glueline list (--spec <file> | --pipeline <name>) [--limit N] [--json]

Lists a pipeline's recent runs, newest first: its csvPipeline and pipelineStep runs (a schedule's own runs are left
out; the batches they start are listed). One line per run: when it started, the batch, Temporal's status, the
duration (so far, for a running run), rows in/out/rejected and the step that failed, then the workflow id for
\`glueline status\`. Rows and the failed step come from what a run records when it ends: empty while it runs.
A run that ended without recording them (it closed before glueline did, or was terminated) shows its result's
figures, or a worker's replay of it when a worker polls its task queue; otherwise a line below says why not.

  --spec FILE       the pipeline spec (the runs of its name)
  --pipeline NAME   the pipeline's name, instead of --spec
  --limit N         at most N runs (default 20)
  --json            print one JSON document instead: {pipeline, runs: [{batchId, status, type, workflowId, runId,
                    startTime, closeTime, durationMs, rowsIn, rowsOut, rowsRejected, failedStep, figuresFrom
                    (memo, result, progress or null), figuresNote (why none, or null), url}]}

the same with the temporal CLI:
  temporal workflow list --limit 20 \\
    --query "GluelinePipeline = '<name>' AND WorkflowType IN ('csvPipeline', 'pipelineStep')"
`;

const options = {
  spec: { type: 'string' },
  pipeline: { type: 'string' },
  limit: { type: 'string' },
  ...jsonOption,
} as const;

/** One run as `list` shows it, and in its `--json` document. */
export interface ListedRun {
  batchId: string | null;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT... */
  status: string;
  type: string;
  workflowId: string;
  runId: string;
  /** ISO 8601. */
  startTime: string;
  closeTime: string | null;
  /** Close minus start; for a running run, so far. */
  durationMs: number;
  rowsIn: number | null;
  rowsOut: number | null;
  rowsRejected: number | null;
  failedStep: string | null;
  /**
   * Where rows and the failed step came from: the outcome memo a run records as it ends, or, for a run that ended
   * without one (it closed before glueline recorded outcomes, or was terminated), its result (completed) or a
   * worker's replay of it (the progress query); null when there is nothing to show or nothing answered.
   */
  figuresFrom: 'memo' | 'result' | 'progress' | null;
  /** Why a closed run shows no figures, and what would find them; null otherwise. */
  figuresNote: string | null;
  url: string;
}

/** The `list` command. @returns the exit code. */
export async function listCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('list', args, options);
  if (values.help) {
    io.out(listUsage);
    return 0;
  }
  if (positionals.length)
    throw new UsageError(
      `unexpected ${shellWord(positionals[0]!)}: name the pipeline with --spec FILE or --pipeline NAME`,
    );
  const pipeline = pipelineName(values.spec, values.pipeline);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(
      `--limit ${shellWord(values.limit!)} is not a number of runs: use a whole number, e.g. --limit 20`,
    );
  return withClient(async (client, namespace) => {
    const runs = await listRuns(client, namespace, pipeline, limit);
    if (values.json) printJson(io, { pipeline, runs });
    else showRuns(io, pipeline, runs);
    return 0;
  });
}

function pipelineName(spec: string | undefined, pipeline: string | undefined): string {
  if (spec !== undefined && pipeline !== undefined)
    throw new UsageError('--spec and --pipeline both name the pipeline: give one of them');
  if (spec !== undefined) return loadSpec(spec).name;
  if (pipeline === undefined)
    throw new UsageError('name the pipeline: --spec FILE (e.g. --spec specs/local-sales.yaml) or --pipeline NAME');
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(pipeline))
    throw new UsageError(
      `--pipeline ${shellWord(pipeline)} is not a pipeline name: use the spec's name, 1-40 lowercase letters, digits and -`,
    );
  return pipeline;
}

/** The visibility query of a pipeline's runs (the name is checked: no quotes in it). */
export const listQuery = (pipeline: string): string =>
  `${SearchAttributeKeys.pipeline.name} = '${pipeline}' AND WorkflowType IN ('${WorkflowType.pipeline}', '${WorkflowType.step}')`;

/** The first `limit` runs the server lists (running first, then the latest closed), newest start first. */
export async function listRuns(
  client: Client,
  namespace: string,
  pipeline: string,
  limit: number,
): Promise<ListedRun[]> {
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: listQuery(pipeline), pageSize: Math.min(limit, 1000) })) {
    infos.push(info);
    if (infos.length >= limit) break;
  }
  const now = Date.now();
  const sorted = infos.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  const pollers = new Map<string, Promise<boolean>>();
  const polled = (queue: string) => {
    if (!pollers.has(queue)) pollers.set(queue, workerPolls(client, namespace, queue, 0));
    return pollers.get(queue)!;
  };
  return Promise.all(
    sorted.map(async (info) => {
      const found = await figuresOf(client, info, polled);
      return {
        batchId: info.typedSearchAttributes.get(SearchAttributeKeys.batch) ?? null,
        status: info.status.name,
        type: info.type,
        workflowId: info.workflowId,
        runId: info.runId,
        startTime: info.startTime.toISOString(),
        closeTime: info.closeTime?.toISOString() ?? null,
        durationMs: (info.closeTime?.getTime() ?? now) - info.startTime.getTime(),
        rowsIn: found.figures.rowsIn ?? null,
        rowsOut: found.figures.rowsOut ?? null,
        rowsRejected: found.figures.rowsRejected ?? null,
        failedStep: found.figures.failedStep ?? null,
        figuresFrom: found.from,
        figuresNote: found.note,
        url: runLink(namespace, info.workflowId, info.runId),
      };
    }),
  );
}

interface Found {
  figures: RunOutcomeMemo;
  from: ListedRun['figuresFrom'];
  note: string | null;
}

/**
 * A run's rows and failed step: its outcome memo; for a closed run without one, its result (completed) or a
 * worker's replay (the progress query, asked only when a worker polls the run's task queue: otherwise the query
 * would wait for one).
 */
async function figuresOf(
  client: Client,
  info: WorkflowExecutionInfo,
  polled: (queue: string) => Promise<boolean>,
): Promise<Found> {
  const memo = info.memo?.[OUTCOME_MEMO_KEY] as RunOutcomeMemo | undefined;
  if (memo) return { figures: memo, from: 'memo', note: null };
  if (info.status.name === 'RUNNING') return { figures: {}, from: null, note: null };
  const handle = client.workflow.getHandle(info.workflowId, info.runId);
  if (info.status.name === 'COMPLETED') {
    const result = (await handle.result().catch(() => undefined)) as Partial<PipelineResult> | undefined;
    if (result?.steps)
      return { figures: fromProgress(result as PipelineProgress, result.totals), from: 'result', note: null };
  }
  if (!(await polled(info.taskQueue)))
    return {
      figures: {},
      from: null,
      note:
        `ended without recording its figures (before glueline recorded them, or terminated): a worker's replay ` +
        `finds them, and none polls task queue ${info.taskQueue} (start one: glueline worker)`,
    };
  const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch((err: Error) => err);
  if (progress instanceof Error)
    return { figures: {}, from: null, note: `the worker's replay of it failed: ${progress.message}` };
  return { figures: fromProgress(progress), from: 'progress', note: null };
}

/** Rows in/out/rejected (transform's counts, or the result's totals) and the failed step of a run's progress. */
function fromProgress(progress: PipelineProgress, totals?: PipelineResult['totals']): RunOutcomeMemo {
  const counts =
    totals?.rowsIn !== undefined ? totals : progress.steps.find((s) => s.counts.rowsIn !== undefined)?.counts;
  const failed = progress.steps.find((s) => s.status === 'failed');
  return {
    ...(counts?.rowsIn !== undefined
      ? { rowsIn: counts.rowsIn, rowsOut: counts.rowsOut, rowsRejected: counts.rowsRejected }
      : {}),
    ...(failed ? { failedStep: failed.step } : {}),
  };
}

function showRuns(io: CommandIo, pipeline: string, runs: ListedRun[]): void {
  if (runs.length === 0) {
    io.out(
      `no runs of pipeline ${pipeline} in this namespace (runs are found by their GluelinePipeline search attribute)`,
    );
    return;
  }
  const rows = runs.map((r) => [
    r.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    r.batchId ?? '',
    r.status,
    formatDuration(r.durationMs),
    r.rowsIn === null ? '' : `${r.rowsIn}/${r.rowsOut ?? '?'}/${r.rowsRejected ?? '?'}`,
    r.failedStep ?? '',
    r.workflowId,
  ]);
  const header = ['started (UTC)', 'batch', 'status', 'duration', 'rows in/out/rej', 'failed step', 'workflow id'];
  for (const line of formatTable(header, rows)) io.out(line);
  const notes = new Map<string, number>();
  for (const r of runs) if (r.figuresNote) notes.set(r.figuresNote, (notes.get(r.figuresNote) ?? 0) + 1);
  for (const [note, count] of notes) io.out(`${count} run(s) without rows or failed step: ${note}`);
}
