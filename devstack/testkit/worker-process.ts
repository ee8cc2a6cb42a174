/** The glueline worker as a child process (`src/worker.ts`), configured through its environment. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { devtool, repoRoot } from '../paths';
import { connectClient } from '../../src/temporal/connection';
import type { StackEndpoints } from '../stack';
import { stack } from './stack';

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts `src/worker.ts` (or another worker script) with exactly `env` (plus PATH and HOME); `nodeArgs` go to node
 * before the script (the benchmarks' `--require` of a probe).
 */
export function startWorker(
  env: Record<string, string>,
  script = 'src/worker.ts',
  nodeArgs: string[] = [],
): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The environment of a worker on the test stack (or on the stack `s`: the benchmarks'). */
export function stackWorkerEnv(
  taskQueue: string,
  extra: Record<string, string> = {},
  s: StackEndpoints = stack(),
): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: s.temporal.address,
    TEMPORAL_NAMESPACE: s.temporal.namespace,
    GLUELINE_TASK_QUEUE: taskQueue,
    GLUELINE_AWS_ENDPOINT: s.aws.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    SMTP_URL: `smtp://${s.smtp.host}:${s.smtp.port}`,
    GLUELINE_TEMPORAL_UI_URL: s.temporal.uiUrl,
    GLUELINE_SHUTDOWN_GRACE_SECONDS: '5',
    // A checkout's own .env (the processes start in the repository) must not add settings to a test's.
    GLUELINE_ENV_FILE: 'none',
    ...extra,
  };
}

/** Waits until the worker printed `text`; fails with its output if it exits or takes too long. */
export async function waitForOutput(worker: WorkerProcess, text: string, timeoutMs = 60_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (worker.output().includes(text)) return;
    if (worker.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`the worker never printed '${text}':\n${worker.output()}`);
}

/** SIGTERM, and wait for the exit code. */
export async function stopWorker(worker: WorkerProcess): Promise<number | null> {
  if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  return worker.exited;
}

/** Options of {@link startStackWorker}. */
export interface StackWorkerOptions {
  /** Added to {@link stackWorkerEnv}'s: a codec key here also gives the client the codec. @default - none */
  env?: Record<string, string>;
  /** How long the worker may take to poll (it bundles the workflows first). @default 60_000 */
  startTimeoutMs?: number;
}

/** A worker process on the test stack and a client of the same Temporal, for a test file's before and after. */
export interface StackWorker {
  worker: WorkerProcess;
  client: Client;
  /** The worker's environment; the client connected with the Temporal settings and codec in it. */
  env: Record<string, string>;
  /** Stops the worker (SIGTERM, waits for it to exit) and closes the client; a second call does nothing more. */
  stop: () => Promise<void>;
}

/**
 * Starts a worker on `taskQueue` of the test stack, waits until it polls and connects a client as glueline's
 * processes do. If either fails, the worker is stopped before the error is thrown, so no process outlives the file.
 */
export async function startStackWorker(taskQueue: string, options: StackWorkerOptions = {}): Promise<StackWorker> {
  const env = stackWorkerEnv(taskQueue, options.env);
  const worker = startWorker(env);
  let stopped: Promise<void> | undefined;
  const stopAll = (close: () => Promise<void>) =>
    (stopped ??= (async () => {
      await stopWorker(worker);
      await close();
    })());
  try {
    await waitForOutput(worker, 'glueline worker started', options.startTimeoutMs);
    const { client, connection } = await connectClient(env);
    return { worker, client, env, stop: () => stopAll(() => connection.close()) };
  } catch (err) {
    await stopAll(async () => {});
    throw err;
  }
}

/**
 * `temporal workflow start --type <type> --task-queue <queue> --workflow-id <id> --input-file <json>`
 * against the test stack, as an operator would start a run; fails the test if the CLI fails.
 */
export function temporalWorkflowStart(options: {
  type: string;
  taskQueue: string;
  workflowId: string;
  input: unknown;
}): void {
  const inputFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-input-')), 'input.json');
  fs.writeFileSync(inputFile, JSON.stringify(options.input));
  const s = stack();
  const cli = spawnSync(
    devtool('temporal'),
    ['workflow', 'start', '--address', s.temporal.address, '--namespace', s.temporal.namespace]
      .concat(['--type', options.type, '--task-queue', options.taskQueue])
      .concat(['--workflow-id', options.workflowId, '--input-file', inputFile]),
    { encoding: 'utf8' },
  );
  assert.equal(cli.status, 0, `temporal workflow start failed: ${cli.stderr}`);
}
