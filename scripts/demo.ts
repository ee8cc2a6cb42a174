/**
 * `npm run demo [-- --fail-at <step>] [--spec <file>] [--dir <dir>]`: the main job from the README's Quickstart.
 *
 *   1. brings the local stack up (or reuses the running one); `predemo` already installed the dev tools;
 *   2. provisions both regions (`npm run provision`, idempotent);
 *   3. starts a worker process (`src/worker.ts`) pointed at the stack;
 *   4. uploads the sample CSVs (samples/sales/*.csv) under a new batch's landing prefix;
 *   5. runs csvPipeline to completion, showing each step's progress live;
 *   6. prints a summary: files, rows in/out/rejected, bytes, time per step;
 *   7. prints the run's Temporal UI link, the mail sink's URL and how to query the loaded table.
 *
 * `--fail-at <step>` makes that step fail on the local stack (a scripted Glue outcome, an empty batch, a
 * failing SQL statement) to show the failure path: the run fails there and the email arrives in the sink.
 * Every run uses a new batch id, so running the demo again is safe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import type { SinkMessage } from '../devstack/mail-sink';
import { repoRoot } from '../devstack/paths';
import { createSpecRedshiftTargets, warmSpecRedshiftTargets } from '../devstack/redshift-targets';
import { DEFAULT_DIR, readEndpoints, status, up, type StackEndpoints } from '../devstack/stack';
import { runStatement } from '../src/aws/redshift-data';
import { primaryRegion, replicaRegions } from '../src/workflow-safe/layout';
import { DEFAULT_TASK_QUEUE, type CsvPipelineWorkflow } from '../src/workflow-safe/pipeline';
import { formatSummary } from '../src/starters/progress-view';
import { processIo } from '../src/starters/common';
import { followProgress } from '../src/starters/live-view';
import { type PipelineSpec } from '../src/workflow-safe/spec';
import { STEPS, type Batch, type StepName } from '../src/workflow-safe/run-input';
import { loadSpecFile } from '../src/starters/spec-file';
import { csvPipelineStartOptions } from '../src/starters/start-options';
import { connectClient } from '../src/temporal/connection';
import { runUrl } from '../src/temporal/run-links';

/** Steps the demo can make fail on the local stack (a copy between regions has no scripted failure). */
const FAILABLE_STEPS: StepName[] = STEPS.filter((s) => s !== 'replicate-curated');

const usage = `usage: npm run demo [-- --fail-at <step>] [--spec <file>] [--dir <dir>]

  --fail-at STEP   make STEP fail on the local stack, to show the failure email:
                   ${FAILABLE_STEPS.join(', ')}
  --spec FILE      the pipeline spec (default: specs/local-sales.yaml)
  --dir DIR        the local stack's folder (default: .devstack); a stack not running there is started, on free
                   ports unless DIR is the default (glueline devstack env --dir DIR prints its settings)`;

const say = (line = '') => console.log(line);

