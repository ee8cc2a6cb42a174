/**
 * P7, cancel reach: how long `temporal workflow cancel` takes to reach AWS while a run waits. The real worker
 * (`src/worker.ts`, a child process) runs pipelineStep for a Glue job run, a crawl and a Redshift statement that
 * never end on their own (gateway-scripted RUNNING, `select pg_sleep(3)` × 40: BatchExecuteStatement takes at
 * most 40); the run is cancelled a few seconds after its wait first polled, and the delay is from the cancel
 * request to the gateway's first BatchStopJobRun, StopCrawler or CancelStatement (counts sampled every 100 ms).
 * Baseline: the same with the worker's heartbeat interval at 60 s, which is the SDK's default throttling for the
 * 2-minute heartbeat timeout (0.8 × timeout, capped at 60 s): what the worker did before issue 22.
 */
import { Client, Connection } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { provision } from '../src/starters/provision';
import { isPerRegionStep, pipelineWorkflowId } from '../src/workflow-safe/pipeline';
import type { StepName } from '../src/workflow-safe/run-input';
import type { PipelineSpec } from '../src/workflow-safe/spec';
import { createSpecRedshiftTargets } from '../devstack/redshift-targets';
import { uniqueSalesSpec } from '../devstack/testkit/spec';
import { startWorker, stackWorkerEnv, waitForOutput, type WorkerProcess } from '../devstack/testkit/worker-process';
import { barChart, figure, fmt, type BenchContext, type BenchResult } from './support';

interface Kind {
  name: 'glue job run' | 'crawl' | 'statement';
  step: StepName;
  /** The gateway operation that carries the cancel to AWS. */
  stop: string;
  /** The operation the wait polls with. */
  poll: string;
  resource: (spec: PipelineSpec) => string;
}

const KINDS: Kind[] = [
  {
    name: 'glue job run',
    step: 'transform',
    stop: 'glue:BatchStopJobRun',
    poll: 'glue:GetJobRun',
    resource: (s) => s.transform.jobName,
  },
  {
    name: 'crawl',
    step: 'crawl-raw',
    stop: 'glue:StopCrawler',
    poll: 'glue:GetCrawler',
    resource: (s) => s.raw.crawler,
  },
  {
    name: 'statement',
    step: 'redshift-refresh',
    stop: 'redshift-data:CancelStatement',
    poll: 'redshift-data:DescribeStatement',
    resource: (s) => s.regions[0]!.redshift!.workgroupName!,
  },
];

/** A cancel that has not reached AWS after this long never will: the baseline's throttling is 60 s at most. */
const NEVER_MS = 90_000;

/** What the tuned worker is measured against: the SDK's throttling for a 2-minute heartbeat timeout. */
const BASELINE_HEARTBEAT_INTERVAL_MS = 60_000;

interface Sample {
  kind: Kind['name'];
  heartbeatIntervalMs: number | 'default';
  /** Seconds after the wait first polled that the cancel was sent: spreads samples over the heartbeat cycle. */
  cancelAfterSeconds: number;
  /** Seconds from the cancel request to the stop call at the gateway. */
  delaySeconds: number;
}

