/**
 * Shared by the reliability scenarios (issue 8): the mode (quick in `npm test`, full in `npm run reliability`),
 * figures for the runner's report, a worker process that can be killed and restarted with its log kept in a
 * file, and a pipeline whose Glue job is scripted by the gateway (no Spark) and whose Redshift refresh only
 * appends one row per execution to a counter table, so a second execution of a statement shows as a second row.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { manifestKey, primaryRegion, type GlueManifest } from '../../src/workflow-safe/layout';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { devtool, repoRoot } from '../../devstack/paths';
import { freePort, type StackEndpoints } from '../../devstack/stack';
import type { FaultRule, FaultRuleInput, GatewayControl, HeldResponse } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, stack, stackDir } from '../../devstack/testkit/stack';
import { secrets } from '../../devstack/testkit/scripted-pipeline';
import { startWorker, waitForOutput, type WorkerProcess } from '../../devstack/testkit/worker-process';

export {
  landBatch,
  reliabilitySpec,
  secrets,
  secretWorkerEnv,
  startWebhookReceiver,
} from '../../devstack/testkit/scripted-pipeline';

/** `full` under `npm run reliability`; `quick` (small enough for CI) otherwise. */
export const mode: 'quick' | 'full' = process.env.GLUELINE_RELIABILITY_MODE === 'full' ? 'full' : 'quick';

/** Records a figure for the runner's report (a JSON line in GLUELINE_RELIABILITY_FIGURES, when set). */
export function recordFigure(scenario: string, figures: Record<string, number | string>): void {
  const file = process.env.GLUELINE_RELIABILITY_FIGURES;
  if (file) fs.appendFileSync(file, JSON.stringify({ scenario, ...figures }) + '\n');
}

/** A worker process that survives kills: SIGKILL, restart, and one log file across all its lives. */
export class KillableWorker {
  private worker: WorkerProcess | undefined;
  readonly logFile: string;
  kills = 0;

  constructor(
    private readonly env: Record<string, string>,
    name: string,
  ) {
    this.logFile = path.join(stackDir, 'logs', `${name}.log`);
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
    fs.writeFileSync(this.logFile, '');
  }

  async start(): Promise<void> {
    this.worker = startWorker(this.env);
    // Bundling the workflows takes a minute or more on a loaded 2-core machine: a guard, not a measure.
    await waitForOutput(this.worker, 'glueline worker started', 300_000);
  }

  private saveLog(): void {
    if (this.worker) fs.appendFileSync(this.logFile, this.worker.output());
  }

