/**
 * The S3-event Lambda's start-up (#14 finding 7): a failed initialisation is not kept for the container's life.
 * One process plays one Lambda container: its first invocation fails (no spec file named), the setting is
 * fixed, and the next invocation connects to the test stack's Temporal and handles its event.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { stack } from '../../devstack/testkit/stack';

/** Runs the handler twice in one process, fixing GLUELINE_SPEC_FILE between; prints each outcome as JSON. */
const CONTAINER = `
const { handler } = require('./src/starters/s3-events-lambda');
const event = { Records: [{ messageId: 'm-1', body: JSON.stringify({ Event: 's3:TestEvent' }) }] };
(async () => {
  const outcomes = [];
  for (const spec of [undefined, process.env.SPEC_FOR_SECOND]) {
    if (spec) process.env.GLUELINE_SPEC_FILE = spec;
    try {
      outcomes.push({ ok: await handler(event) });
    } catch (err) {
      outcomes.push({ error: String(err) });
    }
  }
  console.log(JSON.stringify(outcomes));
  process.exit(0);
})();
`;

describe('the S3-event Lambda handler', () => {
  test('a failed initialisation is tried again on the next invocation, not kept', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: stack().temporal.address,
      TEMPORAL_NAMESPACE: stack().temporal.namespace,
      SPEC_FOR_SECOND: path.join(repoRoot, 'specs', 'local-sales.yaml'),
    };
    delete env.GLUELINE_SPEC_FILE;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', CONTAINER], {
      cwd: repoRoot,
      env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    const outcomes = JSON.parse(out.trim().split('\n').pop()!) as { ok?: unknown; error?: string }[];
    assert.match(outcomes[0]!.error ?? '', /GLUELINE_SPEC_FILE is not set/);
    assert.deepEqual(outcomes[1], { ok: { batchItemFailures: [] } });
  });
});
