import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetCrawlerCommand, GetDatabaseCommand, GetJobCommand, GlueClient } from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { repoRoot } from '../../devstack/paths';
import { cliEnv, glueline, gluelineInBash, gluelineProcess, startCliWorker } from '../../devstack/testkit/cli';
import { pollUntil } from '../../devstack/testkit/poll';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { ProvisionError, planProvisioning } from '../../src/provisioning';
import { clientsFor, provision, type ProvisionTarget } from '../../src/starters/provision';
import {
  FRESHNESS_QUERY,
  FRESHNESS_WORKFLOW,
  freshnessWorkflowId,
  type FreshnessState,
} from '../../src/workflow-safe/freshness';
import { SearchAttributeKeys } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { uniqueSalesSpec } from '../../devstack/testkit/spec';
import { awsClientConfig, stack, stackDir, unique } from '../../devstack/testkit/stack';
import { shellWord } from '../../src/temporal/run-links';

describe('npm run glueline -- provision (npm run provision)', () => {
  let target: ProvisionTarget;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  let workRoot: string;

  before(() => {
    target = { endpoint: stack().aws.endpoint, description: 'the test stack' };
    workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-provision-'));
  });
  after(() => fs.rmSync(workRoot, { recursive: true, force: true }));

  const glue = (region: string) => new GlueClient(awsClientConfig(region));
  const jobOf = async (spec: PipelineSpec) =>
    (await glue(spec.regions[0]!.region).send(new GetJobCommand({ JobName: spec.transform.jobName }))).Job!;
  /** The spec with five workers instead of two: one change, to the job. */
  const withFiveWorkers = (spec: PipelineSpec): PipelineSpec => ({
    ...spec,
    provision: { ...spec.provision, numberOfWorkers: 5 },
  });

  test('creates everything on the first run and reports no changes on the second', async () => {
    const spec = uniqueSalesSpec({ versioning: true });

    const first = await provision({ spec, target, yes: false, log });
    lines.length = 0;
    const second = await provision({ spec, target, yes: false, log });

    assert.equal(first.applied, true);
    // 3 buckets (raw in the primary, curated in both), 2 databases, 3 crawlers, 2 script objects, 1 job
    assert.equal(first.planned, 11);
    assert.deepEqual(second, { planned: 0, applied: false });
    assert.match(lines.join('\n'), /no changes: everything the spec needs is already in place/);
  });

  test('sets up buckets, databases, crawlers and the job as the spec says', async () => {
    const spec = uniqueSalesSpec({ versioning: true });
    await provision({ spec, target, yes: false, log });
    const [primary, replica] = spec.regions as [PipelineSpec['regions'][0], PipelineSpec['regions'][0]];
    const s3 = new S3Client(awsClientConfig(primary.region));

    // Through the replica's own region: S3 answers 301 for a bucket in another region.
    const replicaS3 = new S3Client(awsClientConfig(replica.region));
    const encryption = await replicaS3.send(new GetBucketEncryptionCommand({ Bucket: replica.curatedBucket }));
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: primary.rawBucket }));
    const database = await glue(replica.region).send(new GetDatabaseCommand({ Name: replica.glueDatabase }));
    const rawCrawler = await glue(primary.region).send(new GetCrawlerCommand({ Name: spec.raw.crawler }));
    const curatedCrawler = await glue(replica.region).send(new GetCrawlerCommand({ Name: replica.curatedCrawler }));
    const { Job: job } = await glue(primary.region).send(new GetJobCommand({ JobName: spec.transform.jobName }));

    assert.equal(
      encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      'AES256',
    );
    assert.equal(versioning.Status, 'Enabled');
    assert.equal(database.Database?.Name, replica.glueDatabase);
    assert.deepEqual(
      rawCrawler.Crawler?.Targets?.S3Targets?.map((t) => t.Path),
      [`s3://${primary.rawBucket}/raw/`],
    );
    assert.deepEqual(
      curatedCrawler.Crawler?.Targets?.S3Targets?.map((t) => t.Path),
      [`s3://${replica.curatedBucket}/sales/`],
    );
    // Each crawl reads only the batch folders added since the last, which Glue allows with LOG and LOG only.
    for (const { Crawler: crawler } of [rawCrawler, curatedCrawler]) {
      assert.equal(crawler?.RecrawlPolicy?.RecrawlBehavior, 'CRAWL_NEW_FOLDERS_ONLY');
      assert.deepEqual(
        [crawler?.SchemaChangePolicy?.UpdateBehavior, crawler?.SchemaChangePolicy?.DeleteBehavior],
        ['LOG', 'LOG'],
      );
    }
    assert.equal(job?.Command?.ScriptLocation, `s3://${primary.curatedBucket}/_glueline/scripts/glueline_job.py`);
    assert.equal(job?.GlueVersion, '5.0');
    assert.equal(
      job?.DefaultArguments?.['--extra-py-files'],
      `s3://${primary.curatedBucket}/_glueline/scripts/glueline_transform.zip`,
    );
    const script = await s3.send(
      new GetObjectCommand({ Bucket: primary.curatedBucket, Key: '_glueline/scripts/glueline_job.py' }),
    );
    assert.equal(
      await script.Body!.transformToString(),
      fs.readFileSync(path.join(repoRoot, 'glue', 'glueline_job.py'), 'utf8'),
    );
  });

  test('plans to upload the job script again when it changed, and nothing else', async () => {
    const spec = uniqueSalesSpec();
    await provision({ spec, target, yes: false, log });
    const glueDir = path.join(workRoot, 'glue-changed');
    fs.cpSync(path.join(repoRoot, 'glue'), glueDir, { recursive: true });
    fs.appendFileSync(path.join(glueDir, 'glueline_job.py'), '# changed\n');

    const changes = await planProvisioning(spec, clientsFor(target), { glueDir });

    assert.deepEqual(
      changes.map((c) => `${c.action} ${c.resource}`),
      [`update S3 object s3://${spec.regions[0]!.curatedBucket}/_glueline/scripts/glueline_job.py`],
    );
  });

  test('refuses a bucket that exists in another region before creating anything', async () => {
    const spec = uniqueSalesSpec();
    const primary = spec.regions[0]!;
    const eu = new S3Client(awsClientConfig('eu-west-1'));
    await eu.send(
      new CreateBucketCommand({
        Bucket: primary.curatedBucket,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );

    await assert.rejects(
      provision({ spec, target, yes: false, log }),
      (err: unknown) =>
        err instanceof ProvisionError && /exists in eu-west-1, but the spec puts it in us-east-1/.test(err.message),
    );
    await assert.rejects(
      new GlueClient(awsClientConfig(primary.region)).send(new GetDatabaseCommand({ Name: primary.glueDatabase })),
      { name: 'EntityNotFoundException' },
    );
  });

  test('names the missing permission when a read is denied, before creating anything', async () => {
    const spec = uniqueSalesSpec();
    const primary = spec.regions[0]!;
    await new S3Client(awsClientConfig(primary.region)).send(new CreateBucketCommand({ Bucket: primary.rawBucket }));
    const clients = clientsFor(target);
    const denying = clients.s3(primary.region);
    denying.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetBucketEncryptionCommand') {
          throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        }
        return next(args);
      },
      { step: 'initialize' },
    );

    await assert.rejects(
      planProvisioning(spec, clients),
      (err: unknown) =>
        err instanceof ProvisionError &&
        /access denied \(AccessDenied\)\. The credentials in use need s3:GetEncryptionConfiguration/.test(err.message),
    );
  });

  test('against AWS, prints the plan and changes nothing without --yes', async () => {
    const spec = uniqueSalesSpec();
    // The test stack stands in for AWS: a target without an endpoint is AWS, so point one at the stack
    // through the plan only and check that nothing was applied.
    const outcome = await provision({
      spec,
      target: { ...target, endpoint: undefined, description: 'AWS' },
      yes: false,
      log,
      clients: clientsFor(target),
    });

    assert.deepEqual(outcome, { planned: 11, applied: false });
    assert.match(lines.join('\n'), /Run again with --yes to apply this plan to AWS/);
  });

  test('updates what a changed spec changes, shows each field old and new, and then reports no changes', async () => {
    const spec = uniqueSalesSpec();
    await provision({ spec, target, yes: false, log });
    const [primary, replica] = spec.regions as [PipelineSpec['regions'][0], PipelineSpec['regions'][0]];
    const changed: PipelineSpec = {
      ...spec,
      regions: [primary, { ...replica, glueDatabase: `${replica.glueDatabase}_v2` }],
      raw: { ...spec.raw, prefix: 'incoming/' },
      transform: {
        ...spec.transform,
        timeoutMinutes: spec.transform.timeoutMinutes + 15,
        csv: { ...spec.transform.csv, delimiter: ';' },
      },
      provision: { ...spec.provision, numberOfWorkers: 5, bucketVersioning: true },
    };

    lines.length = 0;
    const second = await provision({ spec: changed, target, yes: false, log });
    const plan = lines.join('\n');
    lines.length = 0;
    const third = await provision({ spec: changed, target, yes: false, log });

    // versioning of 3 buckets, the replica's new database, the raw and the replica's curated crawler, the job
    assert.deepEqual(second, { planned: 7, applied: true });
    for (const line of [
      `  ~ update Glue job ${spec.transform.jobName} (${primary.region}):`,
      '      NumberOfWorkers: 2 → 5',
      `      Timeout: ${spec.transform.timeoutMinutes} → ${changed.transform.timeoutMinutes}`,
      '      DefaultArguments --delimiter: "," → ";"',
      `  ~ update Glue crawler ${spec.raw.crawler} (${primary.region}):`,
      `      Targets.S3Targets: ["s3://${primary.rawBucket}/raw/"] → ["s3://${primary.rawBucket}/incoming/"]`,
      `  + create Glue database ${replica.glueDatabase}_v2 (${replica.region}): catalog database for the crawlers`,
      `  ~ update Glue crawler ${replica.curatedCrawler} (${replica.region}):`,
      `      DatabaseName: "${replica.glueDatabase}" → "${replica.glueDatabase}_v2"`,
      `  ~ update S3 bucket ${replica.curatedBucket} (${replica.region}):`,
      '      versioning: (not set) → "Enabled"',
    ]) {
      assert.ok(plan.split('\n').includes(line), `the plan has the line\n${line}\nin\n${plan}`);
    }
    const job = await jobOf(spec);
    assert.deepEqual(
      [job.NumberOfWorkers, job.Timeout, job.DefaultArguments?.['--delimiter']],
      [5, changed.transform.timeoutMinutes, ';'],
    );
    const rawCrawler = await glue(primary.region).send(new GetCrawlerCommand({ Name: spec.raw.crawler }));
    assert.deepEqual(
      rawCrawler.Crawler?.Targets?.S3Targets?.map((t) => t.Path),
      [`s3://${primary.rawBucket}/incoming/`],
    );
    const curatedCrawler = await glue(replica.region).send(new GetCrawlerCommand({ Name: replica.curatedCrawler }));
    assert.equal(curatedCrawler.Crawler?.DatabaseName, `${replica.glueDatabase}_v2`);
    for (const [region, bucket] of [
      [primary.region, primary.rawBucket],
      [primary.region, primary.curatedBucket],
      [replica.region, replica.curatedBucket],
    ] as const) {
      const versioning = await new S3Client(awsClientConfig(region)).send(
        new GetBucketVersioningCommand({ Bucket: bucket }),
      );
      assert.equal(versioning.Status, 'Enabled', `versioning of ${bucket}`);
    }
    assert.deepEqual(third, { planned: 0, applied: false });
  });

  test('against AWS, plans the updates of a changed spec and applies them only with --yes', async () => {
    const spec = uniqueSalesSpec();
    await provision({ spec, target, yes: false, log });
    const aws = { ...target, endpoint: undefined, description: 'AWS' };
    const run = (yes: boolean) =>
      provision({ spec: withFiveWorkers(spec), target: aws, yes, log, clients: clientsFor(target) });

    const dryRun = await run(false);
    const workersAfterDryRun = (await jobOf(spec)).NumberOfWorkers;
    const applied = await run(true);

    assert.deepEqual(dryRun, { planned: 1, applied: false });
    assert.equal(workersAfterDryRun, 2);
    assert.deepEqual(applied, { planned: 1, applied: true });
    assert.equal((await jobOf(spec)).NumberOfWorkers, 5);
  });

  test('an update AWS denies stops with the permission the credentials need', async () => {
    const spec = uniqueSalesSpec();
    await provision({ spec, target, yes: false, log });

    await assert.rejects(
      new GatewayControl().withFault(
        { target: 'glue:UpdateJob', action: { type: 'deny' }, resource: spec.transform.jobName },
        () => provision({ spec: withFiveWorkers(spec), target, yes: false, log }),
      ),
      (err: unknown) =>
        err instanceof ProvisionError &&
        err.message.startsWith(`could not update Glue job ${spec.transform.jobName} (us-east-1): access denied`) &&
        err.message.includes(
          `The credentials in use need glue:UpdateJob, and iam:PassRole on ${spec.provision.roleArn}.`,
        ),
    );
    assert.equal((await jobOf(spec)).NumberOfWorkers, 2);
  });
  describe('as a command of the CLI', () => {
    const specFileOf = (spec: unknown, name = 'spec.json') => {
      const dir = fs.mkdtempSync(path.join(workRoot, 'cli-'));
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify(spec));
      return file;
    };

    test('provisions a spec file on the stack, then plans nothing', async () => {
      const specFile = specFileOf(uniqueSalesSpec());
      // The stack's Temporal: provision asks it whether a watch of the pipeline is left to stop (none is).
      const provisionOn = () =>
        gluelineProcess(['provision', '--spec', specFile, '--endpoint', stack().aws.endpoint], cliEnv('provision'));

      const first = await provisionOn();
      const second = await provisionOn();

      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /provision: done, 11 changes applied\./);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /no changes: everything the spec needs is already in place/);
      assert.doesNotMatch(first.stdout + second.stdout, /freshness/);
    });

    test("with no target flag, provisions the stack GLUELINE_AWS_ENDPOINT names (glueline devstack env's settings)", async () => {
      const specFile = specFileOf(uniqueSalesSpec());
      // From / (no .devstack there): without the variable the default would be AWS itself.
      const { code, stdout, stderr } = await gluelineInBash(
        `eval "$(glueline devstack env --dir ${shellWord(stackDir)})"\nglueline provision --spec ${shellWord(specFile)}`,
        {},
      );
      assert.equal(code, 0, stdout + stderr);
      assert.match(
        stdout,
        new RegExp(`^provision: spec \\S+, endpoint ${stack().aws.endpoint} \\(GLUELINE_AWS_ENDPOINT\\)$`, 'm'),
      );
      assert.match(stdout, /provision: done, 11 changes applied\./);
    });

    test('with Temporal out of reach, provisions AWS and says the freshness watch was not set up, naming the command', async () => {
      const specFile = specFileOf({ ...uniqueSalesSpec(), freshness: { every: '6h' } });
      // A closed port: nothing answers there.
      const env = { TEMPORAL_ADDRESS: '127.0.0.1:1', GLUELINE_ENV_FILE: 'none' };
      const provisionOn = () =>
        gluelineProcess(['provision', '--spec', specFile, '--endpoint', stack().aws.endpoint], env);

      const first = await provisionOn();
      const second = await provisionOn();

      for (const [run, aws] of [
        [first, /provision: done, 11 changes applied\./],
        [second, /provision: no changes/],
      ] as const) {
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, aws);
        const last = run.stdout.trimEnd().split('\n').at(-1)!;
        assert.ok(
          last.startsWith(
            'provision: the freshness watch (a batch every 6h) was not set up: cannot connect to Temporal at 127.0.0.1:1 ',
          ),
          last,
        );
        assert.ok(last.endsWith(`. Then run \`glueline freshness --spec ${specFile}\`.`), last);
      }
    });

    test('starts the watch of a spec with a freshness section, updates it when the section changes, stops it when it is gone', async () => {
      const cli = await startCliWorker(unique('prov'));
      try {
        const spec: PipelineSpec = { ...uniqueSalesSpec(), name: unique('prov').toLowerCase() };
        const specFile = specFileOf({ ...spec, freshness: { every: '6h' } });
        const watchId = freshnessWorkflowId(spec.name);
        const provisionOn = () => glueline('provision', '--spec', specFile, '--endpoint', stack().aws.endpoint);
        const stateOf = () => cli.client.workflow.getHandle(watchId).query<FreshnessState>(FRESHNESS_QUERY);

        const started = await provisionOn();
        assert.equal(started.code, 0, started.stderr);
        const lines = started.stdout.split('\n');
        assert.ok(lines.includes('provision: done, 11 changes applied.'), started.stdout);
        assert.equal(lines.at(-2), `provision: started the freshness watch ${watchId}: a batch every 6h`);
        assert.match(lines.at(-1)!, new RegExp(`^provision: in the Temporal UI: http\\S+/workflows/${watchId}/`));
        const described = await cli.client.workflow.getHandle(watchId).describe();
        assert.equal(described.type, FRESHNESS_WORKFLOW);
        assert.equal(described.status.name, 'RUNNING');
        assert.equal(described.typedSearchAttributes.get(SearchAttributeKeys.pipeline), spec.name);
        const first = await pollUntil(
          () => stateOf().catch(() => undefined),
          (s) => s !== undefined,
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        assert.equal(first!.rule, 'every 6h');

        fs.writeFileSync(specFile, JSON.stringify({ ...spec, freshness: { by: '07:00', timeZone: 'Europe/Berlin' } }));
        const updated = await provisionOn();
        assert.equal(updated.code, 0, updated.stderr);
        assert.match(updated.stdout, /provision: no changes/);
        assert.ok(
          updated.stdout.includes(`provision: updated the freshness watch ${watchId}: a batch by 07:00 Europe/Berlin`),
          updated.stdout,
        );
        // The running watch took the new settings (a continue-as-new with them).
        await pollUntil(
          () => stateOf().catch(() => undefined),
          (s) => s?.rule === 'by 07:00 Europe/Berlin',
          { timeoutMs: 60_000, intervalMs: 250 },
        );

        fs.writeFileSync(specFile, JSON.stringify(spec));
        const stopped = await provisionOn();
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.equal(
          stopped.stdout.trimEnd().split('\n').at(-1),
          `provision: stopped the freshness watch ${watchId}: the spec has no freshness section`,
        );
        const state = (await cli.client.workflow.getHandle(watchId).result()) as FreshnessState;
        assert.equal(state.rule, 'by 07:00 Europe/Berlin');
        // Nothing to stop any more: provision says nothing of freshness.
        const again = await provisionOn();
        assert.equal(again.code, 0, again.stderr);
        assert.doesNotMatch(again.stdout, /freshness/);
      } finally {
        await cli.stop();
      }
    });

    test('exits 2 on a bad spec, a bad flag or two targets, naming the fix; 0 on --help', async () => {
      const good = specFileOf(uniqueSalesSpec());
      const badSpec = specFileOf({ ...uniqueSalesSpec(), regions: [] });
      const endpoint = stack().aws.endpoint;

      const [spec, workers, targets, help] = await Promise.all([
        gluelineProcess(['provision', '--spec', badSpec, '--endpoint', endpoint], {}),
        glueline('provision', '--spec', good, '--endpoint', endpoint, '--workers', '1'),
        glueline('provision', '--spec', good, '--endpoint', endpoint, '--aws'),
        glueline('provision', '--help'),
      ]);

      assert.equal(spec.code, 2, spec.stderr);
      assert.match(spec.stderr, /^glueline provision: .*spec\.json is not valid:/);
      assert.match(spec.stderr, /regions: \[\] must list at least one region/);
      assert.equal(workers.code, 2, workers.stderr);
      assert.match(workers.stderr, /numberOfWorkers/);
      assert.equal(targets.code, 2, targets.stderr);
      assert.match(targets.stderr, /use only one of --endpoint, --stack-dir and --aws \(got --endpoint, --aws\)/);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^usage: glueline provision --spec <file>/);
    });
  });
});
