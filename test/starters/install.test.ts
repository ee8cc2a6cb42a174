/**
 * glueline as a data engineer installs it: the project packed (`npm pack`, which builds dist/ first), the
 * tarball installed into a temporary prefix, and its `glueline` bin run from another directory: --version,
 * help, the worker (the built workflow bundle) and a run with relative paths on the test stack, `.env` in
 * the current directory, and the messages for a missing worker and a wrong Temporal address.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { cliEnv } from '../../devstack/testkit/cli';
import { cleanEnv, exec, packProject } from '../../devstack/testkit/packed';
import { provisionedSpecFile } from '../../devstack/testkit/spec';
import { unique } from '../../devstack/testkit/stack';
import { stackWorkerEnv } from '../../devstack/testkit/worker-process';

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the installed glueline CLI (npm pack, npm install --prefix)', () => {
  let tmp: string;
  let bin: string;
  let prefix: string;
  /** Where the commands run: neither the checkout nor the install prefix. */
  let workDir: string;
  let specFile: string;
  let worker: ChildProcess | undefined;
  let workerOutput = '';
  const taskQueue = unique('install');
  const glueline = (args: string[], env: Record<string, string> = {}, cwd = workDir) =>
    exec(bin, args, cwd, cleanEnv(env));

  before(
    async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-install-'));
      const tarball = await packProject(tmp);
      prefix = path.join(tmp, 'prefix');
      const install = await exec(
        'npm',
        ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
        tmp,
        cleanEnv(),
      );
      assert.equal(install.code, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
      bin = path.join(prefix, 'node_modules', '.bin', 'glueline');
      const provisioned = await provisionedSpecFile('install');
      workDir = provisioned.workDir;
      specFile = provisioned.specFile;
    },
    { timeout: 300_000 },
  );

  after(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('--version prints the version in package.json and exits 0', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { code, stdout, stderr } = await glueline(['--version']);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), version);
  });

  test('run --help prints the usage on stdout alone (no npm banner) and exits 0', async () => {
    const { code, stdout } = await glueline(['run', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^usage: .*run --spec <file> --batch-id <id>/);
    assert.doesNotMatch(stdout, /^> glueline@/m);
  });

  test('an unknown command exits 2 and names the commands, worker among them', async () => {
    const { code, stderr } = await glueline(['nope']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown command nope: use one of .*\bworker\b/);
  });

  test('the live view loads log-update (ESM-only) from the installed CommonJS build and cuts lines to fit', async () => {
    const frame = path.join(prefix, 'node_modules', 'glueline', 'dist', 'starters', 'terminal-frame.js');
    const script = `const { TerminalFrame } = require(${JSON.stringify(frame)});
      const terminal = { columns: 20, rows: 10, write: (chunk) => process.stdout.write(chunk) };
      TerminalFrame.open(terminal).then((f) => f.draw(['x'.repeat(40), 'done']));`;
    const { code, stdout, stderr } = await exec(process.execPath, ['-e', script], tmp, cleanEnv());
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `${'x'.repeat(18)}…\ndone\n`);
  });

  test('a wrong Temporal address in .env is loaded, and the error names it and the fix', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-address-'));
    const port = await closedPort();
    fs.writeFileSync(path.join(dir, '.env'), `TEMPORAL_ADDRESS=127.0.0.1:${port}\n`);
    const { code, stderr } = await glueline(['status', 'csv-pipeline-x-y'], {}, dir);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
    assert.match(stderr, /TEMPORAL_ADDRESS/);
  });

  test('GLUELINE_ENV_FILE names another file to load', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'env-file-'));
    const port = await closedPort();
    fs.writeFileSync(path.join(dir, 'other.env'), `TEMPORAL_ADDRESS=127.0.0.1:${port}\n`);
    const { code, stderr } = await glueline(['status', 'csv-pipeline-x-y'], { GLUELINE_ENV_FILE: 'other.env' }, dir);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
    const missing = await glueline(['--version'], { GLUELINE_ENV_FILE: 'missing.env' }, dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot load .*missing\.env \(GLUELINE_ENV_FILE\)/);
  });

  test('with no worker on the queue, run --wait says how to start one and exits 1, run warns; .env names the queue', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'idle-'));
    const idleQueue = unique('idle');
    fs.copyFileSync(specFile, path.join(dir, 'spec.json'));
    // The environment sets the address; .env tries to move it and names the queue: the environment wins.
    fs.writeFileSync(
      path.join(dir, '.env'),
      `GLUELINE_TASK_QUEUE=${idleQueue}\nTEMPORAL_ADDRESS=127.0.0.1:${await closedPort()}\n`,
    );
    const { GLUELINE_TASK_QUEUE: _queue, GLUELINE_ENV_FILE: _file, ...env } = cliEnv(taskQueue);
    const args = ['run', '--spec', 'spec.json', '--batch-id', 'idle-1', '--prefix', 'landing/none/', '--wait'];
    const { code, stdout, stderr } = await glueline(args, env, dir);
    assert.equal(code, 1, stdout + stderr);
    assert.match(stderr, new RegExp(`no worker polls task queue ${idleQueue} .*glueline worker.*nothing was started`));
    // Without --wait the run is started (it waits on the queue for a worker), with a warning on stderr.
    const started = await glueline(args.slice(0, -1), env, dir);
    assert.equal(started.code, 0, started.stdout + started.stderr);
    assert.match(started.stdout, /^started workflow /m);
    assert.match(started.stderr, new RegExp(`^warning: no worker polls task queue ${idleQueue} `, 'm'));
  });

  test(
    'glueline worker and a run with relative --spec and --files, from another directory',
    { timeout: 240_000 },
    async () => {
      worker = spawn(bin, ['worker'], { cwd: tmp, env: cleanEnv(stackWorkerEnv(taskQueue)), stdio: 'pipe' });
      worker.stdout!.on('data', (c: Buffer) => (workerOutput += c.toString()));
      worker.stderr!.on('data', (c: Buffer) => (workerOutput += c.toString()));
      for (const end = Date.now() + 120_000; !workerOutput.includes('glueline worker started');) {
        assert.ok(worker.exitCode === null && Date.now() < end, `the worker did not start:\n${workerOutput}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const samples = path.join(repoRoot, 'samples', 'sales');
      const csvs = fs.readdirSync(samples).filter((n) => n.endsWith('.csv'));
      fs.mkdirSync(path.join(workDir, 'data'));
      for (const name of csvs) fs.copyFileSync(path.join(samples, name), path.join(workDir, 'data', name));
      const files = csvs.map((n) => path.join('data', n));
      const { code, stdout, stderr } = await glueline(
        [
          'run',
          '--spec',
          path.basename(specFile),
          '--batch-id',
          'rel-1',
          '--files',
          ...files,
          '--stop-after',
          'crawl-raw',
          '--wait',
        ],
        cliEnv(taskQueue),
      );
      assert.equal(code, 0, `${stdout}\n${stderr}\nworker:\n${workerOutput}`);
      assert.match(stdout, new RegExp(`uploading ${csvs.length} file\\(s\\)`));
      assert.match(stdout, /^✔ crawl-raw\s+succeeded/m);
    },
  );
});
