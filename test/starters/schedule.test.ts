/**
 * `npm run glueline -- schedule ...` against the test stack's dev server: a schedule for a prefix, its
 * batch id derived from the scheduled time by scheduledCsvPipeline, and every action of the command.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { repoRoot } from '../../devstack/paths';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId, SearchAttributeKeys, type PipelineResult } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { glueline, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { pollUntil } from '../../devstack/testkit/poll';
import { provisionedSpecFile } from '../../devstack/testkit/spec';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';

describe('npm run glueline -- schedule', () => {
  let spec: PipelineSpec;
  let specFile: string;
  let workDir: string;
  let cliWorker: CliWorker | undefined;
  let client: Client;
  const taskQueue = unique('sched');
  const scheduleId = unique('s');
  const schedule = (...args: string[]) => glueline('schedule', ...args);
  const describeLines = async (id = scheduleId) => {
    const { code, stdout, stderr } = await schedule('describe', id);
    assert.equal(code, 0, stderr);
    return stdout;
  };

  before(
    async () => {
      ({ spec, workDir, specFile } = await provisionedSpecFile('schedule'));
      const primary = primaryRegion(spec);
      const s3 = new S3Client(awsClientConfig(primary.region));
      const sample = path.join(
        repoRoot,
        'samples',
        'sales',
        fs.readdirSync(path.join(repoRoot, 'samples', 'sales')).find((n) => n.endsWith('.csv'))!,
      );
      await s3.send(
        new PutObjectCommand({ Bucket: primary.rawBucket, Key: 'drop/daily/a.csv', Body: fs.readFileSync(sample) }),
      );
      s3.destroy();
      cliWorker = await startCliWorker(taskQueue);
      ({ client } = cliWorker);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await client?.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    await cliWorker?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('--help shows the temporal schedule equivalent', async () => {
    const { code, stdout } = await schedule('--help');
    assert.equal(code, 0);
    assert.match(
      stdout,
      /temporal schedule create --schedule-id <id> --cron "0 2 \* \* \*" \(or --interval 6h\) --overlap-policy Skip/,
    );
    assert.match(
      stdout,
      /--type scheduledCsvPipeline --task-queue glueline --workflow-id <id> --input-file schedule-input\.json/,
    );
  });

  test('bad timing, overlap, prefix or schedule id exits 2 naming the value and the fix', async () => {
    const create = (...args: string[]) =>
      schedule('create', scheduleId, '--spec', specFile, '--prefix', 'drop/daily/', ...args);
    assert.match((await create()).stderr, /name when it runs: --cron "<expr>" or --every <duration>/);
    assert.match(
      (await create('--every', 'often')).stderr,
      /--every often is not a duration: use a number and a unit, e\.g\. 30s/,
    );
    assert.match((await create('--cron', '0 2')).stderr, /--cron "0 2" is not a cron expression/);
    // Five fields, one out of range: refused by the server, still a bad flag (exit 2) named as such.
    const outOfRange = await create('--cron', '61 2 * * *');
    assert.equal(outOfRange.code, 2, outOfRange.stderr);
    assert.match(
      outOfRange.stderr,
      /--cron "61 2 \* \* \*" is refused by the Temporal server \(Minute is not in range/,
    );
    assert.match(
      (await create('--every', '1h', '--overlap', 'SOMETIMES')).stderr,
      /--overlap SOMETIMES is not a policy: use one of SKIP, BUFFER_ONE/,
    );
    const badPrefix = await schedule('create', scheduleId, '--spec', specFile, '--prefix', 'drop', '--every', '1h');
    assert.equal(badPrefix.code, 2);
    assert.match(badPrefix.stderr, /batch\.source\.prefix: "drop" is not a usable S3 prefix/);
    assert.match(
      (await schedule('create', 'has space', '--every', '1h')).stderr,
      /schedule id "has space" is not usable/,
    );
    assert.match((await schedule('explode', scheduleId)).stderr, /name an action, one of create, update/);
    assert.equal((await schedule('describe', scheduleId)).code, 2, 'nothing was created');
  });

  test('create makes an active schedule on an interval with the overlap policy', async () => {
    const { code, stdout, stderr } = await schedule(
      'create',
      scheduleId,
      '--spec',
      specFile,
      '--prefix',
      'drop/daily/',
      '--every',
      '1h',
      '--overlap',
      'BUFFER_ONE',
      '--stop-after',
      'crawl-raw',
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`created schedule ${scheduleId}`));
    const d = await describeLines();
    assert.match(d, new RegExp(`^schedule ${scheduleId}: active`, 'm'));
    assert.match(d, /when: +every 1h00m; overlap BUFFER_ONE/);
    assert.match(
      d,
      new RegExp(
        `runs: +scheduledCsvPipeline for s3://${primaryRegion(spec).rawBucket}/drop/daily/ .*batch ids ${scheduleId}-<time>`,
      ),
    );
    const again = await schedule('create', scheduleId, '--spec', specFile, '--prefix', 'drop/daily/', '--every', '1h');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists: change it with schedule update/);
  });

  test(
    'trigger runs csvPipeline for the prefix under a batch id derived from the scheduled time',
    { timeout: 120_000 },
    async () => {
      const { code } = await schedule('trigger', scheduleId);
      assert.equal(code, 0);
      const d = await pollUntil(
        () => client.schedule.getHandle(scheduleId).describe(),
        (x) => x.info.recentActions.length > 0,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const parentId = d.info.recentActions[0]!.action.workflow.workflowId;
      assert.match(parentId, new RegExp(`^${scheduleId}-`));
      const result = (await client.workflow.getHandle(parentId).result()) as PipelineResult;
      assert.equal(result.status, 'succeeded');
      assert.match(result.batchId, new RegExp(`^${scheduleId}-\\d{8}T\\d{6}Z$`));
      assert.equal(result.workflowId, pipelineWorkflowId(spec, { id: result.batchId }));
      assert.equal(result.steps.find((s) => s.step === 'stage-raw')?.counts.objects, 1);
      const child = await client.workflow.getHandle(result.workflowId).describe();
      assert.equal(child.status.name, 'COMPLETED');
      assert.equal(child.typedSearchAttributes.get(SearchAttributeKeys.batch), result.batchId);
      assert.match(await describeLines(), new RegExp(`recent: .* → ${parentId}`));
    },
  );

  test('update changes the interval and keeps the rest', async () => {
    const { code, stderr } = await schedule('update', scheduleId, '--every', '2h');
    assert.equal(code, 0, stderr);
    const d = await describeLines();
    assert.match(d, /when: +every 2h00m; overlap BUFFER_ONE/);
    assert.match(d, /drop\/daily\//);
  });

  test('pause and unpause, with a note', async () => {
    assert.equal((await schedule('pause', scheduleId, '--note', 'data source down')).code, 0);
    assert.match(await describeLines(), new RegExp(`^schedule ${scheduleId}: PAUSED \\(data source down\\)`, 'm'));
    assert.equal((await schedule('unpause', scheduleId)).code, 0);
    assert.match(await describeLines(), new RegExp(`^schedule ${scheduleId}: active`, 'm'));
  });

  test('a cron schedule runs at the cron times', async () => {
    const cronId = unique('c');
    const created = await schedule(
      'create',
      cronId,
      '--spec',
      specFile,
      '--prefix',
      'drop/daily/',
      '--cron',
      '0 2 * * *',
      '--paused',
    );
    assert.equal(created.code, 0, created.stderr);
    const d = await describeLines(cronId);
    assert.match(d, /PAUSED/);
    assert.match(d, /next: +\d{4}-\d\d-\d\dT02:00:00\.000Z/);
    assert.equal((await schedule('delete', cronId)).code, 0);
  });

  test('delete removes it; describing it then exits 2', async () => {
    assert.equal((await schedule('delete', scheduleId)).code, 0);
    const gone = await schedule('describe', scheduleId);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, new RegExp(`no schedule ${scheduleId} in this namespace`));
  });
});
