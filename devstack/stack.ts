/**
 * The local stack: everything the worker talks to, on loopback, started and stopped as one.
 *
 * Each part is a child process started detached (its own process group), its pid recorded in
 * `<dir>/pids.json`; `down` stops exactly those processes. Endpoints go to `<dir>/endpoints.json`
 * so tests, starters, benchmarks and people all find the same stack.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_STACK_DIR, endpointsFile, readEndpoints, type StackEndpoints } from '../src/starters/stack-endpoints';
import { loadSpecFile } from '../src/starters/spec-file';
import { devtool, repoRoot } from './paths';
import { createSpecRedshiftTargets, warmSpecRedshiftTargets } from './redshift-targets';

export { readEndpoints, type StackEndpoints };

/** Ports of every listener. 0 picks a free port. */
export interface StackPorts {
  /** @default 7233 */
  temporal: number;
  /** @default temporal + 1000 */
  temporalUi: number;
  /** @default 4566 */
  gateway: number;
  /** @default 5000 */
  moto: number;
  /** @default 1025 */
  smtp: number;
  /** @default 1080 */
  mailHttp: number;
}

export interface StackOptions {
  /** Folder for state, logs, pids and endpoints. @default - `<repo>/.devstack` */
  dir?: string;
  ports?: Partial<StackPorts>;
  /** @default - ['us-east-1', 'eu-west-1'] */
  regions?: string[];
  /** Pick a free port for every port not given. @default false */
  freePorts?: boolean;
  /**
   * SQLite pragmas for the Temporal dev server's database, `name=value` each (`--sqlite-pragma`), such as
   * `journal_mode=wal` or `synchronous=1`; `[]` for SQLite's own defaults. @default STACK_SQLITE_PRAGMAS
   */
  sqlitePragmas?: string[];
  /**
   * How often the dev server's one history shard may read its transfer queue: a step hand-off waits for such a read
   * (see temporalCommand). @default TRANSFER_QUEUE_READS_PER_SECOND; the server's own default is 20
   */
  transferQueueReadsPerSecond?: number;
  /** Print progress lines. @default true */
  log?: (line: string) => void;
}

interface PartProcess {
  name: string;
  pid: number;
  /** The process's start time in clock ticks since boot: with the pid, it names this one process even after the pid is reused. */
  startTicks: string;
}

const HOST = '127.0.0.1';
export const DEFAULT_DIR = DEFAULT_STACK_DIR;
export const DEFAULT_REGIONS = ['us-east-1', 'eu-west-1'];
/** The sample spec: `up` creates the Redshift workgroups it names. */
const SAMPLE_SPEC = path.join(repoRoot, 'specs', 'local-sales.yaml');
const DEFAULT_PORTS: StackPorts = {
  temporal: 7233,
  temporalUi: 8233,
  gateway: 4566,
  moto: 5000,
  smtp: 1025,
  mailHttp: 1080,
};
const PORT_FLAGS: Record<keyof StackPorts, string> = {
  temporal: '--temporal-port',
  temporalUi: '--ui-port',
  gateway: '--gateway-port',
  moto: '--moto-port',
  smtp: '--smtp-port',
  mailHttp: '--mail-http-port',
};

const files = (dir: string) => ({
  pids: path.join(dir, 'pids.json'),
  endpoints: endpointsFile(dir),
  logs: path.join(dir, 'logs'),
});

/** The lowest port the kernel hands out for `listen(0)` and outgoing connections (Linux: 32768 unless changed). */
function ephemeralLow(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/** Ports this process has handed out already: a port is free again once its probe closes. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on, below the kernel's ephemeral range: a port from `listen(0)` could be taken, before
 * our part binds it, by another part's own `listen(0)` (the Temporal dev server picks its internal services'
 * ports that way) or by an outgoing connection.
 */
export async function freePort(): Promise<number> {
  const high = Math.min(ephemeralLow(), 65536);
  const low = Math.max(1024, high - 12_000);
  for (;;) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

function readPids(dir: string): PartProcess[] {
  try {
    return JSON.parse(fs.readFileSync(files(dir).pids, 'utf8')) as PartProcess[];
  } catch {
    return [];
  }
}

/** Start time of a live process (field 22 of /proc/<pid>/stat), or undefined when it is gone or a zombie. */
function startTicksOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** True when the process we started is still alive (not merely some process that reused its pid). */
function isOurs(part: PartProcess): boolean {
  return startTicksOf(part.pid) === part.startTicks;
}

async function waitFor(what: string, check: () => Promise<boolean>, logFile: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000}s. Last lines of ${logFile}:\n${tail}`);
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

function startProcess(dir: string, name: string, command: string[], env: NodeJS.ProcessEnv = {}): PartProcess {
  const logFile = path.join(files(dir).logs, `${name}.log`);
  const out = fs.openSync(logFile, 'a');
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command.join(' ')}`);
  const startTicks = startTicksOf(child.pid);
  if (startTicks === undefined) throw new Error(`${name} exited at once; see ${logFile}`);
  return { name, pid: child.pid, startTicks };
}

