/**
 * P1, step hand-off latency: csvPipeline runs with instant activities (bench/instant-activities.ts), one
 * at a time; from each run's history, the time from an ActivityTaskCompleted to the next
 * ActivityTaskScheduled (the workflow task round trip) and to that activity's ActivityTaskStarted.
 * Baseline: a two-activity workflow on the same worker, in the same run.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { testInput } from '../devstack/testkit/workflow-harness';
import { instantWorker } from './instant-activities';
import { barChart, fmt, medianCell, medianFigure, percentile, type BenchContext, type BenchResult } from './support';
import { stackClient } from '../devstack/testkit/stack';
import { STACK_SQLITE_PRAGMAS, TRANSFER_QUEUE_READS_PER_SECOND } from '../devstack/stack';
import { WORKFLOW_PRELOAD_MODULES } from '../src/worker/workflow-bundle';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const T = {
  scheduled: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  started: 'EVENT_TYPE_ACTIVITY_TASK_STARTED',
  completed: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
  wftScheduled: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
  wftStarted: 'EVENT_TYPE_WORKFLOW_TASK_STARTED',
  wftCompleted: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
};

export interface HandOff {
  from: string;
  to: string;
  /** ActivityTaskCompleted to the next ActivityTaskScheduled. */
  toScheduledMs: number;
  /** ActivityTaskCompleted to that activity's ActivityTaskStarted. */
  toStartedMs: number;
  /**
   * The workflow task between them: WorkflowTaskScheduled to WorkflowTaskStarted (the server hands the task to the
   * worker's sticky poll) and WorkflowTaskStarted to WorkflowTaskCompleted (the worker runs the activation and
   * answers). A completion that came while another workflow task ran waits for it too (`queuedMs`).
   */
  dispatchMs: number;
  workerMs: number;
  queuedMs: number;
  /** Which measured run of its kind (1-based), to tell a first run from the later ones. */
  run?: number;
}

const typeName = (e: HistoryEvent): string => {
  const t = e.eventType as unknown;
  // The proto enum may arrive as a number or a name.
  return typeof t === 'string' ? t : (EVENT_NAMES[t as number] ?? String(t));
};
const EVENT_NAMES: Record<number, string> = {
  5: T.wftScheduled,
  6: T.wftStarted,
  7: T.wftCompleted,
  10: T.scheduled,
  11: T.started,
  12: T.completed,
};

/** Every hand-off in a history: each scheduled activity after the first, from the latest completion before it. */
export function handOffs(events: HistoryEvent[]): HandOff[] {
  const activityTypeOf = new Map<string, string>();
  const startedAt = new Map<string, number>();
  for (const e of events) {
    if (typeName(e) === T.scheduled)
      activityTypeOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
    if (typeName(e) === T.started)
      startedAt.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId), tsToMs(e.eventTime));
  }
  const out: HandOff[] = [];
  let last: { ms: number; type: string } | undefined;
  const wft = { scheduled: Number.NaN, started: Number.NaN, completed: Number.NaN };
  for (const e of events) {
    const kind = typeName(e);
    if (kind === T.wftScheduled) wft.scheduled = tsToMs(e.eventTime);
    if (kind === T.wftStarted) wft.started = tsToMs(e.eventTime);
    if (kind === T.wftCompleted) wft.completed = tsToMs(e.eventTime);
    if (kind === T.completed) {
      const scheduledId = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
      last = { ms: tsToMs(e.eventTime), type: activityTypeOf.get(scheduledId) ?? '?' };
    } else if (kind === T.scheduled && last) {
      const ms = tsToMs(e.eventTime);
      const started = startedAt.get(String(e.eventId));
      out.push({
        from: last.type,
        to: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
        toScheduledMs: ms - last.ms,
        toStartedMs: started === undefined ? Number.NaN : started - last.ms,
        dispatchMs: wft.started - wft.scheduled,
        workerMs: wft.completed - wft.started,
        // The task was scheduled after this completion only when no other task was running then.
        queuedMs: Math.max(0, wft.scheduled - last.ms),
      });
    }
  }
  return out;
}

/** The alternative to the stack's own pragmas (STACK_SQLITE_PRAGMAS): SQLite's defaults, a rollback journal. */
const SQLITE_DEFAULTS: string[] = [];
/** The Temporal server's default `history.transferProcessorMaxPollRPS` (the stack sets a higher one). */
const SERVER_DEFAULT_READS = 20;

type Kind = 'baseline' | 'pipeline' | 'fresh';

