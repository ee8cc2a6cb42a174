/**
 * `npm run reliability [-- --quick]`: issue 8's and 15's scenarios (`test/reliability/*.test.ts`) on a local stack
 * of its own (`.devstack/reliability/`, free ports), in full mode (at least 20 worker kills over 10 runs, five
 * runs per fault phase, three server restarts, the first a SIGKILL, three SIGTERM handoffs) or, with `--quick`, the
 * small mode `npm test` runs. Ends with a report of the figures
 * the scenarios recorded; every figure is also asserted by the scenario that measured it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { down, up } from '../devstack/stack';
import { repoRoot } from '../devstack/paths';

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

type Figures = Record<string, number | string>;

function report(lines: Figures[], mode: string, minutes: number, code: number): string {
  const of = (scenario: string): Figures =>
    Object.assign({}, ...lines.filter((l) => l.scenario === scenario)) as Figures;
  const crashes = of('crashes');
  const secrets = of('secrets');
  const faults = of('faults');
  const bad = of('bad-input');
  const nasty = of('nasty-batches');
  const restart = of('restart');
  const notify = of('notify');
  const sigterm = of('sigterm');
  const mail = of('held-mail');
  const show = (v: unknown) => (v === undefined ? 'not measured' : String(v));
  const windows = lines
    .filter((l) => l.scenario === 'held-window')
    .map(
      (w) =>
        `    ${String(w.window).padEnd(28)} killed in ${w.activity} attempt ${w.interruptedAttempt}, ` +
        `done on attempt ${w.completedAttempt}; duplicates ${w.duplicates}`,
    );
  const scans = lines.filter((l) => l.scenario === 'secrets-scan');
  const scanned = scans.reduce((n, l) => n + Number(l.places ?? 0), 0);
  const scanFound = scans.reduce((n, l) => n + Number(l.found ?? 0), 0);
  return [
    `reliability report (${mode}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${minutes.toFixed(1)} min)`,
    `  kills survived            ${show(crashes.kills)}`,
    `  runs completed            ${show(crashes.completed)} of ${show(crashes.runs)} (${show(crashes.failedRuns)} failing on purpose)`,
    `  duplicate Glue job runs   ${show(crashes.duplicateJobRuns)}`,
    `  duplicate statements      ${show(crashes.duplicateStatements)}`,
    `  emails per failed run     ${show(crashes.emailsPerFailedRun)}`,
    `  kills while held          ${windows.length} windows (per window: the attempt the kill interrupted, duplicates found)`,
    ...(windows.length > 0 ? windows : ['    not measured']),
    `  mails per Message-ID      ${show(mail.markedDeliveries)} when killed after the sent record, ${show(mail.dataWindowDeliveries)} when killed in DATA before it (the stated window; ${show(mail.interrupted)})`,
    `  measured fault rate       ${show(faults.faultRate)}, one rule mixing throttle, 500, 503, drop, stall, after-serve 500 and drop`,
    `  operations faulted        ${show(faults.operationsFaulted)} of ${show(faults.operations)} the pipeline uses (${show(faults.faultedRuns)} faulted runs, ${show(faults.cleanRuns)} clean)`,
    `  call-count ratio, faults  ${show(faults.callRatio)} (${show(faults.faultedCalls)} vs ${show(faults.cleanCalls)} calls a run)`,
    `  bad-input cases passed    ${show(bad.passed)} of ${show(bad.cases)} (${show(bad.sparkCases)} completing through local Spark: ${show(bad.rowsAccounted)} of ${show(bad.sparkRowsIn)} rows loaded in every region or quarantined with a reason)`,
    `  nasty files accounted for ${show(nasty.filesAccounted)} of ${show(nasty.files)} (${show(nasty.rowsIn)} rows in: ${show(nasty.rowsOut)} loaded in every region, ${show(nasty.rowsRejected)} quarantined with a reason)`,
    `  corrupt manifest batch    ${show(nasty.corruptManifest)} (its Glue job SUCCEEDED, its manifest is not JSON)`,
    `  server restarts survived  ${show(restart.serverRestarts)} (${show(restart.serverSigkills)} by SIGKILL; ${show(restart.downSeconds)} s down each; ${show(restart.restartCompleted)} of ${show(restart.restartRuns)} runs completed, ${show(restart.restartDuplicates)} duplicate job runs or statements)`,
    `  SMTP outage               ${show(notify.emailsAfterOutage)} email after it (attempt ${show(notify.emailAttempts)}), ${show(notify.webhooksDuringOutage)} webhook during it`,
    `  SIGTERM handoffs          ${show(sigterm.sigterms)} (wait attempts ${show(sigterm.sigtermWaitAttempts)}, StartJobRun ${show(sigterm.sigtermStarts)})`,
    `  secrets found             ${show(secrets.secretsFound)} (in ${show(secrets.scanned)} histories, logs and messages of the crash runs)`,
    `  planted secrets           ${show(secrets.plantedFound)} found unredacted (${show(secrets.planted)}; redacted in ${show(secrets.redactedPlaces)} places)`,
    `  scenario scans            ${scanFound} secrets in ${scanned} histories, emails and worker, gateway and server logs of ${scans.length} scenarios (places/found: ${scans.map((l) => `${l.of} ${l.places}/${l.found}`).join(', ') || 'none'}; positive control found its canary in each)`,
    `  result                    ${code === 0 ? 'every scenario passed' : 'FAILED (see above)'}`,
  ].join('\n');
}

async function main() {
  const quick = process.argv.includes('--quick');
  const files = process.argv.slice(2).filter((a) => a.endsWith('.ts'));
  const dir = path.join(repoRoot, '.devstack', 'reliability');
  const figures = path.join(dir, 'figures.jsonl');
  const started = Date.now();
  await down({ dir, log: () => {} }).catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  await up({ dir, freePorts: true });
  let code: number;
  try {
    const scenarioDir = path.join(repoRoot, 'test', 'reliability');
    const scenarios =
      files.length > 0
        ? files
        : fs
            .readdirSync(scenarioDir)
            .filter((f) => f.endsWith('.test.ts'))
            .map((f) => path.join(scenarioDir, f));
    code = await run(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...scenarios],
      {
        GLUELINE_STACK_DIR: dir,
        GLUELINE_RELIABILITY_MODE: quick ? 'quick' : 'full',
        GLUELINE_RELIABILITY_FIGURES: figures,
      },
    );
  } finally {
    await down({ dir, log: () => {} });
  }
  const lines = fs.existsSync(figures)
    ? fs
        .readFileSync(figures, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Figures)
    : [];
  console.log('\n' + report(lines, quick ? 'quick' : 'full', (Date.now() - started) / 60_000, code));
  process.exitCode = code;
}

main().catch((err: Error) => {
  console.error(`reliability: ${err.message}`);
  process.exitCode = 1;
});