async function main() {
  const { values } = parseArgs({
    options: {
      'fail-at': { type: 'string' },
      spec: { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  // npm runs scripts in the repository; INIT_CWD is where the command was typed.
  const dir = values.dir ? path.resolve(process.env.INIT_CWD ?? '.', values.dir) : DEFAULT_DIR;
  if (values.help) return say(usage);
  const failAt = values['fail-at'] as StepName | undefined;
  if (failAt && !FAILABLE_STEPS.includes(failAt))
    throw new Error(`--fail-at ${failAt} is not one of ${FAILABLE_STEPS.join(', ')}`);
  const specFile = path.resolve(repoRoot, values.spec ?? 'specs/local-sales.yaml');

  say('1. the local stack');
  const stack = status(dir).some((p) => p.running)
    ? readEndpoints(dir)
    : await up({ dir, freePorts: dir !== DEFAULT_DIR });
  say(`   Temporal ${stack.temporal.address}, AWS ${stack.aws.endpoint}, mail ${stack.smtp.uiUrl}`);

  let spec = loadSpecFile(specFile);
  if (failAt === 'redshift-refresh')
    spec = { ...spec, redshift: { sql: [...(spec.redshift?.sql ?? []), 'select * from glueline_demo_no_such_table'] } };

  say(`2. provisioning ${spec.regions.map((r) => r.region).join(' and ')}`);
  await run(process.execPath, [
    '--import',
    'tsx',
    'src/starters/cli.ts',
    'provision',
    '--spec',
    specFile,
    '--stack-dir',
    dir,
  ]);
  // Provisioning leaves Redshift workgroups to the account, as on AWS; the local stack gets them here.
  await createSpecRedshiftTargets(stack.aws.endpoint, spec);
  // Opened while the run stages and transforms, so the refresh does not wait for them (at once when open already);
  // one that fails to open is opened again by the refresh itself, which then reports why.
  void warmSpecRedshiftTargets(stack.aws.controlUrl, spec).catch(() => undefined);

  say('3. a worker');
  const worker = startWorker(stack, dir);
  try {
    const batchId = `demo-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
    say(`4. uploading the sample CSVs as batch ${batchId}`);
    const batch = await uploadSamples(stack, spec, batchId, failAt === 'stage-raw');
    await scriptFailure(stack, spec, failAt);

    say('5. running csvPipeline');
    // Connected as the worker it started is, payload codec included.
    const { client, connection } = await connectClient({ ...process.env, ...temporalEnv(stack) });
    try {
      const handle = await client.workflow.start<CsvPipelineWorkflow>(
        'csvPipeline',
        csvPipelineStartOptions({ spec, batch }, { taskQueue: DEFAULT_TASK_QUEUE }),
      );
      const link = runUrl(
        stack.temporal.uiUrl,
        stack.temporal.namespace,
        handle.workflowId,
        handle.firstExecutionRunId,
      );
      say(`   ${link}`);
      const follow = followProgress(handle, processIo(), { indent: '   ' });
      try {
        const result = await handle.result();
        await follow.stop();
        say('\n6. summary');
        for (const line of formatSummary(result)) say(`   ${line}`);
        say('\n7. where to look');
        say(`   the run in the Temporal UI: ${link}`);
        say(`   sent mail (none, the run succeeded): ${stack.smtp.uiUrl}`);
        await showLoadedRows(stack, spec, specFile, batchId);
      } catch (err) {
        await follow.stop();
        if (!(err instanceof WorkflowFailedError)) throw err;
        const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
        say(`\nThe run failed${failAt ? `, as asked, at ${failAt}` : ''}: ${cause?.message ?? err.message}`);
        const mail = await waitForMail(stack, batchId);
        say(
          mail
            ? `The failure email arrived: "${mail.subject}" to ${mail.to}`
            : 'No failure email arrived within a minute.',
        );
        say(`   read it: ${stack.smtp.uiUrl}`);
        say(`   the run in the Temporal UI: ${link}`);
        if (!failAt || !mail) process.exitCode = 1;
      }
    } finally {
      await connection.close();
    }
  } finally {
    await stopWorker(worker);
  }
  const dirFlag = dir === DEFAULT_DIR ? '' : ` --dir ${dir}`;
  say(`\nThe stack stays up for you to look around; stop it with \`npm run devstack -- down${dirFlag}\`.`);
  if (dirFlag) say(`Its settings, for the worker and the commands: glueline devstack env${dirFlag}`);
}

/** Runs a command to its end, output passed through, and fails if it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

/** The local stack's Temporal, as the variables the worker and the client read. */
const temporalEnv = (stack: StackEndpoints) => ({
  TEMPORAL_ADDRESS: stack.temporal.address,
  TEMPORAL_NAMESPACE: stack.temporal.namespace,
});

/** The worker as its own process, configured like production but pointed at the local stack. */
function startWorker(stack: StackEndpoints, dir: string): ChildProcess {
  const logFile = path.join(dir, 'logs', 'demo-worker.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      ...temporalEnv(stack),
      GLUELINE_TASK_QUEUE: DEFAULT_TASK_QUEUE,
      GLUELINE_AWS_ENDPOINT: stack.aws.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      SMTP_URL: `smtp://${stack.smtp.host}:${stack.smtp.port}`,
      GLUELINE_TEMPORAL_UI_URL: stack.temporal.uiUrl,
    },
  });
  say(`   pid ${child.pid}, log ${path.relative(repoRoot, logFile)}`);
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Puts samples/sales/*.csv under `landing/<batch>/` in the primary raw bucket; the batch is that prefix. */
async function uploadSamples(
  stack: StackEndpoints,
  spec: PipelineSpec,
  batchId: string,
  empty: boolean,
): Promise<Batch> {
  const primary = primaryRegion(spec);
  const prefix = `landing/${batchId}/`;
  const dir = path.join(repoRoot, 'samples', 'sales');
  const files = empty ? [] : fs.readdirSync(dir).filter((f) => f.endsWith('.csv'));
  const s3 = new S3Client({
    region: primary.region,
    endpoint: stack.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  for (const file of files) {
    await s3.send(
      new PutObjectCommand({
        Bucket: primary.rawBucket,
        Key: `${prefix}${file}`,
        Body: fs.readFileSync(path.join(dir, file)),
      }),
    );
  }
  s3.destroy();
  say(
    `   ${files.length} file(s) to s3://${primary.rawBucket}/${prefix}${empty ? ' (none: --fail-at stage-raw)' : ''}`,
  );
  return { id: batchId, source: { bucket: primary.rawBucket, prefix } };
}

/** Scripts the local stack so `step` fails: the gateway's scripted Glue outcomes. */
async function scriptFailure(stack: StackEndpoints, spec: PipelineSpec, step: StepName | undefined): Promise<void> {
  const script = async (route: string, outcome: object, region: string) => {
    const response = await fetch(`${stack.aws.controlUrl}/${route}/outcomes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcomes: [outcome], region }),
    });
    if (!response.ok)
      throw new Error(`the gateway refused to script ${route}: ${response.status} ${await response.text()}`);
  };
  const primary = primaryRegion(spec);
  const last = replicaRegions(spec).at(-1) ?? primary;
  const message = `glueline demo: failing ${step} on purpose (--fail-at ${step})`;
  if (step === 'crawl-raw')
    await script(`glue/crawlers/${spec.raw.crawler}`, { status: 'FAILED', errorMessage: message }, primary.region);
  if (step === 'transform')
    await script(`glue/jobs/${spec.transform.jobName}`, { state: 'FAILED', errorMessage: message }, primary.region);
  if (step === 'crawl-curated')
    await script(`glue/crawlers/${last.curatedCrawler}`, { status: 'FAILED', errorMessage: message }, last.region);
}

/** Counts the batch's rows in each region's Redshift table, and says how to query it. */
async function showLoadedRows(
  stack: StackEndpoints,
  spec: PipelineSpec,
  specFile: string,
  batchId: string,
): Promise<void> {
  const sql = `select count(*) from sales where batch_id = '${batchId}'`;
  for (const region of spec.regions.filter((r) => r.redshift)) {
    const target = region.redshift!;
    const redshift = new RedshiftDataClient({
      region: region.region,
      endpoint: stack.aws.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    try {
      const { records } = await runStatement(redshift, { region: region.region, target, sqls: [sql] });
      say(`   Redshift (${region.region}, workgroup ${target.workgroupName}): ${sql} → ${records[0]?.[0]?.longValue}`);
    } catch (err) {
      say(`   Redshift (${region.region}): could not count the loaded rows: ${(err as Error).message}`);
    } finally {
      redshift.destroy();
    }
  }
  say(`   query it yourself (the local stack takes any credentials):`);
  say(
    `     GLUELINE_AWS_ENDPOINT=${stack.aws.endpoint} AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x npm run glueline -- query ` +
      `--spec ${path.relative(repoRoot, specFile)} --region ${spec.regions[0]!.region} --sql "select * from sales limit 5"`,
  );
}

/** Waits up to a minute for the failure email about `batchId` in the mail sink. */
async function waitForMail(stack: StackEndpoints, batchId: string): Promise<SinkMessage | undefined> {
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    const inbox = (await (await fetch(stack.smtp.inboxUrl)).json()) as SinkMessage[];
    const mail = inbox.find((m) => m.subject.includes(batchId) || m.text.includes(batchId));
    if (mail) return mail;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return undefined;
}

main().catch((err: Error) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
