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
import { barChart, figure, fmt, percentile, type BenchContext, type BenchResult } from './support';
import { stackClient } from '../devstack/testkit/stack';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const T = {
  scheduled: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  started: 'EVENT_TYPE_ACTIVITY_TASK_STARTED',
  completed: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
};

export interface HandOff {
  from: string;
  to: string;
  /** ActivityTaskCompleted to the next ActivityTaskScheduled. */
  toScheduledMs: number;
  /** ActivityTaskCompleted to that activity's ActivityTaskStarted. */
  toStartedMs: number;
}

const typeName = (e: HistoryEvent): string => {
  const t = e.eventType as unknown;
  // The proto enum may arrive as a number or a name.
  return typeof t === 'string' ? t : (EVENT_NAMES[t as number] ?? String(t));
};
const EVENT_NAMES: Record<number, string> = { 10: T.scheduled, 11: T.started, 12: T.completed };

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
  for (const e of events) {
    const kind = typeName(e);
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
      });
    }
  }
  return out;
}

const WAL = ['journal_mode=wal', 'synchronous=1'];

interface Measured {
  pipeline: HandOff[];
  baseline: HandOff[];
  runMs: { pipeline: number[]; baseline: number[] };
}

/** `runs` pipelines and `runs` baseline workflows, alternating, one at a time, after one warm-up of each. */
async function measure(ctx: BenchContext, bundle: WorkflowBundleWithSourceMap, runs: number): Promise<Measured> {
  const taskQueue = `bench-p1-${Date.now().toString(36)}`;
  const { worker, connection: nativeConnection } = await instantWorker(ctx.stack.temporal.address, bundle, taskQueue);
  const { client, connection } = await stackClient(ctx.stack);
  const m: Measured = { pipeline: [], baseline: [], runMs: { pipeline: [], baseline: [] } };
  try {
    await worker.runUntil(async () => {
      // The warm-up is not measured: the first workflow task loads the bundle into a fresh isolate.
      for (let i = 0; i <= runs; i++) {
        for (const kind of ['baseline', 'pipeline'] as const) {
          const t0 = performance.now();
          const handle =
            kind === 'pipeline'
              ? await client.workflow.start('csvPipeline', {
                  taskQueue,
                  workflowId: `${taskQueue}-p-${i}`,
                  args: [testInput()],
                })
              : await client.workflow.start('twoActivities', { taskQueue, workflowId: `${taskQueue}-b-${i}` });
          await handle.result();
          const elapsed = performance.now() - t0;
          if (i === 0) continue;
          m.runMs[kind].push(elapsed);
          const history = await handle.fetchHistory();
          m[kind].push(...handOffs(history.events ?? []));
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
    logger: new DefaultLogger('WARN'),
  });
  const { pipeline, baseline, runMs } = await measure(ctx, bundle, runs);
  ctx.log(`p1: again with the dev server's SQLite at ${WAL.join(', ')}`);
  await ctx.restartStack({ sqlitePragmas: WAL });
  const wal = await measure(ctx, bundle, runs);
  await ctx.restartStack({});

  const p = (xs: HandOff[], f: (h: HandOff) => number, q: number) => percentile(xs.map(f).filter(Number.isFinite), q);
  const byPair = new Map<string, HandOff[]>();
  for (const h of pipeline) {
    const key = `${h.from} → ${h.to}`;
    byPair.set(key, [...(byPair.get(key) ?? []), h]);
  }
  const toScheduled = (h: HandOff) => h.toScheduledMs;
  const toStarted = (h: HandOff) => h.toStartedMs;
  const handOffFigure = (what: string, f: (h: HandOff) => number, q: number, goal?: string) =>
    figure({
      name: `P1 csvPipeline hand-off p${q} (${what})`,
      value: p(pipeline, f, q),
      unit: 'ms',
      baselineName: `two-activity workflow p${q}`,
      baseline: p(baseline, f, q),
      goal,
    });
  const figures = [
    handOffFigure('Completed → next Scheduled', toScheduled, 50, '≤ 30 ms'),
    handOffFigure('Completed → next Scheduled', toScheduled, 95),
    handOffFigure('Completed → next Started', toStarted, 50),
    figure({
      name: `P1 csvPipeline hand-off p50 (Completed → next Scheduled), SQLite ${WAL.join(', ')}`,
      value: p(wal.pipeline, toScheduled, 50),
      unit: 'ms',
      baselineName: 'two-activity workflow p50, same pragmas',
      baseline: p(wal.baseline, toScheduled, 50),
      goal: '≤ 30 ms',
    }),
    figure({
      name: 'P1 csvPipeline end to end (instant activities)',
      value: percentile(runMs.pipeline, 50),
      unit: 'ms',
      baselineName: 'two-activity workflow end to end',
      baseline: percentile(runMs.baseline, 50),
    }),
  ];
  const row = (label: string, hs: HandOff[]) =>
    `| ${label} | ${hs.length} | ${fmt(p(hs, toScheduled, 50))} | ${fmt(p(hs, toScheduled, 95))} | ${fmt(p(hs, toStarted, 50))} | ${fmt(p(hs, toStarted, 95))} |`;
  const walLabel = `SQLite ${WAL.join(', ')}`;
  const markdown = [
    `csvPipeline (two regions, Redshift in both) on an in-process worker whose activities answer at once (the workflow`,
    `tests' fakes, bench/instant-activities.ts), against the stack's dev server; ${runs} runs one at a time after one`,
    'warm-up, and as many runs of a two-activity baseline workflow on the same worker. Times from history event timestamps.',
    'In the pipeline a completion may be followed by two activities scheduled in the same workflow task (parallel regions):',
    'each counts as a hand-off.',
    '',
    '| hand-off | n | → Scheduled p50 (ms) | p95 | → Started p50 (ms) | p95 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('**all csvPipeline**', pipeline),
    row('**baseline (two activities)**', baseline),
    row(`**all csvPipeline, ${walLabel}**`, wal.pipeline),
    row(`**baseline, ${walLabel}**`, wal.baseline),
    ...[...byPair].map(([key, hs]) => row(key, hs)),
    '',
    'Hand-off p50, Completed → Started (ms); published anchors: Temporal Cloud ~50 ms per activity, a vendor benchmark 40 ms (Temporal) vs 1,260 ms (Airflow):',
    '',
    barChart([
      { label: 'baseline (two activities)', value: p(baseline, (h) => h.toStartedMs, 50) },
      { label: 'csvPipeline', value: p(pipeline, (h) => h.toStartedMs, 50) },
      { label: `baseline, ${walLabel}`, value: p(wal.baseline, toStarted, 50) },
      { label: `csvPipeline, ${walLabel}`, value: p(wal.pipeline, toStarted, 50) },
      { label: 'anchor: Temporal (vendor)', value: 40 },
      { label: 'anchor: Airflow (vendor)', value: 1260 },
    ]),
  ].join('\n');
  return {
    id: 'p1',
    title: 'P1: step hand-off latency (instant activities)',
    setup: `${runs} pipeline runs + ${runs} baseline runs, sequential, with the dev server's SQLite defaults and again with ${WAL.join(', ')}`,
    figures,
    markdown,
    raw: { runs, runMs, pipeline, baseline, wal },
  };
}
