/** The `npm run glueline` CLI in tests: in this process (fast) or as its own process (exit codes, races). */
import { spawn } from 'node:child_process';
import { repoRoot } from '../../devstack/paths';
import { main } from '../../src/starters/cli';

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
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/starters/cli.ts', ...argv], {
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

/** The environment the CLI reads, pointed at the test stack. */
export function cliEnv(env: { temporalAddress: string; namespace: string; taskQueue: string; awsEndpoint: string }) {
  return {
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.namespace,
    GLUELINE_TASK_QUEUE: env.taskQueue,
    GLUELINE_AWS_ENDPOINT: env.awsEndpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
  };
}
