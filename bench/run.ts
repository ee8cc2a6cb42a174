/**
 * `npm run bench [-- --quick] [-- --only p3,p1]`: starts a local stack of its own on free ports, runs the
 * benchmarks, writes bench/results/<timestamp>.json and .md (and latest.*), prints a summary, stops the stack.
 * No benchmark is a test: every figure is printed next to a baseline measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { devtool, repoRoot } from '../devstack/paths';
import { down, STACK_SQLITE_PRAGMAS, up, type StackOptions } from '../devstack/stack';
import { p1HandOff } from './p1-handoff';
import { p2Throughput } from './p2-throughput';
import { p3Polling } from './p3-polling';
import { p4Copy } from './p4-copy';
import { p5Memory } from './p5-memory';
import { p6Recovery } from './p6-recovery';
import { p7Cancel } from './p7-cancel';
import { p8SharedCrawls } from './p8-shared-crawls';
import { p9EndToEnd } from './p9-end-to-end';
import { p10ScaleOut } from './p10-scale-out';
import { writeResultsPage, type BenchReport } from './results-page';
import { fmt, newGateway, withSpread, type BenchContext, type BenchResult } from './support';

const BENCHMARKS: Record<string, (ctx: BenchContext) => Promise<BenchResult>> = {
  p3: p3Polling,
  p9: p9EndToEnd,
  p1: p1HandOff,
  p2: p2Throughput,
  p4: p4Copy,
  p5: p5Memory,
  p6: p6Recovery,
  p7: p7Cancel,
  p8: p8SharedCrawls,
  p10: p10ScaleOut,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : Object.keys(BENCHMARKS);
  const unknown = only.filter((id) => !(id in BENCHMARKS));
  if (unknown.length)
    throw new Error(`unknown benchmark ${unknown.join(', ')}: use ${Object.keys(BENCHMARKS).join(', ')}`);

  const started = performance.now();
  const loadAtStart = os.loadavg();
  // Taken before the run: the tree may change while it runs (docs written meanwhile), the code measured does not.
  const commit = currentCommit();
  const log = (line: string) => console.log(`bench: ${line}`);
  const dir = path.join(repoRoot, 'bench', 'results', '.stack');
  const databases: string[] = [];
  /** Every stack start gets a fresh dev-server database: a pragma one configuration set (WAL) stays in the file. */
  const freshStack = async (
    options: Pick<StackOptions, 'sqlitePragmas' | 'transferQueueReadsPerSecond'>,
    why: string,
  ) => {
    for (const f of ['temporal.db', 'temporal.db-wal', 'temporal.db-shm'])
      fs.rmSync(path.join(dir, f), { force: true });
    const s = await up({ dir, freePorts: true, log, ...options });
    const line = `${why}: fresh database, journal_mode=${journalMode(dir)}`;
    log(`dev server ${line}`);
    databases.push(line);
    return s;
  };
  const stack = await freshStack({}, 'start');
  const results: BenchResult[] = [];
  try {
    const ctx: BenchContext = {
      stack,
      stackDir: dir,
      quick,
      gateway: newGateway(stack),
      log,
      restartStack: async (options) => {
        await down({ dir, log });
        const pragmas = (options.sqlitePragmas ?? STACK_SQLITE_PRAGMAS).join(', ') || 'SQLite defaults';
        const reads = options.transferQueueReadsPerSecond;
        const why = `restart (${pragmas}${reads === undefined ? '' : `, ${reads} transfer-queue reads/s`})`;
        ctx.stack = await freshStack(options, why);
        ctx.gateway = newGateway(ctx.stack);
        return ctx.stack;
      },
    };
    for (const id of only) {
      const t0 = performance.now();
      log(`${id}: start`);
      // One benchmark that breaks must not lose the others' figures: it is reported as failed, with its error.
      const result = await BENCHMARKS[id]!(ctx).catch((err: unknown) => failedResult(id, err));
      log(`${id}: ${result.figures.length ? 'done' : 'FAILED'} in ${fmt((performance.now() - t0) / 1000)} s`);
      results.push(result);
    }
  } finally {
    await down({ dir, log });
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const load = os
    .loadavg()
    .map((l) => fmt(l))
    .join(' ');
  const machine = `load average at the end ${load}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${fmt(os.totalmem() / 2 ** 30)} GiB, ${os.hostname()}, node ${process.version}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const report: BenchReport = {
    date: new Date().toISOString(),
    quick,
    machine,
    totalSeconds,
    load: { start: loadAtStart, end: os.loadavg(), cores: os.cpus().length },
    commit,
    databases,
    results,
  };
  const json = JSON.stringify(report, null, 2);
  const summary = results.flatMap((r) =>
    r.figures.map(
      (f) =>
        `| ${f.name} | ${withSpread(f.value, f.unit, f.valueSpread)} | ${f.baselineName}: ${withSpread(f.baseline, f.unit, f.baselineSpread)} | ${fmt(f.ratio, 2)}× | ${f.goal ?? ''} |`,
    ),
  );
  const md = [
    `# glueline benchmarks`,
    '',
    `${new Date().toISOString()}${quick ? ' (--quick)' : ''}, ${fmt(totalSeconds)} s. Machine: ${machine}.`,
    'The machine may be shared with other work: absolute figures are noisy; the ratios to baselines measured in the same run are what count.',
    '',
    '| figure | value | baseline (same run) | ratio | goal |',
    '| --- | ---: | ---: | ---: | --- |',
    ...summary,
    '',
    ...results.flatMap((r) => [`## ${r.title}`, '', `Setup: ${r.setup}.`, '', r.markdown, '']),
  ].join('\n');
  for (const name of [stamp, 'latest']) {
    fs.writeFileSync(path.join(outDir, `${name}.json`), json);
    fs.writeFileSync(path.join(outDir, `${name}.md`), md);
  }
  console.log(`\n${['| figure | value | baseline (same run) | ratio | goal |', ...summary].join('\n')}`);
  console.log(
    `\nbench: report in ${path.relative(repoRoot, path.join(outDir, 'latest.md'))}, ${fmt(totalSeconds)} s in all`,
  );
  // The tracked page shows one complete set; a trial of a few benchmarks (--only) must not replace it.
  if (onlyAt < 0) log(`tracked page ${path.relative(repoRoot, writeResultsPage(report))} (commit it with its JSON)`);
  else log('--only: docs/results/benchmarks.md left as it was (`npx tsx bench/results-page.ts` renders latest.json)');
}

/** A benchmark that threw: no figures, and the error in its section of the report. */
function failedResult(id: string, err: unknown): BenchResult {
  console.error(err);
  const message = err instanceof Error ? err.message : String(err);
  return {
    id,
    title: `${id.toUpperCase()}: failed`,
    setup: 'the benchmark threw before it had figures',
    figures: [],
    markdown: `**Failed**: ${message}`,
    raw: { error: message },
  };
}

/**
 * The dev server database's journal mode as its file says (WAL is kept in the file; other modes are per
 * connection, so a file not in WAL reads as SQLite's default, delete). "unknown" when it cannot be read.
 */
function journalMode(dir: string): string {
  const read =
    'import sqlite3, sys; print(sqlite3.connect(sys.argv[1], uri=True).execute("pragma journal_mode").fetchone()[0])';
  try {
    const uri = `file:${path.join(dir, 'temporal.db')}?mode=ro`;
    return execFileSync(devtool('python'), ['-c', read, uri], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The commit the benchmarked code is at, with `-dirty` when the work tree has changes; undefined outside git. */
function currentCommit(): string | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : ''}`;
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