export async function p7Cancel(ctx: BenchContext): Promise<BenchResult> {
  const cancelAfter = ctx.quick ? [3] : [3, 7, 12];
  const connection = await Connection.connect({ address: ctx.stack.temporal.address });
  const client = new Client({ connection, namespace: ctx.stack.temporal.namespace });
  const samples: Sample[] = [];
  try {
    for (const interval of ['default', BASELINE_HEARTBEAT_INTERVAL_MS] as const) {
      const taskQueue = `bench-p7-${Date.now().toString(36)}`;
      const extra: Record<string, string> =
        interval === 'default' ? {} : { GLUELINE_HEARTBEAT_INTERVAL_MS: String(interval) };
      const worker: WorkerProcess = startWorker(stackWorkerEnv(taskQueue, extra, ctx.stack));
      try {
        await waitForOutput(worker, 'glueline worker started', 120_000);
        for (const kind of KINDS) {
          // The baseline is slow (up to a minute a sample): one sample per kind shows the difference.
          for (const delay of interval === 'default' ? cancelAfter : cancelAfter.slice(0, 1)) {
            const delaySeconds = await measure(ctx, client, taskQueue, kind, delay);
            ctx.log(`p7: ${kind.name}, heartbeat interval ${interval}: cancel to AWS ${shown(delaySeconds)}`);
            samples.push({ kind: kind.name, heartbeatIntervalMs: interval, cancelAfterSeconds: delay, delaySeconds });
          }
        }
      } finally {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    }
  } finally {
    await connection.close();
  }

  const tuned = samples.filter((s) => s.heartbeatIntervalMs === 'default');
  const baseline = samples.filter((s) => s.heartbeatIntervalMs !== 'default');
  const max = (xs: Sample[]) => Math.max(...xs.map((s) => s.delaySeconds));
  const figures = [
    figure({
      name: `P7 cancel to AWS (Glue run, crawl, statement): slowest of ${tuned.length}`,
      value: max(tuned),
      unit: 's',
      baselineName: `heartbeat interval ${BASELINE_HEARTBEAT_INTERVAL_MS / 1000} s (the SDK's throttling before issue 22), slowest of ${baseline.length}`,
      baseline: max(baseline),
      goal: 'under 5 s',
    }),
  ];
  const label = (s: Sample) =>
    `${s.kind}, ${s.heartbeatIntervalMs === 'default' ? 'default' : `${s.heartbeatIntervalMs / 1000} s`}, +${s.cancelAfterSeconds} s`;
  const markdown = [
    'pipelineStep runs on the real worker process, each waiting for AWS work that never ends on its own (a Glue job',
    'run and a crawl scripted RUNNING, a refresh of 40 × `select pg_sleep(3)`); the run is cancelled some seconds',
    "after its wait first polled. Delay: from the cancel request to the gateway's first BatchStopJobRun, StopCrawler",
    "or CancelStatement (counts sampled every 100 ms). Heartbeat interval: the worker's GLUELINE_HEARTBEAT_INTERVAL_MS",
    `(default, or ${BASELINE_HEARTBEAT_INTERVAL_MS / 1000} s: the SDK's own throttling for a 2-minute heartbeat timeout).`,
    '',
    '| AWS work | heartbeat interval | cancelled after the first poll | cancel to AWS |',
    '| --- | --- | ---: | ---: |',
    ...samples.map(
      (s) =>
        `| ${s.kind} | ${s.heartbeatIntervalMs === 'default' ? 'default' : `${s.heartbeatIntervalMs / 1000} s`} | ${s.cancelAfterSeconds} s | ${shown(s.delaySeconds)} |`,
    ),
    '',
    'Seconds from the cancel to AWS:',
    '',
    barChart(
      samples.map((s) => ({
        label: label(s),
        value: Number.isFinite(s.delaySeconds) ? s.delaySeconds : NEVER_MS / 1000,
        note: shown(s.delaySeconds),
      })),
    ),
  ].join('\n');
  return {
    id: 'p7',
    title: 'P7: how soon a cancel reaches AWS',
    setup: `${tuned.length} cancels with the default heartbeat interval, ${baseline.length} with ${BASELINE_HEARTBEAT_INTERVAL_MS / 1000} s`,
    figures,
    markdown,
    raw: { samples },
  };
}

/**
 * One run of `kind`'s step, cancelled `cancelAfterSeconds` after its first poll.
 * @returns the delay in seconds, infinite when the cancel never reached AWS
 */
async function measure(
  ctx: BenchContext,
  client: Client,
  taskQueue: string,
  kind: Kind,
  cancelAfterSeconds: number,
): Promise<number> {
  const base = uniqueSalesSpec();
  const spec: PipelineSpec = {
    ...base,
    redshift: { sql: Array.from({ length: 40 }, () => 'select pg_sleep(3)') },
  };
  await provision({
    spec,
    target: { endpoint: ctx.stack.aws.endpoint, description: 'the bench stack' },
    yes: false,
    log: () => {},
  });
  // Provisioning leaves Redshift workgroups to the account (as on AWS); the gateway refuses a statement without one.
  await createSpecRedshiftTargets(ctx.stack.aws.endpoint, spec);
  const primary = spec.regions[0]!;
  await ctx.gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'RUNNING' }], primary.region);
  await ctx.gateway.scriptCrawls(spec.raw.crawler, [{ status: 'RUNNING' }], primary.region);
  const batch = { id: `p7-${Date.now().toString(36)}`, source: { bucket: primary.rawBucket, prefix: 'landing/' } };
  const handle = await client.workflow.start('pipelineStep', {
    taskQueue,
    workflowId: pipelineWorkflowId(spec, batch),
    args: [{ spec, batch, step: kind.step, ...(isPerRegionStep(kind.step) ? { region: primary.region } : {}) }],
  });
  const resource = kind.resource(spec);
  const count = async (operation: string) => (await ctx.gateway.counts(resource))[operation]?.count ?? 0;
  try {
    for (const end = Date.now() + 120_000; (await count(kind.poll)) === 0; await sleep(100)) {
      const { status } = await handle.describe();
      if (Date.now() > end || status.name !== 'RUNNING') {
        throw new Error(
          `p7: the ${kind.name} wait never polled (${kind.poll} on ${resource}); the run is ${status.name}`,
        );
      }
    }
    await sleep(cancelAfterSeconds * 1000);
    const t0 = Date.now();
    await handle.cancel();
    for (const end = t0 + NEVER_MS; (await count(kind.stop)) === 0; await sleep(100)) {
      if (Date.now() > end) return Number.POSITIVE_INFINITY;
    }
    return (Date.now() - t0) / 1000;
  } finally {
    await handle.terminate('bench p7 done').catch(() => undefined);
  }
}

/** A delay for the report: seconds, or that the cancel never reached AWS. */
function shown(delaySeconds: number): string {
  return Number.isFinite(delaySeconds) ? `${fmt(delaySeconds)} s` : `never (not within ${NEVER_MS / 1000} s)`;
}
