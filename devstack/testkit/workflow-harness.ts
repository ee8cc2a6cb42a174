/**
 * What the workflow tests share: one time-skipping environment and one workflow bundle per test file,
 * a two-region spec, and fake activities (plain functions implementing GluelineActivities) that record
 * every call and fail where a test asks.
 */
import { after, before } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { reportingAttempts } from '../../src/activities/errors';
import type { GluelineActivities, StoppedOnCancel } from '../../src/workflow-safe/activity-types';
import type { GlueManifest } from '../../src/workflow-safe/layout';
import { summarizeManifest } from '../../src/workflow-safe/manifest-files';
import {
  PROGRESS_QUERY,
  SearchAttributeKeys,
  type PipelineProgress,
  type PipelineResult,
} from '../../src/workflow-safe/pipeline';
import type { WorkflowHandle } from '@temporalio/client';
import type { PipelineSpecInput } from '../../src/workflow-safe/spec';
import type { PipelineInputRaw } from '../../src/workflow-safe/run-input';
import { WORKFLOW_PRELOAD_MODULES } from '../../src/worker/workflow-bundle';
import { timeSkippingServer, unique } from './stack';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (the proto package is not a direct dependency). */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

export const PRIMARY = 'us-east-1';
export const REPLICA = 'eu-west-1';

/** A two-region spec with Redshift in both regions, email and webhook notifications. */
export function testSpec(overrides: Partial<PipelineSpecInput> = {}): PipelineSpecInput {
  return {
    name: 'sales',
    regions: [
      {
        region: PRIMARY,
        rawBucket: 'sales-raw-use1',
        curatedBucket: 'sales-curated-use1',
        glueDatabase: 'sales_use1',
        curatedCrawler: 'sales-curated-use1',
        redshift: { workgroupName: 'sales-use1', database: 'dev' },
      },
      {
        region: REPLICA,
        rawBucket: 'sales-raw-euw1',
        curatedBucket: 'sales-curated-euw1',
        glueDatabase: 'sales_euw1',
        curatedCrawler: 'sales-curated-euw1',
        redshift: { workgroupName: 'sales-euw1', database: 'dev' },
      },
    ],
    raw: { crawler: 'sales-raw' },
    transform: { jobName: 'sales-to-parquet', curatedPrefix: 'curated/sales/' },
    redshift: { sql: ['call refresh_sales(${batch_id}, ${copy_manifest_uri})'] },
    notify: {
      email: { to: ['team@example.com'], from: 'glueline@example.com' },
      webhook: { url: 'https://hooks.example.com/glueline' },
    },
    ...overrides,
  };
}

export function testInput(overrides: Partial<PipelineInputRaw> = {}): PipelineInputRaw {
  return {
    spec: testSpec(),
    batch: { id: unique('b'), source: { bucket: 'landing', keys: ['in/2026/a.csv', 'in/2026/b.csv'] } },
    ...overrides,
  };
}

export const MANIFEST: GlueManifest = {
  batchId: 'b',
  inputFiles: ['raw/a.csv', 'raw/b.csv'],
  rowsIn: 100,
  rowsOut: 97,
  rowsRejected: 3,
  outputFiles: [
    { key: 'curated/sales/batch_id=b/part-0.parquet', bytes: 1000 },
    { key: 'curated/sales/batch_id=b/part-1.parquet', bytes: 500 },
  ],
  quarantineFiles: [],
};

export type ActivityName = keyof GluelineActivities;

export interface Call {
  name: ActivityName;
  input: unknown;
  /** The activity's region, where its input names one. */
  region?: string;
  startedAtMs: number;
  endedAtMs?: number;
}

export interface FakeOptions {
  /** Make an activity throw: return the error, or undefined to let the call succeed. */
  fail?: Partial<Record<ActivityName, (input: { region?: string }) => Error | undefined>>;
  /** Replaces the Glue wait (to run long, or until cancelled). */
  waitForGlueJobRun?: GluelineActivities['waitForGlueJobRun'];
  /** Replaces any other activities (calls are still recorded). */
  replace?: Partial<GluelineActivities>;
  manifest?: GlueManifest;
  /** Milliseconds each crawl wait takes (real time), so parallel regions overlap visibly. */
  crawlMs?: number | ((input: { region: string; crawlerName: string }) => number);
  /**
   * A crawl wait goes on (heartbeating, up to `limitMs`) until `done` says so, given the calls so far: a test then
   * waits for a condition (the other region's wait started, the email went out), however slow the machine.
   */
  crawlUntil?: {
    done: (input: { region: string; crawlerName: string }, calls: readonly Call[]) => boolean;
    /** @default 60000 */
    limitMs?: number;
  };
}

