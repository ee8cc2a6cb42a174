/**
 * Freshness deadlines (issue 18) on the local stack: a worker process, the Temporal dev server and the SMTP sink.
 * A pipeline with one good batch gets a watch with a 20-second window (`glueline freshness`); a window with no
 * batch sends one no-data email naming the good batch, a late batch sends one data-is-back email, `glueline health`
 * shows the watch's state and each batch's figures in text and JSON (and, with the worker stopped, the state from
 * the watch's memo), and a spec without the section stops the watch. Every wait is for a
 * condition (an email in the sink, a run's end), never for a time.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import { FRESHNESS_MEMO, freshnessWorkflowId, type FreshnessState } from '../../src/workflow-safe/freshness';
import type { BatchHealth } from '../../src/starters/health';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Client } from '@temporalio/client';
import { glueline, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { MailSinkControl, type SinkMessage } from '../../devstack/testkit/mail-sink';
import { pollUntil } from '../../devstack/testkit/poll';
import { landBatch, reliabilitySpec } from '../../devstack/testkit/scripted-pipeline';
import { provisionQuietly } from '../../devstack/testkit/spec';
import { unique } from '../../devstack/testkit/stack';
import {
  stackWorkerEnv,
  startWorker,
  stopWorker,
  waitForOutput,
  type WorkerProcess,
} from '../../devstack/testkit/worker-process';

/** Generous: windows pass every 20 s, but a loaded 2-core machine may take minutes to run a batch. */
const WAIT_MS = 300_000;