  /**
   * Sends `signal` to the process and starts a fresh one at once, as a deploy or a supervisor would: SIGKILL
   * (no grace, no clean-up) or SIGTERM (graceful shutdown). Resolves with the old process's exit code.
   */
  async replace(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<number | null> {
    const old = this.worker!;
    old.child.kill(signal);
    if (signal === 'SIGKILL') this.kills++;
    const [code] = await Promise.all([old.exited, this.start()]);
    fs.appendFileSync(this.logFile, old.output());
    return code;
  }

  /** Settles when the current process exits. */
  get exited(): Promise<number | null> {
    return this.worker?.exited ?? Promise.resolve(null);
  }

  /** True while the current process runs. */
  get running(): boolean {
    return this.worker?.child.exitCode === null && this.worker.child.signalCode === null;
  }

  /** The current process's output so far (earlier lives are in {@link logFile}). */
  output(): string {
    return this.worker?.output() ?? '';
  }

  /** SIGTERM and wait; keeps the log. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await w.exited;
    this.saveLog();
    this.worker = undefined;
  }
}

/**
 * The fault and hold rules one scenario adds, each removed by {@link removeAll} (call it in `after`), fired or
 * not: a rule that never fired (the scenario failed first) would otherwise act on the next scenario's requests.
 */
export class ScenarioRules {
  private readonly ids: string[] = [];

  constructor(private readonly gateway: GatewayControl) {}

  async add(rule: FaultRuleInput): Promise<FaultRule> {
    const added = await this.gateway.addFault(rule);
    this.ids.push(added.id);
    return added;
  }

  async removeAll(): Promise<void> {
    for (const id of this.ids.splice(0)) await this.gateway.deleteFault(id);
  }
}

/** The same spec with a Glue job of its own, so gateway counts scoped to the job name are one pipeline run's. */
export function withOwnJob(spec: PipelineSpec, suffix: string): PipelineSpec {
  return { ...spec, transform: { ...spec.transform, jobName: `${spec.transform.jobName}-${suffix}` } };
}

export { provisionQuietly } from '../../devstack/testkit/spec';

/** Rows of the counter table per batch in one region: how many times each batch's refresh SQL really ran. */
export async function refreshExecutions(spec: PipelineSpec, region: string): Promise<Map<string, number>> {
  const r = spec.regions.find((x) => x.region === region)!;
  const redshift = new RedshiftDataClient(awsClientConfig(region));
  const { Id } = await redshift.send(
    new ExecuteStatementCommand({
      WorkgroupName: r.redshift!.workgroupName,
      Database: r.redshift!.database,
      Sql: 'select batch_id, count(*) from refresh_log group by batch_id',
    }),
  );
  const done = await pollUntil(
    () => redshift.send(new DescribeStatementCommand({ Id })),
    (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  if (done.Status !== 'FINISHED') throw new Error(`counting refresh_log in ${region}: ${done.Error}`);
  const { Records } = await redshift.send(new GetStatementResultCommand({ Id }));
  redshift.destroy();
  return new Map((Records ?? []).map((row) => [row[0]!.stringValue!, Number(row[1]!.longValue)]));
}

/** The first column of every row `sql` returns from a region's Redshift (a number or a string). */
export async function redshiftColumn(
  region: PipelineSpec['regions'][number],
  sql: string,
): Promise<(number | string | undefined)[]> {
  const redshift = new RedshiftDataClient(awsClientConfig(region.region));
  try {
    const { Id } = await redshift.send(
      new ExecuteStatementCommand({
        WorkgroupName: region.redshift!.workgroupName,
        Database: region.redshift!.database,
        Sql: sql,
      }),
    );
    const done = await pollUntil(
      () => redshift.send(new DescribeStatementCommand({ Id })),
      (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    if (done.Status !== 'FINISHED') throw new Error(`${sql} in ${region.region}: ${done.Status} ${done.Error}`);
    const { Records } = await redshift.send(new GetStatementResultCommand({ Id }));
    return (Records ?? []).map((r) => r[0]?.longValue ?? r[0]?.stringValue);
  } finally {
    redshift.destroy();
  }
}

/** One quarantined row, as the Glue job writes it (a JSON line of a quarantine file). */
export interface QuarantinedRow {
  source_file: string;
  line: number;
  reason: string;
  record: string;
}

/** A batch's Glue manifest in the primary curated bucket, and every row its quarantine files hold. */
export async function jobOutcome(
  spec: PipelineSpec,
  batch: Batch,
): Promise<{ manifest: GlueManifest; quarantine: QuarantinedRow[] }> {
  const primary = primaryRegion(spec);
  const s3 = new S3Client(awsClientConfig(primary.region));
  try {
    const read = async (Key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: primary.curatedBucket, Key }))).Body!.transformToString();
    const manifest = JSON.parse(await read(manifestKey(spec, batch))) as GlueManifest;
    const quarantine: QuarantinedRow[] = [];
    for (const file of manifest.quarantineFiles) {
      for (const line of (await read(file.key)).split('\n').filter(Boolean))
        quarantine.push(JSON.parse(line) as QuarantinedRow);
    }
    return { manifest, quarantine };
  } finally {
    s3.destroy();
  }
}

export interface SinkMessage {
  subject: string;
  text: string;
  to: string;
  [key: string]: unknown;
}

/** Every message an SMTP sink holds. @param inboxUrl @default - the test stack's sink */
export async function sinkMessages(inboxUrl = stack().smtp.inboxUrl): Promise<SinkMessage[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(inboxUrl);
      return (await res.json()) as SinkMessage[];
    } catch (err) {
      // A kept-alive connection the sink has just closed fails the GET ("other side closed"): ask again.
      if (attempt >= 3) throw err;
    }
  }
}

/** An SMTP sink of its own (`devstack/mail-sink.ts`) on `smtpPort`, started once it answers. */
export async function startMailSink(smtpPort: number): Promise<{ inboxUrl: string; stop: () => Promise<void> }> {
  const inboxUrl = `http://127.0.0.1:${await freePort()}/messages`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'devstack', 'mail-sink.ts')], {
    cwd: repoRoot,
    stdio: 'ignore',
    env: {
      ...process.env,
      MAIL_SMTP_PORT: String(smtpPort),
      MAIL_HTTP_PORT: new URL(inboxUrl).port,
      MAIL_STORE: path.join(stackDir, `mail-${smtpPort}.jsonl`),
    },
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await pollUntil(
    () =>
      fetch(inboxUrl).then(
        (r) => r.ok,
        () => false,
      ),
    (ok) => ok,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return { inboxUrl, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

/** A client of the test stack's Temporal, or of `temporal` (a server of a test's own). */
export async function temporalClient(
  temporal: StackEndpoints['temporal'] = stack().temporal,
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporal.address });
  return { client: new Client({ connection, namespace: temporal.namespace }), connection };
}

/**
 * A run's history as the server's JSON (`temporal workflow show --output json`), with every base64 string in
 * it (payload data) decoded and appended, so a secret inside a payload is found too. With `codecEndpoint`, the
 * CLI decodes payloads through that codec server first, as the Temporal UI does.
 */
export function historyText(
  workflowId: string,
  temporal: StackEndpoints['temporal'] = stack().temporal,
  codecEndpoint?: string,
): string {
  const cli = spawnSync(
    devtool('temporal'),
    ['workflow', 'show', '--address', temporal.address, '--namespace', temporal.namespace].concat(
      ['--workflow-id', workflowId, '--output', 'json'],
      codecEndpoint ? ['--codec-endpoint', codecEndpoint] : [],
    ),
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (cli.status !== 0) throw new Error(`temporal workflow show ${workflowId} failed: ${cli.stderr}`);
  const json = cli.stdout;
  if (!json.includes('"events"')) throw new Error(`temporal workflow show ${workflowId} printed no events`);
  const decoded = [...json.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('utf8'),
  );
  return [json, ...decoded].join('\n');
}

/** How many times an activity type was scheduled and how many attempts its last start took, per history. */
export async function activityAttempts(client: Client, workflowId: string): Promise<Map<string, number>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const attempts = new Map<string, number>();
  const scheduled = new Map<string, string>();
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const name = scheduled.get(String(started.scheduledEventId)) ?? '?';
      attempts.set(name, Math.max(attempts.get(name) ?? 0, started.attempt ?? 1));
    }
  }
  return attempts;
}