async function resolvePorts(options: StackOptions): Promise<StackPorts> {
  const given = options.ports ?? {};
  const ports = { ...DEFAULT_PORTS };
  for (const key of Object.keys(DEFAULT_PORTS) as (keyof StackPorts)[]) {
    const value = given[key];
    if (value !== undefined && value !== 0) ports[key] = value;
    else if (options.freePorts || value === 0) ports[key] = await freePort();
    else if (key === 'temporalUi') ports[key] = ports.temporal + 1000;
  }
  for (const key of Object.keys(ports) as (keyof StackPorts)[]) {
    if (await portInUse(ports[key])) {
      throw new Error(
        `port ${ports[key]} (${key}) on ${HOST} is already in use. Stop what holds it, or pass ${PORT_FLAGS[key]} <port> ` +
          `(0 picks a free one) to \`npm run devstack -- up\`.`,
      );
    }
  }
  return ports;
}

/** Starts every part, waits until each answers, writes endpoints.json and returns it. */
export async function up(options: StackOptions = {}): Promise<StackEndpoints> {
  const dir = path.resolve(options.dir ?? DEFAULT_DIR);
  const log = options.log ?? ((line: string) => console.log(line));
  const running = readPids(dir).filter(isOurs);
  if (running.length > 0) {
    throw new Error(
      `a stack is already running from ${dir} (${running.map((p) => `${p.name} pid ${p.pid}`).join(', ')}). ` +
        `Stop it with \`npm run devstack -- down\` first, or use another --dir.`,
    );
  }
  fs.mkdirSync(files(dir).logs, { recursive: true });
  const ports = await resolvePorts(options);
  const regions = options.regions ?? DEFAULT_REGIONS;
  const endpoints: StackEndpoints = {
    temporal: {
      address: `${HOST}:${ports.temporal}`,
      namespace: 'default',
      uiUrl: `http://${HOST}:${ports.temporalUi}`,
    },
    aws: {
      endpoint: `http://${HOST}:${ports.gateway}`,
      motoEndpoint: `http://${HOST}:${ports.moto}`,
      controlUrl: `http://${HOST}:${ports.gateway}/_gateway`,
      regions,
    },
    smtp: {
      host: HOST,
      port: ports.smtp,
      inboxUrl: `http://${HOST}:${ports.mailHttp}/messages`,
      uiUrl: `http://${HOST}:${ports.mailHttp}/`,
    },
  };

  const parts: PartProcess[] = [];
  const record = (part: PartProcess) => {
    parts.push(part);
    fs.writeFileSync(files(dir).pids, JSON.stringify(parts, null, 2));
  };
  const logOf = (name: string) => path.join(files(dir).logs, `${name}.log`);
  try {
    record(startProcess(dir, 'temporal', await temporalCommand(dir, ports, options)));
    record(startProcess(dir, 'moto', [devtool('moto_server'), '-H', HOST, '-p', String(ports.moto)]));
    record(
      startProcess(dir, 'gateway', [process.execPath, ...tsxArgs(), path.join(__dirname, 'gateway', 'main.ts')], {
        GATEWAY_PORT: String(ports.gateway),
        GATEWAY_UPSTREAM: endpoints.aws.motoEndpoint,
        GATEWAY_DATA_DIR: path.join(dir, 'gateway'),
      }),
    );
    record(
      startProcess(dir, 'mail', [process.execPath, ...tsxArgs(), path.join(__dirname, 'mail-sink.ts')], {
        MAIL_SMTP_PORT: String(ports.smtp),
        MAIL_HTTP_PORT: String(ports.mailHttp),
        MAIL_STORE: path.join(dir, 'mail.jsonl'),
      }),
    );

    await Promise.all([
      waitFor('temporal', () => temporalHealthy(endpoints), logOf('temporal')),
      waitFor('moto', () => httpOk(`${endpoints.aws.motoEndpoint}/moto-api/`), logOf('moto')),
      waitFor('gateway', () => httpOk(`${endpoints.aws.controlUrl}/health`), logOf('gateway')),
      waitFor('mail', () => httpOk(endpoints.smtp.inboxUrl), logOf('mail')),
    ]);
    // The sample spec's workgroups, as an account that runs it would have them (README, "The AWS gateway").
    const sample = loadSpecFile(SAMPLE_SPEC);
    await createSpecRedshiftTargets(endpoints.aws.endpoint, sample);
    // Their databases open now, not on the demo's first refresh (seconds each), and stay open.
    await warmSpecRedshiftTargets(endpoints.aws.controlUrl, sample);
  } catch (err) {
    await down({ dir, log: () => {} });
    throw err;
  }
  fs.writeFileSync(files(dir).endpoints, JSON.stringify(endpoints, null, 2) + '\n');
  log(describe(endpoints, dir));
  return endpoints;
}

