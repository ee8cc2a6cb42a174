/**
 * `npm test`: starts a local stack of its own on free ports (beside any stack you have running),
 * runs every test file against it with node's test runner, runs the Glue script's pytest suite,
 * stops the stack, and prints one closing line with the totals.
 *
 * `npm test -- test/smoke.test.ts` runs only the files given.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { down, status, up } from '../devstack/stack';
import { devtool, repoRoot } from '../devstack/paths';

function testFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : [],
    )
    .sort();
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

/** node's test runner, spec to the terminal and TAP to a file whose closing counts we read. */
async function runNodeTests(files: string[], stackDir: string): Promise<Totals & { code: number }> {
  const tap = path.join(stackDir, 'node-tests.tap');
  const code = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      // No single test may hang the suite (CI has 90 minutes in all).
      '--test-timeout=600000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { GLUELINE_STACK_DIR: stackDir },
  );
  const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { code, passed: count('pass'), failed: count('fail'), skipped: count('skipped') + count('todo') };
}

/** The Glue script's pytest suite, when it exists. */
async function runPytest(stackDir: string): Promise<Totals & { code: number }> {
  const testsDir = path.join(repoRoot, 'glue', 'tests');
  if (!fs.existsSync(testsDir)) return { code: 0, passed: 0, failed: 0, skipped: 0 };
  const report = path.join(stackDir, 'pytest.xml');
  const code = await run(devtool('python'), ['-m', 'pytest', '-q', testsDir, `--junitxml=${report}`], {});
  const xml = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
  const attr = (name: string) => Number(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`).exec(xml)?.[1] ?? 0);
  const failed = attr('failures') + attr('errors');
  const skipped = attr('skipped');
  return { code, passed: attr('tests') - failed - skipped, failed: code !== 0 && failed === 0 ? 1 : failed, skipped };
}

async function main() {
  const args = process.argv.slice(2);
  const files = args.length > 0 ? args : testFiles(path.join(repoRoot, 'test'));
  const stackDir = path.join(repoRoot, '.devstack', 'test');
  const running = status(stackDir).filter((p) => p.running);
  if (running.length > 0) {
    throw new Error(
      `another npm test is running in this checkout (its stack: ${running.map((p) => `${p.name} pid ${p.pid}`).join(', ')}). ` +
        `Wait for it, or stop it with \`npm run devstack -- down --dir ${path.relative(repoRoot, stackDir)}\`.`,
    );
  }
  fs.rmSync(stackDir, { recursive: true, force: true });
  await up({ dir: stackDir, freePorts: true });
  let results: (Totals & { code: number })[];
  try {
    results = [await runNodeTests(files, stackDir)];
    if (args.length === 0) results.push(await runPytest(stackDir));
  } finally {
    await down({ dir: stackDir, log: () => {} });
  }
  const sum = (key: keyof Totals) => results.reduce((n, r) => n + r[key], 0);
  const failed = sum('failed') + (results.some((r) => r.code !== 0) && sum('failed') === 0 ? 1 : 0);
  console.log(`\ntests: ${sum('passed')} passed, ${failed} failed, ${sum('skipped')} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: Error) => {
  console.error(`test: ${err.message}`);
  process.exitCode = 1;
});