/** Fake activities: record each call, succeed with plausible results, fail where `fail` says. */
export function fakeActivities(options: FakeOptions = {}): GluelineActivities & { calls: Call[] } {
  const calls: Call[] = [];
  let statements = 0;
  const wrap = <K extends ActivityName>(name: K, fake: GluelineActivities[K]): GluelineActivities[K] => {
    const body = options.replace?.[name] ?? fake;
    return (async (input: { region?: string }) => {
      const call: Call = { name, input, startedAtMs: Date.now(), ...(input.region ? { region: input.region } : {}) };
      calls.push(call);
      try {
        const error = options.fail?.[name]?.(input);
        if (error) throw error;
        return await (body as (i: unknown) => Promise<unknown>)(input);
      } finally {
        call.endedAtMs = Date.now();
      }
    }) as GluelineActivities[K];
  };
  const sleep = (ms: number) => (ms > 0 ? Context.current().sleep(ms) : Promise.resolve());
  const activities: GluelineActivities = {
    copyObjects: wrap('copyObjects', async (input) => {
      const { keys, manifestFiles, keyList } = input.source;
      const given = (keys?.length ?? 0) + (manifestFiles?.count ?? 0) + (keyList?.count ?? 0);
      const n = given || 3;
      return {
        objects: n,
        bytes: n * 100,
        copied: n * input.destinations.length,
        skipped: 0,
        verifiedKeys: n * input.destinations.length,
      };
    }),
    deleteObjects: wrap('deleteObjects', async (input) => ({ deleted: input.keys?.length ?? 0 })),
    writeCopyManifest: wrap('writeCopyManifest', async (input) => ({
      entries: input.files?.length ?? input.manifestFiles?.count ?? 0,
    })),
    readManifest: wrap('readManifest', async () => options.manifest ?? MANIFEST),
    // As the real one: the summary of the manifest, with the ETag S3 gives it.
    readManifestSummary: wrap('readManifestSummary', async (input) =>
      summarizeManifest({ ...input, etag: '"fake-manifest-etag"' }, options.manifest ?? MANIFEST),
    ),
    startGlueJobRun: wrap('startGlueJobRun', async () => ({ jobRunId: 'jr_test_1', reused: false })),
    waitForGlueJobRun: wrap(
      'waitForGlueJobRun',
      options.waitForGlueJobRun ??
        (async (input) => ({
          jobRunId: input.jobRunId,
          jobRunState: 'SUCCEEDED',
          executionTimeSeconds: 300,
          polls: 4,
        })),
    ),
    stopGlueJobRun: wrap('stopGlueJobRun', async (input) => ({
      jobRunId: input.jobRunId,
      jobRunState: 'STOPPED',
      stopRequested: true,
    })),
    startCrawler: wrap('startCrawler', async (input) => ({
      crawlerName: input.crawlerName,
      startedAfter: '2026-11-30T12:00:00.000Z',
      clock: 'aws' as const,
      waitedForRunningCrawl: false,
      crawl: { how: 'started' as const, crawlStartedAt: '2026-11-30T12:00:00.000Z', reason: 'fake: none in progress' },
    })),
    waitForCrawler: wrap('waitForCrawler', async (input) => {
      const until = options.crawlUntil;
      for (
        const end = Date.now() + (until?.limitMs ?? 60_000);
        until && !until.done(input, calls) && Date.now() < end;
      ) {
        Context.current().heartbeat();
        await sleep(20);
      }
      // Heartbeats while it waits, so a cancellation reaches it.
      const ms = typeof options.crawlMs === 'function' ? options.crawlMs(input) : (options.crawlMs ?? 0);
      for (const end = Date.now() + ms; Date.now() < end;) {
        Context.current().heartbeat();
        await sleep(20);
      }
      return { crawlerName: input.crawlerName, status: 'SUCCEEDED', tablesUpdated: 1, polls: 2 };
    }),
    executeStatements: wrap('executeStatements', async (input) => ({
      statementId: `st-${input.region}-${++statements}`,
    })),
    waitForStatement: wrap('waitForStatement', async (input) => ({
      statementId: input.statementId,
      status: 'FINISHED',
      subStatements: [{ id: `${input.statementId}:1`, status: 'FINISHED' }],
      polls: 1,
    })),
    cancelStatement: wrap('cancelStatement', async (input) => ({ statementId: input.statementId, cancelled: true })),
    sendFailureEmail: wrap('sendFailureEmail', async () => ({ messageId: '<fake@glueline>' })),
    postFailureWebhook: wrap('postFailureWebhook', async () => ({ status: 200 })),
    // Nothing ran: a freshness test replaces it with the runs it plays.
    checkFreshness: wrap('checkFreshness', async () => ({})),
  };
  // As createActivities does: failures carry the attempt they happened on.
  return Object.assign(reportingAttempts(activities), { calls });
}

/**
 * A Glue wait that heartbeats until released or cancelled; a cancellation is recorded as the
 * BatchStopJobRun the real activity makes, and reported as the real one reports a run it stopped.
 */
export function controllableGlueWait() {
  const state = { started: false, released: false, stopRequested: false };
  const wait: GluelineActivities['waitForGlueJobRun'] = async (input) => {
    state.started = true;
    try {
      while (!state.released) {
        Context.current().heartbeat();
        await Context.current().sleep(20);
      }
    } catch (err) {
      if (!(err instanceof CancelledFailure)) throw err;
      state.stopRequested = true;
      const stopped: StoppedOnCancel = { stoppedId: input.jobRunId, finalState: 'STOPPED' };
      throw new CancelledFailure(`stopped ${input.jobRunId}`, [stopped]);
    }
    return { jobRunId: input.jobRunId, jobRunState: 'SUCCEEDED', executionTimeSeconds: 60, polls: 1 };
  };
  return { state, wait };
}