/** How often the dev server's one history shard may read its transfer queue (the server's default is 20). */
export const TRANSFER_QUEUE_READS_PER_SECOND = 1000;

/**
 * The dev server's SQLite in write-ahead-log mode, synced at checkpoints: a step hand-off's two commits append to
 * the log instead of each rewriting and syncing a rollback journal (P1: hand-off p50 9 ms against 12 ms, and 9-10 ms
 * against 44-64 ms on a busy machine). A killed server loses nothing it committed (the log is replayed on open);
 * only a crash of the machine itself may lose the last commits, which a local stack can afford.
 */
export const STACK_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=1'];

/** The Temporal dev server on `ports`, its history in `<dir>/temporal.db` (so a restart finds every run again). */
async function temporalCommand(
  dir: string,
  ports: Pick<StackPorts, 'temporal' | 'temporalUi'>,
  {
    sqlitePragmas = STACK_SQLITE_PRAGMAS,
    transferQueueReadsPerSecond = TRANSFER_QUEUE_READS_PER_SECOND,
  }: Pick<StackOptions, 'sqlitePragmas' | 'transferQueueReadsPerSecond'> = {},
): Promise<string[]> {
  return [
    devtool('temporal'),
    'server',
    'start-dev',
    '--ip',
    HOST,
    '--port',
    String(ports.temporal),
    '--ui-port',
    String(ports.temporalUi),
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--db-filename',
    path.join(dir, 'temporal.db'),
    '--ui-disable-news-fetch',
    '--search-attribute',
    'GluelinePipeline=Keyword',
    '--search-attribute',
    'GluelineBatch=Keyword',
    '--log-level',
    'warn',
    // Eager activity dispatch: an activity a workflow task schedules on the worker's own task queue comes back in
    // the answer to that task, without a round through matching. The dev server of this CLI has it on already; set
    // here so the stack does not depend on that default (a self-hosted server needs the same setting).
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // The dev server has one history shard, and a shard reads its transfer queue at most
    // history.transferProcessorMaxPollRPS times a second (20 by default). Every workflow task a completed activity
    // schedules waits for such a read, so once the limiter's burst was spent, one run's steps handed off at most once
    // per 50 ms whatever the worker did (issue 19: csvPipeline's 16 workflow tasks took 16 × 50 ≈ 800 ms; with 5 a
    // second, 16 × 200 ms). A server with many shards spreads its runs over as many limiters.
    '--dynamic-config-value',
    `history.transferProcessorMaxPollRPS=${transferQueueReadsPerSecond}`,
    ...sqlitePragmas.flatMap((p) => ['--sqlite-pragma', p]),
  ];
}

/** A Temporal dev server that can be stopped and started again on the same SQLite file and ports. */
export interface TemporalServer {
  endpoints: StackEndpoints['temporal'];
  /** Starts the server (again) and waits until it answers. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL), keeping its SQLite file. */
  stop(): Promise<void>;
  /** SIGKILLs it at once, as a crash or an OOM kill would (no graceful shutdown), keeping its SQLite file. */
  kill(): Promise<void>;
}

