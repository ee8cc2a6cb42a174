/**
 * P6, recovery: the real worker (`src/worker.ts`, a child process) waits for Glue job runs scripted to run
 * until stopped (pipelineStep, step transform); it is SIGKILLed mid-wait and a new worker process is started at
 * once, as a supervisor would. Recovery is the time from the kill to the first GetJobRun of each run after its
 * next attempt started on the new worker (gateway counts, sampled every 200 ms; attempt and start time from
 * DescribeWorkflowExecution). Baseline: the wait's heartbeat timeout (from history), the least Temporal needs to
 * see a dead worker; and a graceful SIGTERM in the same run.
 */
import { CreateJobCommand } from '@aws-sdk/client-glue';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { testInput } from '../devstack/testkit/workflow-harness';
import { startWorker, stackWorkerEnv, waitForOutput, type WorkerProcess } from '../devstack/testkit/worker-process';
import { barChart, benchAws, figure, fmt, type BenchContext, type BenchResult } from './support';
import { stackClient } from '../devstack/testkit/stack';

/** Runs waited for at once: each kill gives one recovery sample per run. */
const RUNS = 3;
/** The worker's default (GLUELINE_SHUTDOWN_GRACE_SECONDS): what a SIGTERM case costs out of the box. */
const GRACE_SECONDS = 30;
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

interface Sample {
  signal: 'SIGKILL' | 'SIGTERM';
  run: number;
  /**
   * Seconds after the signal: the new worker was ready, the attempt failed (seen by describe), the next one started
   * (server time), its first GetJobRun.
   */
  readySeconds: number;
  failedSeconds: number;
  startedSeconds: number;
  resumedSeconds: number;
  attempt: number;
  lastFailure: string;
}