/** A failure the way an activity raises it. */
export const nonRetryable = (type: string, message = `fake ${type}`) => ApplicationFailure.nonRetryable(message, type);

export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** An activity that runs until the test opens its gate, ignoring cancellation (it never heartbeats). */
export function gatedActivity<A extends unknown[], R>(result: (...args: A) => R) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const state = { started: 0 };
  const activity = async (...args: A): Promise<R> => {
    state.started++;
    await opened;
    return result(...args);
  };
  return { activity, open, state };
}

/** One time-skipping server and one workflow bundle for a whole test file. */
export class WorkflowTestBed {
  private constructor(
    readonly env: TestWorkflowEnvironment,
    private readonly bundle: WorkflowBundleWithSourceMap,
  ) {}

  static async start(): Promise<WorkflowTestBed> {
    const [env, bundle] = await Promise.all([
      TestWorkflowEnvironment.createTimeSkipping({ server: timeSkippingServer }),
      bundleWorkflowCode({
        workflowsPath: require.resolve('../../src/workflows'),
        preloadModules: WORKFLOW_PRELOAD_MODULES,
        logger: quietLogger,
      }),
    ]);
    // The dev server registers these at start (devstack/stack.ts); the test server needs telling.
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        Object.values(SearchAttributeKeys).map((key) => [key.name, INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
    return new WorkflowTestBed(env, bundle);
  }

  /** A worker on a task queue of its own, with the given activities. */
  async worker(activities: GluelineActivities): Promise<{ worker: Worker; taskQueue: string }> {
    const taskQueue = unique('wf');
    const worker = await Worker.create({
      connection: this.env.nativeConnection,
      taskQueue,
      workflowBundle: this.bundle,
      activities,
      // Deliver cancellation to heartbeating fakes promptly.
      maxHeartbeatThrottleInterval: '10ms',
      defaultHeartbeatThrottleInterval: '10ms',
    });
    return { worker, taskQueue };
  }

  /**
   * Runs a workflow to its end with fake activities. Returns its result or error, its last progress
   * (queried before the worker stops), the fakes' calls and the handle.
   */
  async runToEnd(
    workflowType: 'csvPipeline' | 'pipelineStep',
    input: unknown,
    options: FakeOptions = {},
    workflowId = unique(workflowType),
  ) {
    const fakes = fakeActivities(options);
    const { worker, taskQueue } = await this.worker(fakes);
    const handle = await this.env.client.workflow.start<(input: unknown) => Promise<PipelineResult>>(workflowType, {
      taskQueue,
      workflowId,
      args: [input],
    });
    const outcome = await worker.runUntil(async () => {
      const ended = await handle.result().then(
        (result) => ({ result, error: undefined }),
        (error: unknown) => ({ result: undefined, error }),
      );
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
      return { ...ended, progress };
    });
    const called = (name: ActivityName) => fakes.calls.filter((c) => c.name === name);
    return { ...outcome, fakes, handle, called };
  }

  /** Polls the `progress` query until `ready` holds (real time: the run is waiting on a fake). */
  async progressWhen(
    handle: WorkflowHandle,
    ready: (progress: PipelineProgress) => boolean,
    timeoutMs = 20_000,
  ): Promise<PipelineProgress> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
      if (progress && ready(progress)) return progress;
      if (Date.now() > deadline) throw new Error(`progress never got there: ${JSON.stringify(progress)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Polls the run's history until `count` of its events match (real time: the run is waiting on a fake). */
  async eventsWhen(handle: WorkflowHandle, match: (event: HistoryEvent) => boolean, count = 1, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = ((await handle.fetchHistory()).events ?? []).filter(match);
      if (events.length >= count) return events;
      if (Date.now() > deadline)
        throw new Error(`the history never had ${count} such events (it has ${events.length})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async teardown(): Promise<void> {
    await this.env.teardown();
  }
}

/**
 * The test file's WorkflowTestBed: started in a node:test `before` hook and torn down in an `after` hook of the
 * suite it is called in (call it at the top of a test file). What it returns stands for the bed once `before` has
 * run; touching it earlier (at module load, in a `describe` body) throws, naming what was read.
 */
export function useWorkflowTestBed(): WorkflowTestBed {
  let started: WorkflowTestBed | undefined;
  before(async () => {
    started = await WorkflowTestBed.start();
  });
  after(async () => {
    await started?.teardown();
  });
  return new Proxy({} as WorkflowTestBed, {
    get(_, key) {
      if (!started)
        throw new Error(
          `WorkflowTestBed.${String(key)} was read before the bed started: use the bed inside a test or hook, ` +
            'after the before hook that useWorkflowTestBed() registered',
        );
      const value: unknown = Reflect.get(started, key, started);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(started) : value;
    },
  });
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