/**
 * A Temporal dev server of its own, on free ports, with its state, log and pid in `dir`: for a test that
 * restarts the server without disturbing the stack other tests share. Started before it is returned.
 */
export async function startTemporalServer(dir: string): Promise<TemporalServer> {
  fs.mkdirSync(files(dir).logs, { recursive: true });
  const ports = { temporal: await freePort(), temporalUi: await freePort() };
  const endpoints = {
    address: `${HOST}:${ports.temporal}`,
    namespace: 'default',
    uiUrl: `http://${HOST}:${ports.temporalUi}`,
  };
  let part: PartProcess | undefined;
  const server: TemporalServer = {
    endpoints,
    async start() {
      part = startProcess(dir, 'temporal', await temporalCommand(dir, ports));
      // Recorded like a stack's parts, so `down({ dir })` stops it if the test never does.
      fs.writeFileSync(files(dir).pids, JSON.stringify([part], null, 2));
      await waitFor(
        'temporal',
        () => temporalHealthy({ temporal: endpoints }),
        path.join(files(dir).logs, 'temporal.log'),
      );
    },
    async stop() {
      if (part) await stopPart(part, () => {});
      part = undefined;
    },
    async kill() {
      if (part) await stopPart(part, () => {}, 'SIGKILL');
      part = undefined;
    },
  };
  await server.start();
  return server;
}

/** `node --import tsx`, so child TypeScript processes start without a build step. */
function tsxArgs(): string[] {
  return ['--import', 'tsx'];
}

async function temporalHealthy(endpoints: Pick<StackEndpoints, 'temporal'>): Promise<boolean> {
  if (!(await httpOk(endpoints.temporal.uiUrl))) return false;
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: endpoints.temporal.address, connectTimeout: 2000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: endpoints.temporal.namespace });
    return true;
  } finally {
    await connection.close();
  }
}

/** Stops exactly the processes `up` started from `dir`, and nothing else. */
export async function down(options: Pick<StackOptions, 'dir' | 'log'> = {}): Promise<void> {
  const dir = path.resolve(options.dir ?? DEFAULT_DIR);
  const log = options.log ?? ((line: string) => console.log(line));
  const parts = readPids(dir);
  await Promise.all(parts.map((part) => stopPart(part, log)));
  fs.rmSync(files(dir).pids, { force: true });
  fs.rmSync(files(dir).endpoints, { force: true });
}

/** SIGTERM, then SIGKILL after 5 s; or SIGKILL at once with `first` = 'SIGKILL'. */
async function stopPart(
  part: PartProcess,
  log: (line: string) => void,
  first: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  if (!isOurs(part)) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-part.pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup(first);
  for (let i = 0; i < 50 && isOurs(part); i++) await sleep(100);
  if (isOurs(part)) signalGroup('SIGKILL');
  for (let i = 0; i < 20 && isOurs(part); i++) await sleep(100);
  log(`stopped ${part.name} (pid ${part.pid})`);
}

export interface PartStatus {
  name: string;
  pid: number;
  running: boolean;
}

/** Which recorded parts are still running. */
export function status(dir = DEFAULT_DIR): PartStatus[] {
  return readPids(path.resolve(dir)).map((part) => ({ name: part.name, pid: part.pid, running: isOurs(part) }));
}

export function describe(endpoints: StackEndpoints, dir: string): string {
  return [
    `local stack is up (state in ${dir})`,
    `  Temporal        ${endpoints.temporal.address}  namespace ${endpoints.temporal.namespace}`,
    `  Temporal UI     ${endpoints.temporal.uiUrl}`,
    `  AWS endpoint    ${endpoints.aws.endpoint}  regions ${endpoints.aws.regions.join(', ')}`,
    `  gateway control ${endpoints.aws.controlUrl}`,
    `  SMTP            ${endpoints.smtp.host}:${endpoints.smtp.port}`,
    `  sent mail       ${endpoints.smtp.uiUrl}  (JSON: ${endpoints.smtp.inboxUrl})`,
    `  endpoints file  ${files(dir).endpoints}`,
  ].join('\n');
}
