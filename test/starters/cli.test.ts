/**
 * `npm run glueline -- run | step | status | follow | redrive | query` against the test stack: one worker
 * process for the file, runs stopped after crawl-raw (no Spark) so each takes seconds. Most command lines
 * run in this process; the duplicate start and the exit codes go through real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { repoRoot } from '../../devstack/paths';
import { primaryRegion } from '../../src/workflow-safe/layout';
import {
  pipelineWorkflowId,
  PROGRESS_QUERY,
  stepWorkflowId,
  type PipelineProgress,
  type PipelineResult,
  type PipelineStepInput,
} from '../../src/workflow-safe/pipeline';
import { shellWord } from '../../src/temporal/run-links';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { ListedRun } from '../../src/starters/list';
import type { StartDocument } from '../../src/starters/start-and-follow';
import type { RunStatus } from '../../src/starters/status';
import { glueline, gluelineInBash, gluelineProcess, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { MailSinkControl } from '../../devstack/testkit/mail-sink';
import { pollUntil, waitForItem } from '../../devstack/testkit/poll';
import { formatDuration } from '../../src/starters/progress-view';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { provisionedSpecFile } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, stackDir, unique } from '../../devstack/testkit/stack';

const samples = path.join(repoRoot, 'samples', 'sales');
const sampleFiles = fs
  .readdirSync(samples)
  .filter((n) => n.endsWith('.csv'))
  .map((n) => path.join(samples, n));

describe('npm run glueline: run, step, status, follow, redrive, query', () => {
  let spec: PipelineSpec;
  let specFile: string;
  let workDir: string;
  let cliWorker: CliWorker | undefined;
  let client: Client;
  let env: Record<string, string>;
  const taskQueue = unique('starters');
  /** A queue no worker polls: runs started there stay running. */
  const idleQueue = unique('idle');

  const run = (batchId: string, ...args: string[]) =>
    glueline('run', '--spec', specFile, '--batch-id', batchId, ...args);
  const step = (...args: string[]) =>
    glueline('step', '--spec', specFile, '--batch-id', 'step-1', '--prefix', 'landing/base/', ...args);
  const query = (region: string, sql: string) =>
    glueline('query', '--spec', specFile, '--region', region, '--sql', sql);
  const result = (workflowId: string) => client.workflow.getHandle(workflowId).result() as Promise<PipelineResult>;

  before(
    async () => {
      ({ spec, workDir, specFile } = await provisionedSpecFile('cli'));
      const primary = primaryRegion(spec);
      const s3 = new S3Client(awsClientConfig(primary.region));
      for (const file of sampleFiles)
        await s3.send(
          new PutObjectCommand({
            Bucket: primary.rawBucket,
            Key: `landing/base/${path.basename(file)}`,
            Body: fs.readFileSync(file),
          }),
        );
      s3.destroy();
      // JSON log lines, and no workflow cache: every workflow task replays the whole history, so a step's log
      // line that the workflow logger wrote again on replay would show up twice.
      cliWorker = await startCliWorker(taskQueue, { GLUELINE_LOG_FORMAT: 'json', GLUELINE_MAX_CACHED_WORKFLOWS: '0' });
      ({ client, env } = cliWorker);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await cliWorker?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  describe('--help', () => {
    test('the top-level help lists every command', async () => {
      const { code, stdout } = await glueline('--help');
      assert.equal(code, 0);
      for (const c of ['run', 'step', 'status', 'follow', 'redrive', 'query', 'schedule', 's3-events', 'provision'])
        assert.match(stdout, new RegExp(`^  ${c} `, 'm'));
    });

    test("each command's help shows its temporal CLI equivalent", async () => {
      const expected: Record<string, RegExp[]> = {
        run: [
          /temporal workflow start --type csvPipeline --task-queue glueline/,
          /--id-conflict-policy UseExisting --id-reuse-policy AllowDuplicateFailedOnly/,
          /--input-file input\.json/,
        ],
        step: [/temporal workflow start --type pipelineStep/],
        status: [/temporal workflow query --workflow-id <workflowId> --name progress/],
        follow: [/temporal workflow result --workflow-id <workflowId>/],
        redrive: [
          /temporal workflow show --workflow-id <workflowId> --output json/,
          /--type csvPipeline .*--workflow-id <workflowId>/,
        ],
        query: [/aws redshift-data execute-statement/],
      };
      for (const [command, patterns] of Object.entries(expected)) {
        const { code, stdout } = await glueline(command, '--help');
        assert.equal(code, 0, command);
        for (const p of patterns) assert.match(stdout, p, command);
      }
    });

    test('an unknown command or flag exits 2', async () => {
      assert.equal((await glueline('launch')).code, 2);
      const bad = await glueline('run', '--bogus');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--bogus/);
      const misspelt = await glueline('run', '--batchid', 'x');
      assert.equal(misspelt.code, 2);
      assert.match(
        misspelt.stderr,
        /^glueline run: unknown flag --batchid; did you mean "--batch-id"\?; see glueline run --help$/,
      );
      const command = await glueline('stauts');
      assert.equal(command.code, 2);
      assert.match(command.stderr, /unknown command stauts: .*; did you mean "status"\?/);
    });
  });

  describe('run', () => {
    test('a bad batch id exits 2 naming the field, the value and the fix, and starts nothing', async () => {
      const { code, stderr } = await run('no spaces allowed', '--prefix', 'landing/base/');
      assert.equal(code, 2);
      assert.match(stderr, /batch\.id: "no spaces allowed" is not a usable batch id: use 1-63 letters/);
    });

    test('a spec with a bad field exits 2 naming it', async () => {
      const badFile = path.join(workDir, 'bad.json');
      fs.writeFileSync(badFile, JSON.stringify({ ...spec, regions: [{ ...spec.regions[0], region: 'mars-1' }] }));
      const { code, stderr } = await glueline(
        'run',
        '--spec',
        badFile,
        '--batch-id',
        'b1',
        '--prefix',
        'landing/base/',
      );
      assert.equal(code, 2);
      assert.match(
        stderr,
        /bad\.json:\d+:\d+: regions\[0\]\.region: "mars-1" is not a region of an AWS partition .*: use a code such as us-east-1/,
      );
    });

    test('a batch without its data, or with two kinds of it, exits 2', async () => {
      assert.match((await run('b1')).stderr, /exactly one of --prefix, --key and --files \(got none\)/);
      assert.match((await run('b1', '--prefix', 'a/', '--key', 'a/x.csv')).stderr, /got --prefix, --key/);
      assert.equal((await run('b1', '--prefix', 'no-slash')).code, 2);
      assert.match(
        (await run('b1', '--prefix', 'a/', '--stop-after', 'nope')).stderr,
        /--stop-after: "nope" is not a step/,
      );
    });

    test('local files are uploaded to the landing prefix, then the run follows live and exits 0 with a summary', async () => {
      const { code, stdout } = await run('files-1', '--files', ...sampleFiles, '--stop-after', 'crawl-raw', '--wait');
      assert.equal(code, 0, stdout);
      assert.match(
        stdout,
        new RegExp(
          `uploading ${sampleFiles.length} file\\(s\\) to s3://${primaryRegion(spec).rawBucket}/landing/files-1/`,
        ),
      );
      assert.match(stdout, /^started workflow csv-pipeline-\S+-files-1 run /m);
      assert.match(stdout, /^✔ stage-raw\s+succeeded/m);
      assert.match(stdout, /^✔ crawl-raw\s+succeeded/m);
      assert.match(stdout, /^csvPipeline csv-pipeline-\S+-files-1 succeeded in /m);
      const s3 = new S3Client(awsClientConfig(primaryRegion(spec).region));
      for (const f of sampleFiles)
        await s3.send(
          new HeadObjectCommand({ Bucket: primaryRegion(spec).rawBucket, Key: `landing/files-1/${path.basename(f)}` }),
        );
      s3.destroy();
      const done = await result(pipelineWorkflowId(spec, { id: 'files-1' }));
      assert.equal(done.totals.rawObjects, sampleFiles.length);
    });

    test('a completed batch is not run again unless --rerun', async () => {
      const workflowId = pipelineWorkflowId(spec, { id: 'done-1' });
      assert.equal((await run('done-1', '--prefix', 'landing/base/', '--stop-after', 'stage-raw', '--wait')).code, 0);
      const first = (await client.workflow.getHandle(workflowId).describe()).runId;

      const again = await run('done-1', '--prefix', 'landing/base/', '--stop-after', 'stage-raw');
      assert.equal(again.code, 0);
      assert.match(again.stdout, /batch done-1 already completed .*nothing started\. Run it again with --rerun/);
      assert.equal((await client.workflow.getHandle(workflowId).describe()).runId, first);

      const rerun = await run('done-1', '--prefix', 'landing/base/', '--stop-after', 'stage-raw', '--rerun', '--wait');
      assert.equal(rerun.code, 0);
      assert.notEqual((await client.workflow.getHandle(workflowId).describe()).runId, first);
    });

    test('two identical starts a second apart start exactly one run; the second attaches and says so', async () => {
      const idleEnv = { ...env, GLUELINE_TASK_QUEUE: idleQueue };
      const args = ['run', '--spec', specFile, '--batch-id', 'dup-1', '--prefix', 'landing/base/'];
      const first = gluelineProcess(args, idleEnv);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const second = gluelineProcess(args, idleEnv);
      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const runIdOf = (out: string) => /run ([0-9a-f-]{36})/.exec(out)?.[1];
      assert.equal(runIdOf(a.stdout), runIdOf(b.stdout));
      const outputs = [a.stdout, b.stdout];
      assert.equal(outputs.filter((o) => /^started workflow/m.test(o)).length, 1, outputs.join('\n---\n'));
      assert.equal(outputs.filter((o) => /^batch dup-1 is already running: attached to workflow/m.test(o)).length, 1);
      const workflowId = pipelineWorkflowId(spec, { id: 'dup-1' });
      let count = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) count++;
      assert.equal(count, 1);
    });

    test('--wait exits 1 when the run fails, naming the cause', async () => {
      await new GatewayControl().scriptCrawls(spec.raw.crawler, [
        { status: 'FAILED', errorMessage: 'glueline test: crawl fails' },
      ]);
      const { code, stdout } = await gluelineProcess(
        [
          'run',
          '--spec',
          specFile,
          '--batch-id',
          'fail-1',
          '--prefix',
          'landing/base/',
          '--stop-after',
          'crawl-raw',
          '--wait',
        ],
        env,
      );
      assert.equal(code, 1, stdout);
      assert.match(stdout, /^✖ crawl-raw\s+failed/m);
      assert.match(stdout, /csv-pipeline-\S+-fail-1 failed: .*glueline test: crawl fails/);
    });
  });

  describe('status and follow', () => {
    test('status shows every step of a closed run from the progress query', async () => {
      const { code, stdout } = await glueline('status', pipelineWorkflowId(spec, { id: 'files-1' }));
      assert.equal(code, 0);
      assert.match(stdout, /^csvPipeline csv-pipeline-\S+-files-1 run \S+: COMPLETED/m);
      assert.match(stdout, /^✔ stage-raw\s+succeeded/m);
      assert.match(stdout, /^- transform\s+skipped .*after options\.stopAfter/m);
      assert.match(stdout, /\/namespaces\/default\/workflows\/csv-pipeline-/);
    });

    test('status of a run whose queue no worker polls asks no worker and names the queue and how to start one', async () => {
      // dup-1 runs on the idle queue: a progress query there would wait half a minute for a worker, then say nothing.
      const { code, stdout } = await glueline('status', pipelineWorkflowId(spec, { id: 'dup-1' }));
      assert.equal(code, 0);
      assert.match(stdout, /^csvPipeline csv-pipeline-\S+-dup-1 run \S+: RUNNING/m);
      assert.match(
        stdout,
        new RegExp(
          `^\\(no progress: no worker polls task queue ${idleQueue} in namespace default: start one with \`glueline worker\``,
          'm',
        ),
      );
    });

    test('follow of a run whose queue no worker polls says so on stderr before it waits', async () => {
      const follow = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/starters/cli.ts', 'follow', pipelineWorkflowId(spec, { id: 'dup-1' })],
        { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      follow.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise((resolve) => follow.once('exit', resolve));
      try {
        // dup-1 runs on the idle queue, so follow waits for ever: what it says before waiting is the test.
        await pollUntil(
          async () => stderr,
          (text) => text.includes('its progress shows once one does'),
        );
      } finally {
        follow.kill('SIGTERM');
        await exited;
      }
      assert.match(
        stderr,
        new RegExp(
          `^warning: no worker polls task queue ${idleQueue} in namespace default: start one with .*its progress shows once one does$`,
          'm',
        ),
      );
    });

    test('status of a failed run exits 1 and shows the error', async () => {
      const { code, stdout } = await glueline('status', pipelineWorkflowId(spec, { id: 'fail-1' }));
      assert.equal(code, 1);
      assert.match(stdout, /^✖ crawl-raw\s+failed .*glueline test: crawl fails/m);
    });

    test('an empty batch prefix is blamed on the prefix; the steps after the failure show as not run, not pending', async () => {
      const { code, stdout } = await run('empty-1', '--prefix', 'landing/nothing-here/', '--wait');
      assert.equal(code, 1, stdout);
      const blame =
        /no objects in the batch's source s3:\/\/\S+\/landing\/nothing-here\/ \(us-east-1\): the batch's prefix is empty, so there is nothing to stage\. Check that the prefix .*--prefix/;
      assert.match(stdout, blame);
      assert.doesNotMatch(stdout, /previous|earlier step/);
      assert.match(
        stdout,
        /^- crawl-raw\s+not-run\s+\(not run: stage-raw failed first\)$/m,
        'the live view ends without pending',
      );
      const workflowId = pipelineWorkflowId(spec, { id: 'empty-1' });
      const text = await glueline('status', workflowId);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /^✖ stage-raw\s+failed /m);
      assert.match(text.stdout, blame);
      for (const later of ['crawl-raw', 'transform', 'replicate-curated', 'crawl-curated@eu-west-1'])
        assert.match(text.stdout, new RegExp(`^- ${later}\\s+not-run\\s+\\(not run: stage-raw failed first\\)$`, 'm'));
      assert.doesNotMatch(text.stdout, /pending/);
      const json = await glueline('status', workflowId, '--json');
      assert.equal(json.code, 1);
      const steps = (JSON.parse(json.stdout) as RunStatus).progress!.steps;
      assert.equal(steps[0]!.status, 'failed');
      assert.ok(steps.length > 2);
      for (const s of steps.slice(1)) {
        assert.equal(s.status, 'not-run', s.step);
        assert.equal(s.skipReason, 'not run: stage-raw failed first');
      }
    });

    test('status or follow of an unknown workflow exits 2', async () => {
      const { code, stderr } = await glueline('status', 'csv-pipeline-nope-nope');
      assert.equal(code, 2);
      assert.match(stderr, /no workflow csv-pipeline-nope-nope/);
      assert.equal((await glueline('follow')).code, 2);
    });

    test('follow of a closed run prints its steps and summary', async () => {
      const { code, stdout } = await glueline('follow', pipelineWorkflowId(spec, { id: 'files-1' }));
      assert.equal(code, 0);
      assert.match(stdout, /^✔ crawl-raw\s+succeeded/m);
      assert.match(stdout, /^files in:\s+\d+ CSV/m);
    });
  });

  describe('--json and list', () => {
    /** The one JSON document a command printed: stdout must hold nothing else. */
    const document = <T>(stdout: string): T => JSON.parse(stdout) as T;

    test('status --json is one document holding the run, its status and its steps', async () => {
      const workflowId = pipelineWorkflowId(spec, { id: 'files-1' });
      const { code, stdout } = await glueline('status', workflowId, '--json');
      assert.equal(code, 0);
      const s = document<RunStatus>(stdout);
      assert.equal(s.workflowId, workflowId);
      assert.equal(s.runId, (await client.workflow.getHandle(workflowId).describe()).runId);
      assert.equal(s.type, 'csvPipeline');
      assert.equal(s.status, 'COMPLETED');
      assert.match(s.url, /\/namespaces\/default\/workflows\/csv-pipeline-/);
      const steps = Object.fromEntries(s.progress!.steps.map((p) => [p.step, p.status]));
      assert.equal(steps['stage-raw'], 'succeeded');
      assert.equal(steps['transform'], 'skipped');
    });

    test('status --json of a failed run exits 1 and holds the error', async () => {
      const { code, stdout } = await glueline('status', pipelineWorkflowId(spec, { id: 'fail-1' }), '--json');
      assert.equal(code, 1);
      const s = document<RunStatus>(stdout);
      assert.equal(s.status, 'FAILED');
      assert.match(s.progress!.steps.find((p) => p.step === 'crawl-raw')!.error!.message, /glueline test: crawl fails/);
    });

    test('run --json --wait prints only the document: the start and the result', async () => {
      const { code, stdout, stderr } = await gluelineProcess(
        [
          'run',
          '--spec',
          specFile,
          '--batch-id',
          'json-1',
          '--prefix',
          'landing/base/',
          '--stop-after',
          'stage-raw',
        ].concat(['--wait', '--json']),
        env,
      );
      assert.equal(code, 0, stderr);
      const d = document<StartDocument>(stdout);
      assert.equal(d.outcome, 'started');
      assert.equal(d.workflowId, pipelineWorkflowId(spec, { id: 'json-1' }));
      assert.equal(d.status, 'COMPLETED');
      assert.equal(d.result!.steps.find((p) => p.step === 'stage-raw')!.status, 'succeeded');
      assert.match(stderr, /^started workflow csv-pipeline-\S+-json-1 run /m);
    });

    test("list --json holds the pipeline's runs, newest first, with a failed run's step", async () => {
      const { code, stdout } = await glueline('list', '--spec', specFile, '--json', '--limit', '50');
      assert.equal(code, 0);
      const { pipeline, runs } = document<{ pipeline: string; runs: ListedRun[] }>(stdout);
      assert.equal(pipeline, spec.name);
      const starts = runs.map((r) => r.startTime);
      assert.deepEqual(starts, [...starts].sort().reverse());
      const files = runs.find((r) => r.batchId === 'files-1')!;
      assert.equal(files.status, 'COMPLETED');
      assert.equal(files.workflowId, pipelineWorkflowId(spec, { id: 'files-1' }));
      assert.equal(files.runId, (await client.workflow.getHandle(files.workflowId).describe()).runId);
      assert.ok(files.durationMs > 0 && files.closeTime);
      assert.equal(files.failedStep, null);
      assert.equal(files.rowsIn, null, 'stopped after crawl-raw: no rows');
      const failed = runs.find((r) => r.batchId === 'fail-1' && r.status === 'FAILED')!;
      assert.equal(failed.failedStep, 'crawl-raw');
    });

    test('list prints a table, and a pipeline without runs says so', async () => {
      const { code, stdout } = await glueline('list', '--spec', specFile, '--limit', '3');
      assert.equal(code, 0);
      const lines = stdout.split('\n');
      assert.match(
        lines[0]!,
        /^started \(UTC\) +\| batch +\| status +\| duration +\| rows in\/out\/rej \| failed step \| workflow id$/,
      );
      assert.equal(lines.length, 2 + 3);
      const none = await glueline('list', '--pipeline', 'no-such-pipeline');
      assert.equal(none.code, 0);
      assert.match(none.stdout, /^no runs of pipeline no-such-pipeline/);
      assert.equal((await glueline('list', '--pipeline', "x' OR 1=1")).code, 2);
    });

    test("list's table shows a failed run's failed step and a completed run's duration, as in --json", async () => {
      const [table, json] = [
        await glueline('list', '--spec', specFile, '--limit', '50'),
        await glueline('list', '--spec', specFile, '--limit', '50', '--json'),
      ];
      assert.equal(table.code, 0);
      const { runs } = JSON.parse(json.stdout) as { runs: ListedRun[] };
      const rows = table.stdout.split('\n').map((l) => l.split(' | ').map((c) => c.trim()));
      const row = (r: ListedRun) => rows.find((cells) => cells[6] === r.workflowId && cells[2] === r.status)!;
      const failed = runs.find((r) => r.batchId === 'fail-1' && r.status === 'FAILED')!;
      assert.deepEqual(row(failed).slice(1, 6), [
        'fail-1',
        'FAILED',
        formatDuration(failed.durationMs),
        '',
        'crawl-raw',
      ]);
      const files = runs.find((r) => r.batchId === 'files-1')!;
      assert.deepEqual(row(files).slice(1, 6), ['files-1', 'COMPLETED', formatDuration(files.durationMs), '', '']);
      assert.match(row(files)[3]!, /^\d+(\.\d)?s$|^\d+m\d\ds$/);
      assert.equal(row(files)[0], files.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
    });

    test('query --json holds typed values and nulls', async () => {
      const { code, stdout } = await query('eu-west-1', "select 1 as one, 'two' as label union all select 3, null");
      assert.equal(code, 0);
      assert.equal(stdout.split('\n').length, 5, 'the table, as before');
      const json = await glueline(
        'query',
        '--spec',
        specFile,
        '--region',
        'eu-west-1',
        '--json',
        '--sql',
        "select 1 as one, 'two' as label union all select 3, null",
      );
      assert.equal(json.code, 0, json.stderr);
      const d = document<{ columns: string[]; rows: unknown[][]; rowCount: number }>(json.stdout);
      assert.deepEqual(d.columns, ['one', 'label']);
      assert.deepEqual(d.rows, [
        [1, 'two'],
        [3, null],
      ]);
      assert.equal(d.rowCount, 2);
    });
  });

  describe('devstack env', () => {
    test("prints the stack's settings as export lines that a command runs with", async () => {
      const { code, stdout } = await glueline('devstack', 'env', '--dir', stackDir);
      assert.equal(code, 0);
      const settings = Object.fromEntries(
        stdout.split('\n').map((line) => {
          const m = /^export ([A-Z_]+)=(\S+)$/.exec(line);
          assert.ok(m, `not an export line: ${line}`);
          return [m[1]!, m[2]!.replace(/^'|'$/g, '')];
        }),
      );
      assert.equal(settings.TEMPORAL_ADDRESS, stack().temporal.address);
      assert.equal(settings.GLUELINE_AWS_ENDPOINT, stack().aws.endpoint);
      const status = await gluelineProcess(['status', pipelineWorkflowId(spec, { id: 'files-1' }), '--json'], {
        ...settings,
        GLUELINE_ENV_FILE: 'none',
      });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).status, 'COMPLETED');
      const missing = await glueline('devstack', 'env', '--dir', path.join(workDir, 'no-stack'));
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no local stack at .*no-stack/);
    });
  });

  describe("the worker's log", () => {
    test('one JSON object per line, and one line per step instance with its batch, AWS ids and duration', () => {
      const output = cliWorker!.worker.output();
      assert.doesNotMatch(output, /^\S+ \[(INFO|WARN|ERROR)\] /m, 'a line in the text format');
      const lines = output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.message === 'glueline worker started' && l.level === 'INFO' && l.time));
      const files = pipelineWorkflowId(spec, { id: 'files-1' });
      const stepLines = (workflowId: string, step: string) =>
        lines.filter((l) => l.workflowId === workflowId && l.step === step);
      const [stage, ...again] = stepLines(files, 'stage-raw');
      assert.equal(again.length, 0, 'a step line written again on replay');
      assert.equal(stage!.message, 'step stage-raw succeeded');
      assert.equal(stage!.batchId, 'files-1');
      assert.equal(stage!.objects, sampleFiles.length);
      assert.equal(typeof stage!.durationMs, 'number');
      assert.equal(stepLines(files, 'crawl-raw')[0]!.crawlerName, spec.raw.crawler);
      const failed = stepLines(pipelineWorkflowId(spec, { id: 'fail-1' }), 'crawl-raw')[0]!;
      assert.equal(failed.level, 'WARN');
      assert.match(String(failed.error), /glueline test: crawl fails/);
    });
  });

  describe('redrive', () => {
    test('a failed run is run again from the named step under the same workflow id', async () => {
      const workflowId = pipelineWorkflowId(spec, { id: 'fail-1' });
      const failed = (await client.workflow.getHandle(workflowId).describe()).runId;
      const { code, stdout } = await glueline('redrive', workflowId, '--from', 'crawl-raw', '--wait');
      assert.equal(code, 0, stdout);
      assert.match(stdout, /^redriving \S+ \(run \S+, FAILED\) from crawl-raw/m);
      assert.match(stdout, /^- stage-raw\s+skipped\s+\(before options\.startAt \(crawl-raw\)\)/m);
      assert.match(stdout, /^✔ crawl-raw\s+succeeded/m);
      const d = await client.workflow.getHandle(workflowId).describe();
      assert.notEqual(d.runId, failed);
      assert.equal(d.status.name, 'COMPLETED');
    });

    test('a succeeded run is refused with exit 2', async () => {
      const { code, stderr } = await glueline(
        'redrive',
        pipelineWorkflowId(spec, { id: 'fail-1' }),
        '--from',
        'crawl-raw',
      );
      assert.equal(code, 2);
      assert.match(stderr, /succeeded .*nothing to redrive/);
    });

    test('a running run is refused with exit 2', async () => {
      const { code, stderr } = await glueline(
        'redrive',
        pipelineWorkflowId(spec, { id: 'dup-1' }),
        '--from',
        'transform',
      );
      assert.equal(code, 2);
      assert.match(stderr, /is still running .*nothing to redrive/);
      await client.workflow.getHandle(pipelineWorkflowId(spec, { id: 'dup-1' })).terminate('test done');
    });

    test('list says why a run that ended without its figures shows none: no worker polls its queue', async () => {
      // dup-1 was terminated above: a run that ends so records no outcome, like the runs from before the memo.
      const { code, stdout } = await glueline('list', '--spec', specFile, '--json', '--limit', '50');
      assert.equal(code, 0);
      const { runs } = JSON.parse(stdout) as { runs: ListedRun[] };
      const dup = runs.find((r) => r.batchId === 'dup-1' && r.status === 'TERMINATED')!;
      assert.equal(dup.figuresFrom, null);
      assert.equal(dup.rowsIn, null);
      assert.match(dup.figuresNote!, new RegExp(`none polls task queue ${idleQueue} \\(start one: glueline worker\\)`));
      assert.equal(runs.find((r) => r.batchId === 'files-1')!.figuresFrom, 'memo');
      const table = await glueline('list', '--spec', specFile, '--limit', '50');
      assert.match(
        table.stdout,
        new RegExp(`^\\d+ run\\(s\\) without rows or failed step: .*task queue ${idleQueue} `, 'm'),
      );
    });

    test('follow of a run that ended on a queue no worker polls shows it as status does, asking no worker', async () => {
      // dup-1 was terminated above, on the idle queue: a progress query there would wait half a minute for nothing.
      const { code, stdout } = await glueline('follow', pipelineWorkflowId(spec, { id: 'dup-1' }));
      assert.equal(code, 1);
      assert.match(stdout, /^csvPipeline csv-pipeline-\S+-dup-1 run \S+: TERMINATED/m);
      assert.match(
        stdout,
        new RegExp(`^\\(no progress: no worker polls task queue ${idleQueue} in namespace default`, 'm'),
      );
    });

    test("list asks a worker's replay for a run that ended without its figures (terminated mid-step)", async () => {
      const gateway = new GatewayControl();
      await gateway.scriptCrawls(spec.raw.crawler, [{ status: 'RUNNING' }]);
      const started = await run('replay-1', '--prefix', 'landing/base/', '--stop-after', 'crawl-raw');
      assert.equal(started.code, 0, started.stderr);
      const workflowId = pipelineWorkflowId(spec, { id: 'replay-1' });
      const handle = client.workflow.getHandle(workflowId);
      // Waiting for the crawl: StartCrawler has answered, so the scripted crawl is RUNNING.
      await pollUntil(
        async () => (await handle.describe()).raw.pendingActivities ?? [],
        (pending) => pending.some((a) => a.activityType?.name === 'waitForCrawler'),
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      // Terminated while its crawl runs: the run records no outcome memo, as runs from before the memo did not.
      await handle.terminate('glueline test: ends without its outcome');
      // The scripted crawl stays RUNNING until ended: free the crawler for the tests after this one.
      assert.equal(await gateway.endCrawl(spec.raw.crawler, { status: 'SUCCEEDED' }), true);
      assert.equal((await handle.describe()).memo?.outcome, undefined);

      const { code, stdout } = await glueline('list', '--spec', specFile, '--json', '--limit', '50');
      assert.equal(code, 0);
      const listed = (JSON.parse(stdout) as { runs: ListedRun[] }).runs.find((r) => r.workflowId === workflowId)!;
      assert.equal(listed.status, 'TERMINATED');
      // The worker polls this run's queue: list asked the progress query, which the worker answers by replaying the
      // closed run's history. The replay shows no rows (transform never ran) and no failed step (none failed).
      assert.equal(listed.figuresFrom, 'progress');
      assert.equal(listed.figuresNote, null);
      assert.equal(listed.rowsIn, null);
      assert.equal(listed.failedStep, null);
      const replayed = await handle.query<PipelineProgress>(PROGRESS_QUERY);
      assert.equal(replayed.steps.find((s) => s.step === 'stage-raw')!.status, 'succeeded');
      assert.ok(listed.closeTime && listed.durationMs > 0);
      const table = await glueline('list', '--spec', specFile, '--limit', '50');
      assert.match(
        table.stdout,
        new RegExp(`\\| replay-1 +\\| TERMINATED +\\| \\S+ +\\| +\\| +\\| ${workflowId}$`, 'm'),
      );
      assert.doesNotMatch(table.stdout, new RegExp(`without rows or failed step: .*task queue ${taskQueue} `));
    });

    test('--json prints one document naming the run redriven, and how the new run ended', async () => {
      await new GatewayControl().scriptCrawls(spec.raw.crawler, [
        { status: 'FAILED', errorMessage: 'glueline test: crawl fails' },
      ]);
      const failed = await run('fail-2', '--prefix', 'landing/base/', '--stop-after', 'crawl-raw', '--wait');
      assert.equal(failed.code, 1, failed.stdout);
      const workflowId = pipelineWorkflowId(spec, { id: 'fail-2' });
      const failedRun = (await client.workflow.getHandle(workflowId).describe()).runId;
      const { code, stdout, stderr } = await glueline('redrive', workflowId, '--from', 'crawl-raw', '--wait', '--json');
      assert.equal(code, 0, stderr);
      const d = JSON.parse(stdout) as StartDocument;
      assert.deepEqual(d.redrive, { runId: failedRun, status: 'FAILED', from: 'crawl-raw' });
      assert.equal(d.outcome, 'started');
      assert.equal(d.workflowId, workflowId);
      assert.notEqual(d.runId, failedRun);
      assert.equal(d.status, 'COMPLETED');
      assert.match(stderr, /^redriving \S+ \(run \S+, FAILED\) from crawl-raw/m);
    });

    test('an unknown step exits 2 naming the steps', async () => {
      const { code, stderr } = await glueline('redrive', 'x', '--from', 'load');
      assert.equal(code, 2);
      assert.match(stderr, /--from load: name the step to start at, one of stage-raw, crawl-raw/);
    });
  });

  describe('step', () => {
    test('one step runs alone through pipelineStep and exits 0', async () => {
      const { code, stdout } = await step('--step', 'crawl-raw', '--wait');
      assert.equal(code, 0, stdout);
      assert.match(stdout, /^started workflow pipeline-step-\S+-step-1-crawl-raw run /m);
      assert.match(stdout, /^✔ crawl-raw\s+succeeded/m);
      assert.doesNotMatch(stdout, /stage-raw/);
    });

    test('a per-region step without --region exits 2 naming the flag and the regions', async () => {
      const { code, stderr } = await step('--step', 'crawl-curated');
      assert.equal(code, 2);
      assert.match(
        stderr,
        /^glueline step: --region: is required: crawl-curated runs per region, name one of us-east-1, eu-west-1$/,
      );
    });

    test('--json prints one document: the step instance, the start and how it ended', async () => {
      const { code, stdout, stderr } = await step('--step', 'stage-raw', '--wait', '--json');
      assert.equal(code, 0, stderr);
      const d = JSON.parse(stdout) as StartDocument;
      assert.equal(d.outcome, 'started');
      assert.equal(d.batchId, 'step-1');
      assert.equal(d.step, 'stage-raw');
      assert.match(d.workflowId, /^pipeline-step-\S+-step-1-stage-raw$/);
      assert.equal(d.runId, (await client.workflow.getHandle(d.workflowId).describe()).runId);
      assert.equal(d.status, 'COMPLETED');
      assert.match(stderr, /^started workflow pipeline-step-\S+-step-1-stage-raw run /m);
    });
  });

  describe("a failed step's email", () => {
    const inBash = (script: string) => gluelineInBash(script, env);
    const startInput = async (workflowId: string, runId: string) => {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      return defaultPayloadConverter.fromPayload<PipelineStepInput>(payload);
    };

    test('names the command the step was started with (spec path as given, batch flags); run as written, it starts the step again', async () => {
      await new GatewayControl().scriptCrawls(spec.raw.crawler, [
        { status: 'FAILED', errorMessage: 'glueline test: step crawl fails' },
      ]);
      // Started from the spec's folder with a relative path, as a person would.
      const relative = path.basename(specFile);
      const failed = await inBash(
        `cd ${shellWord(workDir)} && glueline step --spec ${relative} --batch-id step-mail-1 --prefix landing/base/ ` +
          '--step crawl-raw --wait',
      );
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      const workflowId = stepWorkflowId(spec, { id: 'step-mail-1' }, 'crawl-raw');
      const firstRun = (await client.workflow.getHandle(workflowId).describe()).runId;
      const subject = `[glueline] ${spec.name} batch step-mail-1 failed at crawl-raw`;
      const message = await waitForItem(
        () => new MailSinkControl().messages(),
        (m) => m.subject === subject && m.headers['x-glueline-workflow-id'] === workflowId,
        60_000,
      );
      const line = message.text
        .split('\n')
        .find((l) => /^ {2}(cd .* && )?glueline step /.test(l))
        ?.trim();
      assert.equal(
        line,
        `cd ${shellWord(workDir)} && glueline step --spec ${relative} --batch-id step-mail-1 --step crawl-raw ` +
          '--prefix landing/base/',
        message.text,
      );
      // redrive refuses a step run, and names the same command.
      const refused = await glueline('redrive', workflowId, '--from', 'crawl-raw');
      assert.equal(refused.code, 2);
      assert.ok(refused.stderr.endsWith(line), refused.stderr);

      const again = await inBash(line);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, new RegExp(`^started workflow ${workflowId} run `, 'm'));
      const secondRun = (await client.workflow.getHandle(workflowId).describe()).runId;
      assert.notEqual(secondRun, firstRun);
      const [first, second] = [await startInput(workflowId, firstRun), await startInput(workflowId, secondRun)];
      assert.deepEqual(second.batch, first.batch);
      assert.equal(second.step, first.step);
      assert.equal(second.spec.name, first.spec.name);
      assert.equal((await result(workflowId)).status, 'succeeded');
    });
  });

  describe('query', () => {
    test('prints the rows as a table', async () => {
      const { code, stdout } = await query('eu-west-1', "select 1 as one, 'two' as label union all select 3, null");
      assert.equal(code, 0, stdout);
      assert.deepEqual(stdout.split('\n'), ['one | label', '----+------', '1   | two', '3   | NULL', '(2 rows)']);
    });

    test('a region not in the spec exits 2 naming the regions', async () => {
      const { code, stderr } = await query('ap-south-1', 'select 1');
      assert.equal(code, 2);
      assert.match(stderr, /--region ap-south-1: name one of the spec's regions, us-east-1, eu-west-1/);
    });

    test("failing SQL exits 1 with Redshift's error text", async () => {
      const { code, stderr } = await query('us-east-1', 'select * from no_such_table_here');
      assert.equal(code, 1);
      assert.match(stderr, /FAILED: ERROR: .*no_such_table_here/);
    });
  });
});
