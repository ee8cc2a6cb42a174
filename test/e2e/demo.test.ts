/**
 * `npm run demo -- --dir <stack dir>` typed in another directory, as a user with a stack of their own runs it: the
 * relative --dir is taken from where the command was typed (npm's INIT_CWD), the running stack there is reused (not
 * a second one started), and everything the demo does lands on that stack: its Temporal holds the run, its gateway
 * served the provisioning and the run's S3 calls, its mail sink got the failure email.
 *
 * The demo runs with `--fail-at stage-raw` (an empty batch): the narrowest real path through all of the demo's
 * stages (stack, provision, worker, upload, run, mail) that needs no Spark job. Measured on the shared 2-core machine:
 * this path 41 s, the full demo 2m22s (its local Spark transform alone 1m31s), through the same endpoints.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { outputOf } from '../../devstack/testkit/cli';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { MailSinkControl } from '../../devstack/testkit/mail-sink';
import { stack, stackClient, stackDir } from '../../devstack/testkit/stack';
import { loadSpecFile } from '../../src/starters/spec-file';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import { primaryRegion } from '../../src/workflow-safe/layout';
import type { ConnectedClient } from '../../src/temporal/connection';

/** `npm --prefix <checkout> run demo -- ...args` typed in `cwd` (npm sets INIT_CWD to it). */
const npmDemo = (cwd: string, args: string[]) =>
  outputOf('npm', ['--prefix', repoRoot, 'run', 'demo', '--', ...args], {}, cwd);

describe('npm run demo -- --dir, from another directory', () => {
  const spec = loadSpecFile(path.join(repoRoot, 'specs', 'local-sales.yaml'));
  const rawBucket = primaryRegion(spec).rawBucket;
  const gateway = new GatewayControl();
  let cwd: string;
  let connected: ConnectedClient;

  before(async () => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-demo-'));
    connected = await stackClient();
    await gateway.resetCounts(rawBucket);
  });

  after(async () => {
    await connected?.connection.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  test('uses the stack --dir names: its Temporal, gateway and mail sink', async () => {
    const before = new Set(fs.readdirSync(path.dirname(stackDir)));
    const dirArg = path.relative(cwd, stackDir);
    assert.ok(!path.isAbsolute(dirArg) && dirArg.startsWith('..'), `a relative --dir: ${dirArg}`);
    const { code, stdout, stderr } = await npmDemo(cwd, ['--dir', dirArg, '--fail-at', 'stage-raw']);
    assert.equal(code, 0, `${stdout}\n${stderr}`);

    // The endpoints it printed are the test stack's (not .devstack's default ports), and no other stack was made.
    const s = stack();
    assert.ok(stdout.includes(`Temporal ${s.temporal.address}, AWS ${s.aws.endpoint}, mail ${s.smtp.uiUrl}`), stdout);
    assert.deepEqual(new Set(fs.readdirSync(path.dirname(stackDir))), before, 'a stack folder appeared or went');
    assert.ok(fs.existsSync(path.join(stackDir, 'logs', 'demo-worker.log')), "the worker's log in the stack's folder");

    // The run is on the stack's Temporal, failed at stage-raw as asked.
    const batchId = /as batch (demo-\d+)/.exec(stdout)?.[1];
    assert.ok(batchId, stdout);
    const handle = connected.client.workflow.getHandle(pipelineWorkflowId(spec, { id: batchId }));
    assert.equal((await handle.describe()).status.name, 'FAILED');
    assert.match(stdout, /The run failed, as asked, at stage-raw/);

    // Its gateway served the provisioning of the raw bucket and the run's look at the batch's (empty) prefix.
    const counts = await gateway.counts(rawBucket);
    assert.ok(counts['s3:ListObjectsV2']?.count, JSON.stringify(counts));
    assert.ok(counts['s3:CreateBucket']?.count ?? counts['s3:HeadBucket']?.count, JSON.stringify(counts));

    // Its mail sink holds the failure email about the batch.
    const mail = (await new MailSinkControl().messages()).filter(
      (m) => m.subject.includes(batchId) || m.text.includes(batchId),
    );
    assert.equal(mail.length, 1, `mails about ${batchId}`);
    assert.match(stdout, /The failure email arrived/);
  });
});
