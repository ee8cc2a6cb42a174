/**
 * glueline as a user installs it, for tests: the project packed (`npm pack`, whose prepack builds dist/),
 * commands run as their own processes with the environment a user would have (no npm or glueline settings of
 * the test's own), and whether a container engine answers.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../paths';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment without npm's own variables (a parent `npm test` sets npm_config_*) and without the test's
 * Temporal, glueline, AWS and SMTP settings, plus `env`.
 */
export function cleanEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !/^(TEMPORAL_|GLUELINE_|AWS_|SMTP_URL$)/.test(k)),
  );
  return { ...base, ...env };
}

/** Runs `command` in `cwd` with exactly `env`, and collects what it printed and its exit code. */
export function exec(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** `npm pack` of the checkout into `dir` (building dist/ first). @returns the tarball's path */
export async function packProject(dir: string): Promise<string> {
  const pack = await exec('npm', ['pack', '--pack-destination', dir, '--silent'], repoRoot, cleanEnv());
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.stdout}\n${pack.stderr}`);
  return path.join(dir, pack.stdout.trim().split('\n').pop()!);
}

/**
 * A container engine that answers (`docker info` or `podman info` exits 0), or undefined: a docker client with no
 * daemon behind it does not count. GLUELINE_CONTAINER_ENGINE=none forces undefined; a name forces that engine.
 */
export function containerEngine(): string | undefined {
  const chosen = process.env.GLUELINE_CONTAINER_ENGINE;
  if (chosen === 'none') return undefined;
  for (const engine of chosen ? [chosen] : ['podman', 'docker']) {
    const info = spawnSync(engine, ['info'], { stdio: 'ignore', timeout: 30_000 });
    if (info.status === 0) return engine;
  }
  return undefined;
}