interface Measured {
  pipeline: HandOff[];
  baseline: HandOff[];
  /** csvPipeline, each run on a worker of its own started for it (the worker's state is not carried over). */
  fresh: HandOff[];
  /** Client-side, start to result. */
  runMs: Record<Kind, number[]>;
  /** From the history: WorkflowExecutionStarted to its close event (the orchestration, activities being instant). */
  historyMs: Record<Kind, number[]>;
}

/** WorkflowExecutionStarted to the last event. */
function historySpanMs(events: HistoryEvent[]): number {
  return events.length ? tsToMs(events.at(-1)!.eventTime) - tsToMs(events[0]!.eventTime) : Number.NaN;
}

/**
 * `runs` pipelines and `runs` baseline workflows, alternating, one at a time, after one warm-up of each; with
 * `fresh`, also a pipeline on a new worker each time.
 */
async function measure(
  ctx: BenchContext,
  bundle: WorkflowBundleWithSourceMap,
  runs: number,
  fresh = false,
): Promise<Measured> {
  const taskQueue = `bench-p1-${Date.now().toString(36)}`;
  const { worker, connection: nativeConnection } = await instantWorker(ctx.stack.temporal.address, bundle, taskQueue);
  const { client, connection } = await stackClient(ctx.stack);
  const m: Measured = {
    pipeline: [],
    baseline: [],
    fresh: [],
    runMs: { pipeline: [], baseline: [], fresh: [] },
    historyMs: { pipeline: [], baseline: [], fresh: [] },
  };
  const kinds: Kind[] = fresh ? ['baseline', 'pipeline', 'fresh'] : ['baseline', 'pipeline'];
  const runOne = async (kind: Kind, i: number) => {
    const queue = kind === 'fresh' ? `${taskQueue}-f${i}` : taskQueue;
    const t0 = performance.now();
    const handle =
      kind === 'baseline'
        ? await client.workflow.start('twoActivities', { taskQueue: queue, workflowId: `${queue}-b-${i}` })
        : await client.workflow.start('csvPipeline', {
            taskQueue: queue,
            workflowId: `${queue}-${kind[0]}-${i}`,
            args: [testInput()],
          });
    await handle.result();
    const elapsed = performance.now() - t0;
    if (i === 0) return;
    m.runMs[kind].push(elapsed);
    const events = (await handle.fetchHistory()).events ?? [];
    m.historyMs[kind].push(historySpanMs(events));
    m[kind].push(...handOffs(events).map((h) => ({ ...h, run: i })));
  };
  try {
    await worker.runUntil(async () => {
      // The warm-up is not measured: the first workflow task loads the bundle into a fresh isolate.
      for (let i = 0; i <= runs; i++) {
        for (const kind of kinds) {
          if (kind !== 'fresh') await runOne(kind, i);
          else if (i > 0) {
            const own = await instantWorker(ctx.stack.temporal.address, bundle, `${taskQueue}-f${i}`);
            await own.worker.runUntil(() => runOne(kind, i)).finally(() => own.connection.close());
          }
        }
      }
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
  return m;
}

export async function p1HandOff(ctx: BenchContext): Promise<BenchResult> {
  const runs = ctx.quick ? 5 : 20;
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    preloadModules: WORKFLOW_PRELOAD_MODULES,
    logger: new DefaultLogger('WARN'),
  });
  const measured = await measure(ctx, bundle, runs, true);
  const { pipeline, baseline, fresh, runMs, historyMs } = measured;
  ctx.log("p1: again with the dev server's SQLite defaults (a rollback journal)");
  await ctx.restartStack({ sqlitePragmas: SQLITE_DEFAULTS });
  const rollback = await measure(ctx, bundle, runs);
  // Before issue 19's fix: the dev server's own limit on its one history shard's transfer-queue reads.
  ctx.log(`p1: again with the dev server's default of ${SERVER_DEFAULT_READS} transfer-queue reads a second`);
  await ctx.restartStack({ transferQueueReadsPerSecond: SERVER_DEFAULT_READS });
  const throttled = await measure(ctx, bundle, runs);
  await ctx.restartStack({});

  const p = (xs: HandOff[], f: (h: HandOff) => number, q: number) => percentile(xs.map(f).filter(Number.isFinite), q);
  const byPair = new Map<string, HandOff[]>();
  for (const h of pipeline) {
    const key = `${h.from} → ${h.to}`;
    byPair.set(key, [...(byPair.get(key) ?? []), h]);
  }
  const toScheduled = (h: HandOff) => h.toScheduledMs;
  const toStarted = (h: HandOff) => h.toStartedMs;
  /** Each measured run's percentile of its own hand-offs (the baseline has one a run). */
  const perRun = (hs: HandOff[], f: (h: HandOff) => number, q: number) =>
    Array.from({ length: runs }, (_, i) =>
      p(
        hs.filter((h) => h.run === i + 1),
        f,
        q,
      ),
    ).filter(Number.isFinite);
  /** The median over the runs of each run's p50, against the baseline's hand-off of each run. */
  const handOffFigure = (
    name: string,
    m: Pick<Measured, 'pipeline' | 'baseline'>,
    f: (h: HandOff) => number,
    goal?: string,
  ) =>
    medianFigure({
      name: `P1 csvPipeline hand-off p50 (${name}), median of the runs' p50`,
      values: perRun(m.pipeline, f, 50),
      unit: 'ms',
      baselineName: `two-activity workflow, its hand-off in each run`,
      baselines: perRun(m.baseline, f, 50),
      goal,
    });
  const stackPragmas = `the stack's SQLite ${STACK_SQLITE_PRAGMAS.join(', ')}`;
  const figures = [
    handOffFigure('Completed → next Scheduled', measured, toScheduled, '≤ 30 ms'),
    medianFigure({
      name: "P1 csvPipeline hand-off p95 (Completed → next Scheduled), median of the runs' p95",
      values: perRun(pipeline, toScheduled, 95),
      unit: 'ms',
      baselineName: 'two-activity workflow p95 of its hand-offs (one a run)',
      baselines: [p(baseline, toScheduled, 95)],
      goal: '≤ 60 ms',
    }),
    handOffFigure('Completed → next Started', measured, toStarted),
    handOffFigure("Completed → next Scheduled, the dev server's SQLite defaults", rollback, toScheduled),
    handOffFigure(
      `Completed → next Scheduled, the server's default ${SERVER_DEFAULT_READS} transfer-queue reads/s`,
      throttled,
      toScheduled,
    ),
    medianFigure({
      name: `P1 csvPipeline orchestration, the server's default ${SERVER_DEFAULT_READS} transfer-queue reads/s`,
      values: throttled.historyMs.pipeline,
      unit: 'ms',
      baselineName: 'two-activity workflow, same setting',
      baselines: throttled.historyMs.baseline,
    }),
    medianFigure({
      name: "P1 csvPipeline orchestration, the dev server's SQLite defaults",
      values: rollback.historyMs.pipeline,
      unit: 'ms',
      baselineName: 'two-activity workflow, same setting',
      baselines: rollback.historyMs.baseline,
    }),
    handOffFigure('Completed → next Scheduled, a new worker for each run', { pipeline: fresh, baseline }, toScheduled),
    medianFigure({
      name: `P1 csvPipeline orchestration, WorkflowExecutionStarted → Completed (instant activities), ${stackPragmas}`,
      values: historyMs.pipeline,
      unit: 'ms',
      baselineName: 'two-activity workflow',
      baselines: historyMs.baseline,
      goal: '≤ 300 ms',
    }),
    medianFigure({
      name: 'P1 csvPipeline end to end (instant activities, client start to result)',
      values: runMs.pipeline,
      unit: 'ms',
      baselineName: 'two-activity workflow end to end',
      baselines: runMs.baseline,
    }),
  ];
  const split = (label: string, hs: HandOff[]) =>
    `| ${label} | ${hs.length} | ${fmt(p(hs, toScheduled, 50))} | ${fmt(p(hs, (h) => h.queuedMs, 50))} | ${fmt(p(hs, (h) => h.dispatchMs, 50))} | ${fmt(p(hs, (h) => h.workerMs, 50))} |`;
  const runsOf = (hs: HandOff[]) =>
    perRun(hs, toScheduled, 50)
      .map((v) => fmt(v, 0))
      .join(', ');
  const row = (label: string, hs: HandOff[]) =>
    `| ${label} | ${hs.length} | ${fmt(p(hs, toScheduled, 50))} | ${fmt(p(hs, toScheduled, 95))} | ${fmt(p(hs, toStarted, 50))} | ${fmt(p(hs, toStarted, 95))} |`;
  const rollbackLabel = "the dev server's SQLite defaults";
  const readsLabel = `the server's default ${SERVER_DEFAULT_READS} transfer-queue reads/s`;
  const markdown = [
    `csvPipeline (two regions, Redshift in both) on an in-process worker whose activities answer at once (the workflow`,
    `tests' fakes, bench/instant-activities.ts), against the stack's dev server; ${runs} runs one at a time after one`,
    'warm-up, and as many runs of a two-activity baseline workflow on the same worker. Times from history event timestamps.',
    'In the pipeline a completion may be followed by two activities scheduled in the same workflow task (parallel regions):',
    'each counts as a hand-off.',
    `The stack's dev server may read its one history shard's transfer queue ${TRANSFER_QUEUE_READS_PER_SECOND} times a second; with the`,
    `server's default of ${SERVER_DEFAULT_READS}, each workflow task a completed activity schedules waits for the next read (50 ms apart).`,
    `Its SQLite runs with ${STACK_SQLITE_PRAGMAS.join(', ')} (devstack/stack.ts); with SQLite's defaults (a rollback journal)`,
    "each of a hand-off's commits rewrites and syncs the journal.",
    '',
    '| hand-off | n | → Scheduled p50 (ms) | p95 | → Started p50 (ms) | p95 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('**all csvPipeline**', pipeline),
    row('**baseline (two activities)**', baseline),
    row(`**all csvPipeline, ${rollbackLabel}**`, rollback.pipeline),
    row(`**baseline, ${rollbackLabel}**`, rollback.baseline),
    row(`**all csvPipeline, ${readsLabel}**`, throttled.pipeline),
    row(`**baseline, ${readsLabel}**`, throttled.baseline),
    row('**csvPipeline, a new worker for each run**', fresh),
    ...[...byPair].map(([key, hs]) => row(key, hs)),
    '',
    'Where a hand-off goes (p50, ms): waiting for the workflow task before it (two regions complete at once), the',
    "server handing the task to the worker's sticky poll (WorkflowTaskScheduled → Started), and the worker's activation",
    'and answer (WorkflowTaskStarted → Completed; its ActivityTaskScheduled is recorded with the completion):',
    '',
    '| hand-off | n | → Scheduled | queued | dispatch | worker |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    split('csvPipeline', pipeline),
    split('baseline (two activities)', baseline),
    split('csvPipeline, a new worker for each run', fresh),
    split(`csvPipeline, ${readsLabel}`, throttled.pipeline),
    split(`baseline, ${readsLabel}`, throttled.baseline),
    '',
    `Hand-off p50 of each measured run, in order (ms): csvPipeline ${runsOf(pipeline)}; a new worker for each run`,
    `${runsOf(fresh)}; baseline ${runsOf(baseline)}. Orchestration (history, WorkflowExecutionStarted → Completed):`,
    `csvPipeline ${medianCell(historyMs.pipeline, 'ms')}, on a new worker ${medianCell(historyMs.fresh, 'ms')},`,
    `baseline ${medianCell(historyMs.baseline, 'ms')}. With the server's default ${SERVER_DEFAULT_READS} transfer-queue reads/s: hand-off p50`,
    `of each run ${runsOf(throttled.pipeline)}, orchestration ${medianCell(throttled.historyMs.pipeline, 'ms')} (baseline`,
    `${medianCell(throttled.historyMs.baseline, 'ms')}).`,
    '',
    'Hand-off p50, Completed → Started (ms); published anchors: Temporal Cloud ~50 ms per activity, a vendor benchmark 40 ms (Temporal) vs 1,260 ms (Airflow):',
    '',
    barChart([
      { label: 'baseline (two activities)', value: p(baseline, (h) => h.toStartedMs, 50) },
      { label: 'csvPipeline', value: p(pipeline, (h) => h.toStartedMs, 50) },
      { label: `baseline, ${rollbackLabel}`, value: p(rollback.baseline, toStarted, 50) },
      { label: `csvPipeline, ${rollbackLabel}`, value: p(rollback.pipeline, toStarted, 50) },
      { label: 'anchor: Temporal (vendor)', value: 40 },
      { label: 'anchor: Airflow (vendor)', value: 1260 },
    ]),
  ].join('\n');
  return {
    id: 'p1',
    title: 'P1: step hand-off latency (instant activities)',
    setup: `${runs} pipeline runs + ${runs} baseline runs + ${runs} pipeline runs on a new worker each, interleaved, sequential, with ${stackPragmas}, again with the dev server's SQLite defaults (a rollback journal), and again with the server's default ${SERVER_DEFAULT_READS} transfer-queue reads a second (the stack allows ${TRANSFER_QUEUE_READS_PER_SECOND})`,
    figures,
    markdown,
    raw: { runs, runMs, historyMs, pipeline, baseline, fresh, rollback, throttled },
  };
}