describe('freshness watch end to end (issue 18)', () => {
  const gateway = new GatewayControl();
  const sink = new MailSinkControl();
  const taskQueue = unique('fresh');
  let spec: PipelineSpec;
  let specFile: string;
  let cli: CliWorker | undefined;
  /** The worker started again after the memo test stopped the first one. */
  let restarted: WorkerProcess | undefined;
  let client: Client;

  /** Runs one batch to completion (the Glue job scripted to succeed). */
  async function completeBatch(id: string): Promise<void> {
    const batch = await landBatch(spec, id);
    await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 1 }]);
    const handle = await client.workflow.start('csvPipeline', {
      taskQueue,
      workflowId: pipelineWorkflowId(spec, batch),
      args: [{ spec, batch }],
    });
    await handle.result();
  }

  const mailsOf = async (subject: string): Promise<SinkMessage[]> =>
    (await sink.messages()).filter((m) => m.subject.includes(subject));

  before(
    async () => {
      const base = reliabilitySpec();
      spec = {
        ...base,
        // A name of its own: health lists every run of the name, and the watch's workflow id is made of it.
        name: unique('fresh'),
        transform: { ...base.transform, jobName: `${base.transform.jobName}-fresh` },
        freshness: { every: '20s', timeZone: 'UTC' },
        // A refresh that replaces the batch's 2 rows: the default reconciliation counts them, for health's figures.
        redshift: {
          ...base.redshift!,
          sql: [
            'create table if not exists fresh_rows (batch_id varchar(63), n int)',
            "delete from fresh_rows where batch_id = '${batch_id}'",
            "insert into fresh_rows values ('${batch_id}', 1), ('${batch_id}', 2)",
          ],
        },
      };
      await provisionQuietly(spec);
      specFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-fresh-')), 'spec.json');
      fs.writeFileSync(specFile, JSON.stringify(spec));
      // Bundling the workflows alone takes half a minute when the machine is busy.
      cli = await startCliWorker(taskQueue, {}, { startTimeoutMs: WAIT_MS });
      client = cli.client;
      await completeBatch('good');
    },
    { timeout: WAIT_MS },
  );

  after(async () => {
    if (restarted) await stopWorker(restarted);
    await cli?.stop();
  });

  test('a missed window: one no-data email naming the last good batch; a late batch: one data-back email', async () => {
    const started = await glueline('freshness', '--spec', specFile);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`started the freshness watch ${freshnessWorkflowId(spec.name)}`));
    const noData = `no data: ${spec.name} had no batch completed`;
    const [missed] = await pollUntil(
      () => mailsOf(noData),
      (m) => m.length > 0,
      { timeoutMs: WAIT_MS, intervalMs: 500 },
    );
    assert.match(missed!.subject, /\(last good batch good\)$/);
    assert.match(missed!.text, /Found: NoBatchStarted/);
    assert.match(missed!.text, /no run started; the last good batch is good \(completed /);
    assert.equal(missed!.headers['x-glueline-kind'], 'freshness-missed');

    await completeBatch('late');
    const back = `data is back: ${spec.name} batch late completed`;
    const [backMail] = await pollUntil(
      () => mailsOf(back),
      (m) => m.length > 0,
      { timeoutMs: WAIT_MS, intervalMs: 500 },
    );
    assert.match(backMail!.text, /after \d+ missed window\(s\)/);
    // A window judged after the data-back email: the watch has moved on from the streak it told about.
    await pollUntil(
      async () => (await glueline('health', '--pipeline', spec.name, '--json')).stdout,
      (out) => {
        const state = (JSON.parse(out) as { freshness: FreshnessState | null }).freshness;
        return state !== null && state.lastDeadline !== undefined && state.lastDeadline > backMail!.receivedAt;
      },
      { timeoutMs: WAIT_MS, intervalMs: 1000 },
    );
    assert.equal((await mailsOf(back)).length, 1);
    // One email per missed window: no Message-ID twice, each naming a window of its own.
    const perId = await sink.deliveriesById((m) => m.subject.includes(noData));
    assert.ok(
      [...perId.values()].every((n) => n === 1),
      JSON.stringify([...perId]),
    );
    const deadlines = (await mailsOf(noData)).map((m) => /completed by (\S+)/.exec(m.subject)![1]);
    assert.equal(new Set(deadlines).size, deadlines.length);
  });

  test('health shows the watch: the rule, the last good batch and the next deadline, in text and JSON', async () => {
    const json = await glueline('health', '--pipeline', spec.name, '--json');
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { pipeline: string; freshness: FreshnessState; batches: BatchHealth[] };
    assert.equal(doc.pipeline, spec.name);
    assert.equal(doc.freshness.rule, 'every 20s');
    assert.equal(doc.freshness.lastGood?.batchId, 'late');
    assert.ok(Date.parse(doc.freshness.nextDeadline) % 20_000 === 0, doc.freshness.nextDeadline);
    assert.equal(doc.freshness.fromMemo, undefined);
    // Each batch with its figures: 2 rows in and out, none rejected, both regions reconciled, and its duration.
    const regions = spec.regions.map((r) => r.region);
    assert.deepEqual(
      doc.batches.map((b) => ({
        batchId: b.batchId,
        status: b.status,
        rows: [b.rowsIn, b.rowsOut, b.rowsRejected, b.rejectedRatio],
        reconciliation: b.reconciliation.map((r) => [r.region, r.actualRows, r.expectedRows, r.matched]),
        warnings: b.warnings,
        failedStep: b.failedStep,
      })),
      ['late', 'good'].map((batchId) => ({
        batchId,
        status: 'succeeded',
        rows: [2, 2, 0, 0],
        reconciliation: regions.map((r) => [r, 2, 2, true]),
        warnings: [],
        failedStep: undefined,
      })),
    );
    for (const b of doc.batches) {
      const run = await client.workflow.getHandle(b.workflowId, b.runId).describe();
      assert.equal(b.durationMs, run.closeTime!.getTime() - run.startTime.getTime());
    }
    const text = await glueline('health', '--pipeline', spec.name);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    assert.match(
      lines[0]!,
      /^freshness: a batch every 20s: (fresh|MISSED \d+ window\(s\)); last good batch late \(completed \S+\); next deadline \S+$/,
    );
    assert.match(text.stdout, new RegExp(`pipeline ${spec.name}: the 2 most recent batch run\\(s\\), newest first`));
    assert.match(text.stdout, /\nlate {2}succeeded {2}.*rows 2 in, 2 out, 0 rejected \(0\.0%\)/);
  });

  test('with no worker running, health shows the state the watch last wrote to its memo, and says so', async () => {
    await stopWorker(cli!.worker);
    try {
      const json = await glueline('health', '--pipeline', spec.name, '--json');
      assert.equal(json.code, 0, json.stderr);
      const doc = JSON.parse(json.stdout) as { freshness: FreshnessState; batches: BatchHealth[] };
      const { fromMemo, ...state } = doc.freshness;
      assert.equal(fromMemo, true);
      const described = await client.workflow.getHandle(freshnessWorkflowId(spec.name)).describe();
      assert.equal(described.status.name, 'RUNNING');
      assert.deepEqual(state, described.memo?.[FRESHNESS_MEMO]);
      assert.equal(state.rule, 'every 20s');
      assert.equal(state.lastGood?.batchId, 'late');
      assert.equal(state.back?.batchId, 'late');
      // The batches still come from visibility and the completed runs' results.
      assert.deepEqual(
        doc.batches.map((b) => [b.batchId, b.status, b.rowsOut]),
        [
          ['late', 'succeeded', 2],
          ['good', 'succeeded', 2],
        ],
      );
      const text = await glueline('health', '--pipeline', spec.name);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^freshness: a batch every 20s: .*; last good batch late /);
      assert.match(text.stdout, /\n {2}\(from the watch's memo: no worker answered its query/);
    } finally {
      restarted = startWorker(stackWorkerEnv(taskQueue));
      await waitForOutput(restarted, 'glueline worker started', WAIT_MS);
    }
  });

  test('a spec without the section stops the watch', async () => {
    const { freshness: _, ...without } = spec;
    fs.writeFileSync(specFile, JSON.stringify(without));
    const stopped = await glueline('freshness', '--spec', specFile);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped the freshness watch/);
    const state = (await client.workflow.getHandle(freshnessWorkflowId(spec.name)).result()) as FreshnessState;
    assert.equal(state.lastGood?.batchId, 'late');
    const again = await glueline('freshness', '--spec', specFile);
    assert.match(again.stdout, /no freshness watch/);
    const health = await glueline('health', '--pipeline', spec.name);
    assert.match(health.stdout, /^freshness: no watch/);
  });
});