/** Sum of every request count (faulted ones included) for resources under `prefix`. */
export function totalCalls(counts: Record<string, { count: number }>): number {
  return Object.values(counts).reduce((n, c) => n + c.count, 0);
}

/** One activity's completed attempt: its input, its result and the attempt that produced it. */
export interface CompletedActivity {
  input: Record<string, unknown>;
  result: Record<string, unknown>;
  attempt: number;
}

const decode = (payload: { data?: Uint8Array | null } | undefined) =>
  JSON.parse(Buffer.from(payload?.data ?? []).toString('utf8')) as Record<string, unknown>;

/** Every completed activity of `type` in a run's history (payloads are plain JSON: the test worker has no codec). */
export async function completedActivities(
  client: Client,
  workflowId: string,
  type: string,
): Promise<CompletedActivity[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, Record<string, unknown>>();
  const attempts = new Map<string, number>();
  const completed: CompletedActivity[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === type) scheduled.set(String(e.eventId), decode(s.input?.payloads?.[0]));
    const started = e.activityTaskStartedEventAttributes;
    if (started) attempts.set(String(started.scheduledEventId), started.attempt ?? 1);
    const done = e.activityTaskCompletedEventAttributes;
    const input = done && scheduled.get(String(done.scheduledEventId));
    if (done && input) {
      const attempt = attempts.get(String(done.scheduledEventId)) ?? 1;
      completed.push({ input, result: decode(done.result?.payloads?.[0]), attempt });
    }
  }
  return completed;
}

/** An activity attempt in flight, as the server describes the run: what a kill at this moment interrupts. */
export interface PendingAttempt {
  activity: string;
  attempt: number;
  state: string;
}

/** The run's pending activities that a worker has started (state STARTED). */
export async function startedActivities(client: Client, workflowId: string): Promise<PendingAttempt[]> {
  const description = await client.workflow.getHandle(workflowId).describe();
  return (description.raw.pendingActivities ?? [])
    .map((a) => ({
      activity: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      state: String(a.state ?? ''),
    }))
    .filter((a) => a.state === 'PENDING_ACTIVITY_STATE_STARTED' || a.state === '2');
}