export async function p6Recovery(ctx: BenchContext): Promise<BenchResult> {
  const kills = ctx.quick ? 1 : 3;
  /** Seconds between a run's resumed polling and the next kill: spread over the heartbeat cycle. */
  const killDelays = ctx.quick ? [5] : [5, 30, 55];
  const aws = benchAws(ctx.stack);
  const region = ctx.stack.aws.regions[0]!;
  const suffix = Date.now().toString(36);
  const taskQueue = `bench-p6-${suffix}`;
  const jobs = Array.from({ length: RUNS }, (_, i) => `bench-p6-${suffix}-r${i}`);
  for (const jobName of jobs) {
    await aws.glue(region).send(
      new CreateJobCommand({
        Name: jobName,
        Role: 'arn:aws:iam::123456789012:role/glueline-bench',
        Command: { Name: 'glueetl', ScriptLocation: 's3://glueline-scripts/job.py' },
      }),
    );
    await ctx.gateway.scriptJobRuns(jobName, [{ state: 'RUNNING' }], region);
  }
  const env = stackWorkerEnv(taskQueue, { GLUELINE_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS) }, ctx.stack);
  const started = async (): Promise<WorkerProcess> => {
    const w = startWorker(env);
    await waitForOutput(w, 'glueline worker started', 120_000).catch((err: unknown) => {
      w.child.kill('SIGKILL');
      throw err;
    });
    return w;
  };

  const { client, connection } = await stackClient(ctx.stack);
  const getJobRuns = async (i: number) => (await ctx.gateway.counts(jobs[i]!))['glue:GetJobRun']?.count ?? 0;
  const waitActivity = async (h: WorkflowHandle) =>
    (await h.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'waitForGlueJobRun');

  let worker = await started();
  const samples: Sample[] = [];
  let heartbeatTimeoutMs: number | undefined;
  const handles: WorkflowHandle[] = [];
  try {
    ctx.log(`p6: ${RUNS} runs waiting for Glue job runs that run until stopped`);
    for (const [i, jobName] of jobs.entries()) {
      const input = testInput();
      handles.push(
        await client.workflow.start('pipelineStep', {
          taskQueue,
          workflowId: `${taskQueue}-${i}`,
          args: [
            { ...input, spec: { ...input.spec, transform: { ...input.spec.transform, jobName } }, step: 'transform' },
          ],
        }),
      );
    }
    for (const end = Date.now() + 120_000; Date.now() < end; await sleep(200)) {
      if ((await Promise.all(jobs.map((_, i) => getJobRuns(i)))).every((n) => n > 0)) break;
    }
    const scheduled = (await handles[0]!.fetchHistory()).events?.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForGlueJobRun',
    );
    heartbeatTimeoutMs = tsToMs(scheduled?.activityTaskScheduledEventAttributes?.heartbeatTimeout);

    for (let k = 0; k <= kills; k++) {
      const signal = k < kills ? 'SIGKILL' : 'SIGTERM';
      const delay = killDelays[k] ?? 5;
      await sleep(delay * 1000);
      const attemptsBefore = await Promise.all(handles.map(async (h) => (await waitActivity(h))?.attempt ?? 0));
      ctx.log(`p6: ${signal} the worker ${delay} s after the runs resumed polling; a new worker starts at once`);
      const t0 = Date.now();
      const old = worker;
      old.child.kill(signal);
      let readyAt = 0;
      const next = started().then((w) => ((readyAt = Date.now()), w));
      // Gateway counts sampled every 200 ms; an increase after the new attempt started is the new worker's poll.
      const series: { t: number; counts: number[] }[] = [];
      const pending = new Map(handles.map((h, run) => [run, { failedAt: 0, startedAt: 0 }]));
      for (const end = t0 + 10 * heartbeatTimeoutMs; pending.size > 0 && Date.now() < end; await sleep(200)) {
        series.push({ t: Date.now(), counts: await Promise.all(jobs.map((_, i) => getJobRuns(i))) });
        for (const [run, seen] of pending) {
          const a = await waitActivity(handles[run]!);
          if (!a || (a.attempt ?? 0) <= attemptsBefore[run]!) continue;
          seen.failedAt ||= Date.now();
          if (a.state !== STARTED) continue;
          seen.startedAt = tsToMs(a.lastStartedTime);
          const before = [...series].reverse().find((s) => s.t < seen.startedAt)?.counts[run] ?? 0;
          const resumed = series.find((s) => s.t >= seen.startedAt && s.counts[run]! > before);
          if (!resumed) continue;
          samples.push({
            signal,
            run,
            readySeconds: readyAt && (readyAt - t0) / 1000,
            failedSeconds: (seen.failedAt - t0) / 1000,
            startedSeconds: (seen.startedAt - t0) / 1000,
            resumedSeconds: (resumed.t - t0) / 1000,
            attempt: a.attempt ?? 0,
            lastFailure: a.lastFailure?.message ?? '',
          });
          pending.delete(run);
        }
      }
      if (pending.size > 0) throw new Error(`p6: ${pending.size} run(s) never resumed after ${signal}`);
      await old.exited;
      worker = await next;
    }
  } finally {
    await Promise.all(handles.map((h) => h.terminate('bench p6 done').catch(() => undefined)));
    worker.child.kill('SIGKILL');
    await worker.exited;
    await connection.close();
  }

  const of = (signal: Sample['signal']) => samples.filter((s) => s.signal === signal);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const heartbeatSeconds = (heartbeatTimeoutMs ?? Number.NaN) / 1000;
  const figures = (['SIGKILL', 'SIGTERM'] as const).map((signal) =>
    figure({
      name: `P6 recovery after ${signal}: signal to the new worker's first GetJobRun (mean of ${of(signal).length})`,
      value: mean(of(signal).map((s) => s.resumedSeconds)),
      unit: 's',
      baselineName: 'the Glue wait’s heartbeat timeout',
      baseline: heartbeatSeconds,
    }),
  );
  const markdown = [
    `${RUNS} pipelineStep runs (step transform) on the real worker process, each waiting for a Glue job run scripted`,
    `to run until stopped (the default polling). ${kills} SIGKILL(s), then one SIGTERM (shutdown grace`,
    `${GRACE_SECONDS} s, the worker's default); after each signal a new worker process starts at once. The wait's heartbeat`,
    `timeout (from the ActivityTaskScheduled event) is ${fmt(heartbeatSeconds)} s; its retry policy waits 5 s before the`,
    'second attempt, doubling with each further one (to 2 min), unless the failure sets its own delay. Seconds after',
    'the signal: the new worker printed that it started, the attempt was seen failed (describe, sampled every',
    '200 ms), the next attempt started (server time), its first GetJobRun (gateway counts, sampled every 200 ms).',
    '',
    '| signal | run | new worker ready | attempt failed | next attempt started | first GetJobRun | attempt | failure |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...samples.map(
      (s) =>
        `| ${s.signal} | ${s.run} | ${s.readySeconds ? fmt(s.readySeconds) : 'later'} | ${fmt(s.failedSeconds)} | ${fmt(s.startedSeconds)} | ${fmt(s.resumedSeconds)} | ${s.attempt} | ${s.lastFailure.replace(/\|/g, '/')} |`,
    ),
    '',
    'Seconds from the signal to polling again:',
    '',
    barChart([
      { label: 'heartbeat timeout', value: heartbeatSeconds },
      ...samples.map((s) => ({ label: `${s.signal} run ${s.run}`, value: s.resumedSeconds })),
    ]),
  ].join('\n');
  return {
    id: 'p6',
    title: 'P6: recovery after a worker dies in a Glue wait',
    setup: `${RUNS} runs; ${kills} SIGKILL(s) and one SIGTERM`,
    figures,
    markdown,
    raw: { heartbeatTimeoutMs, graceSeconds: GRACE_SECONDS, samples },
  };
}
