/**
 * The worker as deploy/ ships it: the project packed, then the production install of deploy/install-production.sh
 * (the tarball's files, `npm ci --omit=dev` with the lockfile, compiled JavaScript) in a clean directory, and the
 * worker started from there against the test stack, where it completes a run. When a container engine answers,
 * the image of deploy/Containerfile is built (the same script inside) and the worker runs in it instead.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { cliEnv } from '../../devstack/testkit/cli';
import { cleanEnv, containerEngine, exec, packProject } from '../../devstack/testkit/packed';
import { provisionedSpecFile, putSampleCsvs } from '../../devstack/testkit/spec';
import { unique } from '../../devstack/testkit/stack';
import { stackWorkerEnv } from '../../devstack/testkit/worker-process';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';

const containerfile = path.join(repoRoot, 'deploy', 'Containerfile');
const installScript = path.join(repoRoot, 'deploy', 'install-production.sh');
const engine = containerEngine();
const image = `glueline-worker:test-${process.pid}`;

/** The image's build stages: each FROM line and the instructions after it, continuation lines joined. */
function stages(text: string): string[][] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const result: string[][] = [];
  for (const line of lines) {
    if (/^FROM /i.test(line)) result.push([line]);
    else result.at(-1)?.push(line);
  }
  return result;
}

