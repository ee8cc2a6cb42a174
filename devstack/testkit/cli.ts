/** The `glueline` CLI in tests: in this process (fast) or as its own process (exit codes, races). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../paths';
import { main } from '../../src/starters/cli';
import { shellWord } from '../../src/temporal/run-links';
import { stackWorkerEnv, startStackWorker, type StackWorker, type StackWorkerOptions } from './worker-process';

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

/**
 * The rows of the table `glueline query` printed (a header line, a rule, a line a row, then the row count), each
 * split into its cells without the padding.
 */
export function queryRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .slice(2, -1)
    .map((line) => line.split('|').map((cell) => cell.trim()));
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

/** Runs `command` to its end in `cwd` (the checkout by default), with `env` added, its output captured. */
export function outputOf(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string = repoRoot,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
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
export interface CliWorker extends StackWorker {
  /** {@link cliEnv}: for command lines run as their own processes. */
  env: Record<string, string>;
  /** Puts process.env back, stops the worker and closes the client. */
  stop: () => Promise<void>;
}

/**
 * {@link startStackWorker} (with `workerEnv` added to the worker's environment, and `startTimeoutMs`), with
 * {@link cliEnv} in process.env (for in-process command lines) until `stop`.
 */
export async function startCliWorker(
  taskQueue: string,
  workerEnv: Record<string, string> = {},
  { startTimeoutMs }: Pick<StackWorkerOptions, 'startTimeoutMs'> = {},
): Promise<CliWorker> {
  const restoreEnv = useCliEnv(taskQueue);
  try {
    const started = await startStackWorker(taskQueue, { env: workerEnv, startTimeoutMs });
    const stop = async () => {
      restoreEnv();
      await started.stop();
    };
    return { ...started, env: cliEnv(taskQueue), stop };
  } catch (err) {
    restoreEnv();
    throw err;
  }
}
