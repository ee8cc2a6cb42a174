/**
 * `npm run record-histories`: records the Temporal histories that test/workflows/replay.test.ts replays, from
 * real runs of today's workflow code. It brings up a local stack of its own (`.devstack/record-histories`, free
 * ports), starts the real worker (`src/worker.ts`) as its own process with every secret configured, runs each
 * scenario against real activities (the Glue job's outcome scripted through the gateway, so no Spark and
 * short runs), saves each history as the server's JSON into test/histories/, and stops the stack.
 *
 * Each saved history is checked: no configured secret in it (payloads decoded), and no path of this machine
 * (stack traces and identities are rewritten before the check). Read test/histories/README.md before
 * re-recording: a history that no longer replays is a finding, not something to re-record away.
 *
 *   npm run record-histories                      every scenario
 *   npm run record-histories -- success cancel    only these (by file name without .json, or a unique prefix)
 */
// First: it names this script's stack for the test helpers below, which read it when loaded.
import { recordStackDir as stackDir } from './record-histories-stack';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { devtool, repoRoot } from '../devstack/paths';
import { down, status, up } from '../devstack/stack';
import { primaryRegion, replicaRegions } from '../src/workflow-safe/layout';
import {
  DEFAULT_TASK_QUEUE,
  pipelineWorkflowId,
  PROGRESS_QUERY,
  TRIGGER_MEMO,
  type PipelineProgress,
} from '../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../src/workflow-safe/spec';
import type { Batch } from '../src/workflow-safe/run-input';
import { csvPipelineStartOptions, pipelineStepStartOptions } from '../src/starters/start-options';
import type { SinkMessage } from '../devstack/mail-sink';
import {
  landBatch as landScriptedBatch,
  reliabilitySpec,
  secrets,
  secretWorkerEnv,
  startWebhookReceiver,
} from '../devstack/testkit/scripted-pipeline';
import { provisionQuietly } from '../devstack/testkit/spec';
import { GatewayControl } from '../devstack/testkit/gateway';
import { pollUntil } from '../devstack/testkit/poll';
import { stack } from '../devstack/testkit/stack';
import { startWorker, stopWorker, temporalWorkflowStart, waitForOutput } from '../devstack/testkit/worker-process';
import { recordFreshnessWatch, type NamedRun } from './record-histories-freshness';

const historiesDir = path.join(repoRoot, 'test', 'histories');
/** A scenario on the local stack takes seconds; this only keeps a stuck one from hanging the script. */
const RUN_TIMEOUT_MS = 180_000;

/** What every scenario gets: a client, the provisioned spec and the webhook receiver. */
interface Context {
  client: Client;
  spec: PipelineSpec;
  gateway: GatewayControl;
  webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  /** Batches landed by earlier scenarios, by name. */
  batches: Map<string, Batch>;
}

/** One run: its workflow id and run id (a workflow id may have several runs: the redrive's). */
interface RunRef {
  workflowId: string;
  runId: string;
}

interface Scenario {
  /** The history's file name, without .json. */
  name: string;
  /** What the history covers, printed with the result. */
  covers: string;
  /** Runs the scenario and returns the run whose history is saved, or several runs, each saved by its name. */
  run(ctx: Context): Promise<RunRef | NamedRun[]>;
}