describe('deploy/: the production install of the worker', () => {
  let tmp: string;
  /** The clean directory of the production install (no container engine). */
  let app: string;
  let spec: PipelineSpec;
  let specFile: string;
  let workDir: string;
  let worker: ChildProcess | undefined;
  let workerOutput = '';
  const taskQueue = unique('prod');
  /** The installed CLI, run from the spec's folder: never from the checkout. */
  const installed = (args: string[], env: Record<string, string> = {}) =>
    exec(process.execPath, [path.join(app, 'dist', 'starters', 'cli.js'), ...args], workDir, cleanEnv(env));

  before(
    async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-prod-'));
      app = path.join(tmp, 'app');
      const tarball = await packProject(tmp);
      const install = await exec(
        'sh',
        [installScript, tarball, path.join(repoRoot, 'package-lock.json'), app],
        tmp,
        cleanEnv(),
      );
      assert.equal(install.code, 0, `install-production.sh failed:\n${install.stdout}\n${install.stderr}`);
      if (engine) {
        const build = await exec(engine, ['build', '-f', containerfile, '-t', image, repoRoot], repoRoot, cleanEnv());
        assert.equal(build.code, 0, `${engine} build failed:\n${build.stdout}\n${build.stderr}`);
      }
      ({ spec, specFile, workDir } = await provisionedSpecFile('prod'));
      await putSampleCsvs(spec, 'landing/prod-1/');
    },
    { timeout: 900_000 },
  );

  after(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
    }
    if (engine) await exec(engine, ['rmi', '--force', image], repoRoot, cleanEnv());
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('the Containerfile: a glibc slim base, the install script in its last stage, not root, the CLI as entrypoint', () => {
    const all = stages(fs.readFileSync(containerfile, 'utf8'));
    const args = fs.readFileSync(containerfile, 'utf8').match(/^ARG NODE_IMAGE=(\S+)$/m);
    assert.ok(args, 'ARG NODE_IMAGE names the base image');
    // Temporal's native core is built for glibc: an Alpine (musl) base would fail at the worker's start.
    assert.match(args[1]!, /^docker\.io\/library\/node:\d+-(bookworm|trixie)-slim$/);
    const runtime = all.at(-1)!;
    assert.match(runtime[0]!, /^FROM \$\{NODE_IMAGE\}$/);
    assert.ok(
      runtime.some((l) => /^RUN sh \/tmp\/glueline\/install-production\.sh /.test(l)),
      'the runtime stage installs with deploy/install-production.sh',
    );
    assert.ok(
      runtime.some((l) => l === 'COPY deploy/install-production.sh /tmp/glueline/'),
      'the runtime stage copies the script this test runs',
    );
    const users = runtime.filter((l) => /^USER /.test(l));
    assert.deepEqual(users, ['USER node']);
    assert.ok(
      runtime.some((l) => l === 'ENTRYPOINT ["node", "/opt/glueline/dist/starters/cli.js"]'),
      'the entrypoint is the compiled CLI',
    );
    assert.ok(runtime.some((l) => l === 'CMD ["worker"]'));
    // What the build stage copies from the build context exists in the repository.
    for (const line of all.flat().filter((l) => /^COPY (?!--from)/.test(l))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) assert.ok(fs.existsSync(path.join(repoRoot, source)), `${line}: no ${source}`);
    }
  });

  test('the install holds compiled JavaScript and the production dependencies only', () => {
    assert.ok(fs.existsSync(path.join(app, 'dist', 'worker.js')));
    assert.ok(fs.existsSync(path.join(app, 'dist', 'workflows', 'index.js')));
    assert.ok(!fs.existsSync(path.join(app, 'src')), 'no TypeScript sources');
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies))
      assert.ok(fs.existsSync(path.join(app, 'node_modules', dep, 'package.json')), `${dep} is not installed`);
    // What the lockfile marks dev (needed by the dev dependencies alone: TypeScript, tsx, eslint, the test tools).
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(([where, p]) => where && p.dev);
    assert.ok(devOnly.some(([where]) => where === 'node_modules/typescript'));
    for (const [where] of devOnly)
      assert.ok(!fs.existsSync(path.join(app, where)), `${where} (a dev dependency) is installed`);
  });

  test('the install script refuses a directory that is not empty, and a missing tarball, with exit 2', async () => {
    const lock = path.join(repoRoot, 'package-lock.json');
    const missing = await exec('sh', [installScript, path.join(tmp, 'none.tgz'), lock, app], tmp, cleanEnv());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no file .*none\.tgz/);
    const tarball = fs.readdirSync(tmp).find((n) => n.endsWith('.tgz'))!;
    const full = await exec('sh', [installScript, path.join(tmp, tarball), lock, app], tmp, cleanEnv());
    assert.equal(full.code, 2);
    assert.match(full.stderr, /is not empty: give a new or empty directory/);
  });

  test(
    `the worker starts from the ${engine ? `image (${engine})` : 'production install'}, polls its queue and completes a run`,
    { timeout: 300_000 },
    async () => {
      const env = stackWorkerEnv(taskQueue, { GLUELINE_LOG_FORMAT: 'json' });
      worker = engine
        ? spawn(
            engine,
            [
              'run',
              '--rm',
              '--network',
              'host',
              ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
            ].concat([image, 'worker']),
            { cwd: tmp, env: cleanEnv(), stdio: 'pipe' },
          )
        : spawn(process.execPath, [path.join(app, 'dist', 'starters', 'cli.js'), 'worker'], {
            cwd: tmp,
            env: cleanEnv(env),
            stdio: 'pipe',
          });
      worker.stdout!.on('data', (c: Buffer) => (workerOutput += c.toString()));
      worker.stderr!.on('data', (c: Buffer) => (workerOutput += c.toString()));
      for (const end = Date.now() + 180_000; !workerOutput.includes('"message":"glueline worker started"');) {
        assert.ok(worker.exitCode === null && Date.now() < end, `the worker did not start:\n${workerOutput}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const run = await installed(
        ['run', '--spec', path.basename(specFile), '--batch-id', 'prod-1', '--prefix', 'landing/prod-1/'].concat([
          '--stop-after',
          'crawl-raw',
          '--wait',
          '--json',
        ]),
        cliEnv(taskQueue),
      );
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}\nworker:\n${workerOutput}`);
      const document = JSON.parse(run.stdout) as { workflowId: string; status: string };
      assert.equal(document.workflowId, pipelineWorkflowId(spec, { id: 'prod-1' }));
      assert.equal(document.status, 'COMPLETED');
      // The production worker's own log: a JSON line per step instance of the run.
      const steps = workerOutput
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.workflowId === document.workflowId);
      assert.deepEqual(steps.map((l) => l.message).sort(), ['step crawl-raw succeeded', 'step stage-raw succeeded']);
    },
  );

  test('SIGTERM shuts the worker down gracefully: it says so and exits 0', { timeout: 120_000 }, async () => {
    assert.ok(worker && worker.exitCode === null, 'the worker of the previous test runs');
    const exited = new Promise<number | null>((resolve) => worker!.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, workerOutput);
    assert.match(workerOutput, /"message":"glueline worker stopped"/);
  });
});
