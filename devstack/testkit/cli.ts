/** The `glueline` CLI in tests: in this process (fast) or as its own process (exit codes, races). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { repoRoot } from '../paths';
import { main } from '../../src/starters/cli';
import { connectClient } from '../../src/temporal/connection';
import { shellWord } from '../../src/temporal/run-links';
import { stackWorkerEnv, startWorker, stopWorker, waitForOutput, type WorkerProcess } from './worker-process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command line in this process, with output captured; the environment is process.env's. */
export async function glueline(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Runs `src/starters/cli.ts` as its own process (stdout is a pipe, not a terminal), with `env` added. */
export function gluelineProcess(argv: string[], env: Record<string, string>): Promise<CliResult> {
  return outputOf(process.execPath, ['--import', 'tsx', 'src/starters/cli.ts', ...argv], env);
}

/**
 * Runs `script` in a real bash, from `/` (not the checkout), where `glueline` is this checkout's CLI (a shell
 * function): a command line printed for a person, run as written. `env` is added to the environment.
 */
export function gluelineInBash(script: string, env: Record<string, string>): Promise<CliResult> {
  // tsx's loader by path: `--import tsx` resolves only inside the checkout.
  const loader = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  const cli = [process.execPath, '--import', loader, path.join(repoRoot, 'src', 'starters', 'cli.ts')];
  return outputOf('bash', ['-c', `glueline() { ${cli.map(shellWord).join(' ')} "$@"; }\ncd /\n${script}`], env);
}

function outputOf(command: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * The environment the CLI reads, pointed at the test stack, with `taskQueue` as GLUELINE_TASK_QUEUE: the worker's
 * (an operator keeps one set of settings for both), with a default region for the SDK.
 */
export function cliEnv(taskQueue: string): Record<string, string> {
  return stackWorkerEnv(taskQueue, { AWS_REGION: 'us-east-1' });
}

/** Puts {@link cliEnv} into process.env for in-process command lines. @returns what puts it back */
export function useCliEnv(taskQueue: string): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, cliEnv(taskQueue));
  return () => {
    process.env = saved;
  };
}

/** A worker process for a CLI test file, the CLI's environment in process.env, and a client of the same Temporal. */
export interface CliWorker {
  worker: WorkerProcess;
  client: Client;
  /** {@link cliEnv}: for command lines run as their own processes. */
  env: Record<string, string>;
  /** Stops the worker, closes the client and puts process.env back. */
  stop: () => Promise<void>;
}

/**
 * Starts a worker on `taskQueue` of the test stack (with `workerEnv` added to its environment), waits until it
 * polls, puts {@link cliEnv} into process.env (for in-process command lines) and connects a client as the CLI does.
 */
export async function startCliWorker(taskQueue: string, workerEnv: Record<string, string> = {}): Promise<CliWorker> {
  const env = cliEnv(taskQueue);
  const restoreEnv = useCliEnv(taskQueue);
  const worker = startWorker(stackWorkerEnv(taskQueue, workerEnv));
  const stopAll = async (close = async () => {}) => {
    restoreEnv();
    await stopWorker(worker);
    await close();
  };
  try {
    await waitForOutput(worker, 'glueline worker started');
    const { client, connection } = await connectClient(env);
    return { worker, client, env, stop: () => stopAll(() => connection.close()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