/** One kill in a held window: the held responses, and the activity attempt the kill interrupted. */
export interface HeldKill {
  window: string;
  held: HeldResponse[];
  activity: string;
  attempt: number;
}

/**
 * Waits until every `match` has a held response, checks that `activity` is in flight (the attempt the kill
 * interrupts), SIGKILLs the worker and starts another, waits until the held requests' callers are gone, and
 * releases the responses into the dead connections.
 */
export async function killWhileHeld(
  context: { gateway: GatewayControl; worker: KillableWorker; client: Client; workflowId: string },
  window: string,
  activity: string,
  matches: ((h: HeldResponse) => boolean)[],
): Promise<HeldKill> {
  const { gateway, worker, client, workflowId } = context;
  const held: HeldResponse[] = [];
  for (const match of matches) held.push(await gateway.waitForHold(match, 300_000));
  const inFlight = (await startedActivities(client, workflowId)).filter((a) => a.activity === activity);
  if (inFlight.length === 0) {
    const all = JSON.stringify(await startedActivities(client, workflowId));
    throw new Error(`${window}: the response is held but ${activity} is not in flight (in flight: ${all})`);
  }
  await worker.replace('SIGKILL');
  for (const h of held) {
    // The killed worker's connection closed: the released response reaches no one.
    await gateway.waitForHold((x) => x.id === h.id && x.callerGone, 60_000);
    await gateway.release(h.id);
  }
  return { window, held, activity, attempt: Math.max(...inFlight.map((a) => a.attempt)) };
}

/** One line of the report per held window: the kill, the attempt it interrupted, the one that finished, duplicates. */
export function recordHeldWindow(kill: HeldKill, completedAttempt: number, duplicates: number): void {
  recordFigure('held-window', {
    window: kill.window,
    activity: kill.activity,
    interruptedAttempt: kill.attempt,
    completedAttempt,
    duplicates,
  });
}

/** A text to scan for secrets, and where it came from. */
export type ScanPlace = [where: string, text: string];

/** Every `values` entry found in any place, as `<name> in <where>`. */
export function scanForSecrets(places: ScanPlace[], values: Record<string, string> = secrets): string[] {
  return places.flatMap(([where, text]) =>
    Object.entries(values)
      .filter(([, value]) => text.includes(value))
      .map(([name]) => `${name} in ${where}`),
  );
}

/**
 * What a scenario leaves behind that a secret could leak into: its runs' histories (payloads decoded), its
 * worker's log across all its lives, and the stack's gateway and Temporal server logs (or `serverLog`).
 */
export function scenarioPlaces(
  workflowIds: string[],
  workerLog: string,
  options: { temporal?: StackEndpoints['temporal']; serverLog?: string } = {},
): ScanPlace[] {
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  const logs = path.join(stackDir, 'logs');
  return [
    ...workflowIds.map((id): ScanPlace => [`history of ${id}`, historyText(id, options.temporal)]),
    [`worker log ${workerLog}`, read(workerLog)],
    ['gateway log', read(path.join(logs, 'gateway.log'))],
    ['Temporal server log', read(options.serverLog ?? path.join(logs, 'temporal.log'))],
  ];
}

/**
 * Scans a scenario's places for the worker's secrets, records the figures, and returns what was found; first
 * proves the scan sees each kind of place, by finding `canary` (a value known to be in the first history and
 * the worker log) there.
 */
export function scanScenario(scenario: string, places: ScanPlace[], canary: string): string[] {
  const control = scanForSecrets(places, { canary });
  const history = places.find(([where]) => where.startsWith('history of'))?.[0];
  const log = places.find(([where]) => where.startsWith('worker log'))?.[0];
  for (const where of [history, log]) {
    if (!control.includes(`canary in ${where}`)) {
      throw new Error(
        `the positive control found ${canary} only in ${control.join(', ') || 'nothing'}: not in ${where}`,
      );
    }
  }
  const found = scanForSecrets(places);
  recordFigure('secrets-scan', {
    of: scenario,
    places: places.length,
    found: found.length,
    canaryFound: control.length,
  });
  return found;
}