/** Waits for the run's end; fails unless it ended as `expected`. */
async function expectEnd(handle: WorkflowHandle, expected: 'COMPLETED' | 'FAILED' | 'CANCELLED'): Promise<void> {
  const error = await withTimeout(
    handle.result().then(
      () => undefined,
      (err: unknown) => err,
    ),
    `run ${handle.workflowId}`,
  );
  const { status: runStatus } = await handle.describe();
  if (runStatus.name !== expected) {
    throw new Error(
      `run ${handle.workflowId} ended ${runStatus.name}, expected ${expected}` +
        (error ? `: ${error instanceof WorkflowFailedError ? String(error.cause) : String(error)}` : ''),
    );
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not end within ${RUN_TIMEOUT_MS / 1000} s`)),
      RUN_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Lands a batch (one CSV, and the output the scripted Glue job stands for) and remembers it by `name`. */
async function landBatch(ctx: Context, name: string): Promise<Batch> {
  const batch = await landScriptedBatch(ctx.spec, name);
  ctx.batches.set(name, batch);
  return batch;
}

/** Waits for the run `start` started to end as `expected`. @returns that run */
async function runToEnd(
  client: Client,
  started: { workflowId: string; firstExecutionRunId: string },
  expected: 'COMPLETED' | 'FAILED' | 'CANCELLED',
): Promise<RunRef> {
  const run = { workflowId: started.workflowId, runId: started.firstExecutionRunId };
  await expectEnd(client.workflow.getHandle(run.workflowId, run.runId), expected);
  return run;
}

const scenarios: Scenario[] = [
  {
    name: 'success',
    covers:
      'csvPipeline, every step succeeded: stage-raw, crawl-raw, transform, replicate-curated, then crawl-curated ' +
      'and redshift-refresh in both regions; started with search attributes (as every starter does)',
    async run(ctx) {
      const batch = await landBatch(ctx, 'success');
      await ctx.gateway.scriptJobRuns(ctx.spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 1 }]);
      const started = await ctx.client.workflow.start(
        'csvPipeline',
        csvPipelineStartOptions({ spec: ctx.spec, batch }),
      );
      return runToEnd(ctx.client, started, 'COMPLETED');
    },
  },
  {
    name: 'redrive-start-at',
    covers:
      "csvPipeline with options.startAt = replicate-curated, after the batch's first run succeeded: stage-raw to " +
      'transform skipped, replicate-curated reads the manifest itself, then both regions',
    async run(ctx) {
      const batch = ctx.batches.get('success');
      if (!batch) throw new Error('redrive-start-at re-runs the batch of the success scenario: record both together');
      const options = csvPipelineStartOptions(
        { spec: ctx.spec, batch, options: { startAt: 'replicate-curated' } },
        { redo: true },
      );
      return runToEnd(ctx.client, await ctx.client.workflow.start('csvPipeline', options), 'COMPLETED');
    },
  },
  {
    name: 'pipeline-step',
    covers: 'pipelineStep: redshift-refresh alone in the replica region',
    async run(ctx) {
      const batch = ctx.batches.get('success') ?? (await landBatch(ctx, 'step'));
      const region = replicaRegions(ctx.spec)[0]!.region;
      const options = pipelineStepStartOptions({ spec: ctx.spec, batch, step: 'redshift-refresh', region });
      return runToEnd(ctx.client, await ctx.client.workflow.start('pipelineStep', options), 'COMPLETED');
    },
  },
  {
    name: 'failure-notified',
    covers:
      'csvPipeline whose Glue job run ends FAILED (scripted): transform fails, the failure email and the ' +
      'webhook are sent, the run fails with the Glue error',
    async run(ctx) {
      const batch = await landBatch(ctx, 'failure');
      await ctx.gateway.scriptJobRuns(ctx.spec.transform.jobName, [
        { state: 'FAILED', errorMessage: 'scripted by record-histories: the job failed', afterSeconds: 1 },
      ]);
      const hooksBefore = ctx.webhook.requests.length;
      const started = await ctx.client.workflow.start(
        'csvPipeline',
        csvPipelineStartOptions({ spec: ctx.spec, batch }),
      );
      const run = await runToEnd(ctx.client, started, 'FAILED');
      const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
      const emails = inbox.filter((m) => m.subject.includes(`batch ${batch.id} `));
      if (emails.length !== 1 || !/failed at transform$/.test(emails[0]!.subject))
        throw new Error(`expected one failure email naming transform, got: ${emails.map((m) => m.subject).join('; ')}`);
      if (ctx.webhook.requests.length !== hooksBefore + 1)
        throw new Error(`expected one webhook post, got ${ctx.webhook.requests.length - hooksBefore}`);
      return run;
    },
  },
  {
    name: 'refused-notified',
    covers:
      'csvPipeline refused by validation (an unknown key in the spec) that a schedule started (memo trigger: ' +
      'schedule): the notify-refused-runs patch marker, the refusal email and webhook, then the run fails InvalidInput',
    async run(ctx) {
      const batch = {
        id: 'refused',
        source: { bucket: primaryRegion(ctx.spec).rawBucket, prefix: 'landing/refused/' },
      };
      const started = await ctx.client.workflow.start('csvPipeline', {
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId: pipelineWorkflowId(ctx.spec, batch),
        args: [{ spec: { ...ctx.spec, surprise: 'an unknown key' } as PipelineSpec, batch }],
        memo: { [TRIGGER_MEMO]: 'schedule' },
      });
      const run = await runToEnd(ctx.client, started, 'FAILED');
      const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
      const emails = inbox.filter((m) => m.subject.includes(`batch ${batch.id} refused before it started (schedule)`));
      if (emails.length !== 1) throw new Error(`expected one refusal email, got ${emails.length}`);
      return run;
    },
  },
  {
    name: 'cancel-during-transform',
    covers:
      'csvPipeline cancelled while its Glue job run is RUNNING: the wait stops the job run, the failure email ' +
      'is sent, the run ends cancelled; started by the temporal CLI without search attributes (the workflow ' +
      'upserts them)',
    async run(ctx) {
      const { spec, gateway, client } = ctx;
      const batch = await landBatch(ctx, 'cancel');
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'RUNNING' }]);
      const polls = async () => (await gateway.counts(spec.transform.jobName))['glue:GetJobRun']?.count ?? 0;
      const pollsBefore = await polls();
      const workflowId = pipelineWorkflowId(spec, batch);
      temporalWorkflowStart({
        type: 'csvPipeline',
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId,
        input: { spec, batch },
      });
      const { runId } = await client.workflow.getHandle(workflowId).describe();
      const handle = client.workflow.getHandle(workflowId, runId);
      await pollUntil(
        () => handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined),
        (p) => p?.steps.some((s) => s.step === 'transform' && s.status === 'running' && !!s.awsIds.jobRunId) ?? false,
        { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 250 },
      );
      // The wait is polling, so the cancellation reaches it (as it would in production).
      await pollUntil(polls, (n) => n > pollsBefore, { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 250 });
      await handle.cancel();
      await expectEnd(handle, 'CANCELLED');
      return { workflowId, runId };
    },
  },
  {
    name: 'freshness',
    covers: 'freshnessWatch: freshness-missed.json, freshness-back.json and freshness-stopped.json',
    run: recordFreshnessWatch,
  },
];

/**
 * The run's history as the server's JSON: `temporal workflow show --output json`, the form the SDK's replay
 * reads and the one an operator downloads from the UI (so a history from production can be added the same way).
 */
function historyJson({ workflowId, runId }: RunRef): string {
  const { address, namespace } = stack().temporal;
  const cli = spawnSync(
    devtool('temporal'),
    ['workflow', 'show', '--address', address, '--namespace', namespace, '--output', 'json'].concat([
      '--workflow-id',
      workflowId,
      '--run-id',
      runId,
    ]),
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (cli.status !== 0) throw new Error(`temporal workflow show ${workflowId} run ${runId} failed: ${cli.stderr}`);
  return cli.stdout;
}

/** Path prefixes of this machine that stack traces carry: the checkout (as linked and as resolved). */
function machinePaths(): string[] {
  const roots = [repoRoot, fs.realpathSync(repoRoot)];
  const modules = path.join(repoRoot, 'node_modules');
  if (fs.existsSync(modules)) roots.push(path.dirname(fs.realpathSync(modules)));
  return [...new Set(roots)].sort((a, b) => b.length - a.length);
}

/**
 * The history as the server's JSON, with this machine's paths (in stack traces) replaced by `<repo>`, and its host
 * and user names (in identities and sticky task queue names, `<pid>@<host>`) by `host` and `user`. Replay reads
 * none of them, so the history replays exactly as recorded.
 */
function sanitize(historyJson: string): string {
  const roots = machinePaths();
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const hostAfterPid = new RegExp(`(\\d)@${escape(os.hostname())}`, 'g');
  const user = os.userInfo().username;
  const rewrite = (key: string, value: unknown): unknown => {
    if (typeof value !== 'string') return value;
    let text = value;
    for (const root of roots) text = text.split(root).join('<repo>');
    text = text.replace(hostAfterPid, '$1@host');
    if (key === 'identity') text = text.split(`${user}@`).join('user@').split(`@${os.hostname()}`).join('@host');
    return text;
  };
  return JSON.stringify(JSON.parse(historyJson, rewrite), null, 2) + '\n';
}

/** Fails when the saved text, or any base64 payload in it decoded, still holds a secret or a path of this machine. */
function checkClean(name: string, text: string, secrets: Record<string, string>): void {
  const decoded = [...text.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('utf8'),
  );
  const all = [text, ...decoded].join('\n');
  const leaks = [
    ...Object.entries(secrets).map(([what, value]) => [what, value] as const),
    ...machinePaths().map((p) => ['a path of this machine', p] as const),
    ['the home directory', os.homedir()] as const,
    ['the host name', `@${os.hostname()}`] as const,
  ].filter(([, value]) => value.length > 1 && all.includes(value));
  if (leaks.length > 0)
    throw new Error(
      `${name}.json would hold ${leaks.map(([what, value]) => `${what} (${value})`).join(', ')}: ` +
        'find where it enters the history and keep it out (or extend sanitize() if replay does not read it)',
    );
}

/** The scenarios the arguments name (all when none), in the order of {@link scenarios}. */
function selected(args: string[]): Scenario[] {
  if (args.length === 0) return scenarios;
  const chosen = new Set(
    args.map((arg) => {
      const matches = scenarios.filter((s) => s.name === arg || s.name.startsWith(arg));
      if (matches.length !== 1)
        throw new Error(
          `${arg}: ${matches.length ? 'names more than one scenario' : 'no such scenario'}; ` +
            `use one of ${scenarios.map((s) => s.name).join(', ')}`,
        );
      return matches[0]!;
    }),
  );
  return scenarios.filter((s) => chosen.has(s));
}

/** Writes the history into test/histories/ once it is checked clean (else beside the stack, to look at). */
function save(name: string, covers: string, text: string): void {
  try {
    checkClean(name, text, secrets);
  } catch (err) {
    fs.writeFileSync(path.join(stackDir, `${name}.rejected.json`), text);
    throw err;
  }
  const file = path.join(historiesDir, `${name}.json`);
  fs.writeFileSync(file, text);
  const events = (JSON.parse(text) as { events: unknown[] }).events.length;
  console.log(
    `record-histories: ${path.relative(repoRoot, file)}: ${events} events, ${(text.length / 1024).toFixed(1)} KiB` +
      `\n  ${covers}`,
  );
}

async function record(chosen: Scenario[]): Promise<void> {
  const webhook = await startWebhookReceiver();
  const spec = reliabilitySpec(webhook.url);
  await provisionQuietly(spec);
  const worker = startWorker(secretWorkerEnv(DEFAULT_TASK_QUEUE));
  const workerLog = path.join(stackDir, 'logs', 'worker.log');
  const connection = await Connection.connect({ address: stack().temporal.address });
  const client = new Client({ connection, namespace: stack().temporal.namespace });
  const ctx: Context = { client, spec, gateway: new GatewayControl(), webhook, batches: new Map() };
  fs.mkdirSync(historiesDir, { recursive: true });
  try {
    await waitForOutput(worker, 'glueline worker started');
    console.log(`record-histories: worker started; primary region ${primaryRegion(spec).region}`);
    for (const scenario of chosen) {
      // The redrive re-runs the success scenario's batch: run that first (unsaved) when it was not asked for.
      if (scenario.name === 'redrive-start-at' && !ctx.batches.has('success')) await scenarios[0]!.run(ctx);
      const ran = await scenario.run(ctx);
      for (const { name, covers, run } of Array.isArray(ran) ? ran : [{ ...scenario, run: ran }])
        save(name, covers, sanitize(historyJson(run)));
    }
  } catch (err) {
    console.error(`record-histories: the worker's output is in ${path.relative(repoRoot, workerLog)}`);
    throw err;
  } finally {
    await stopWorker(worker);
    fs.writeFileSync(workerLog, worker.output());
    await connection.close();
    await webhook.close();
  }
}

async function main(): Promise<void> {
  const chosen = selected(process.argv.slice(2));
  const running = status(stackDir).filter((p) => p.running);
  if (running.length > 0)
    throw new Error(
      `another record-histories is running in this checkout (its stack: ${running.map((p) => `${p.name} pid ${p.pid}`).join(', ')}). ` +
        `Wait for it, or stop it with \`npm run devstack -- down --dir ${path.relative(repoRoot, stackDir)}\`.`,
    );
  fs.rmSync(stackDir, { recursive: true, force: true });
  await up({ dir: stackDir, freePorts: true, log: () => {} });
  try {
    await record(chosen);
  } finally {
    await down({ dir: stackDir, log: () => {} });
  }
}

main().catch((err: Error) => {
  console.error(`record-histories: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
