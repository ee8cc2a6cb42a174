/**
 * Issue 8, worker crashes and secrets: several csvPipeline runs (one of them with a Glue job that fails, so a
 * failure email and webhook go out) while the worker process is SIGKILLed again and again: right after the
 * gateway counts a run's StartJobRun (before its result is recorded), while Glue jobs are being waited for,
 * while replica copies run, and at random moments. The worker holds an SMTP password, an AWS secret key and a
 * webhook token; afterwards every history, the worker's, gateway's and Temporal server's logs and every email and
 * webhook body are scanned for them (support.ts's scanScenario, as in every scenario).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { primaryRegion, replicaRegions } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { unique } from '../../devstack/testkit/stack';
import {
  KillableWorker,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  refreshExecutions,
  reliabilitySpec,
  scanScenario,
  scenarioPlaces,
  secretWorkerEnv,
  secrets,
  sinkMessages,
  startWebhookReceiver,
  temporalClient,
  withOwnJob,
} from './support';

const RUNS = mode === 'full' ? 10 : 3;
const RANDOM_KILLS = mode === 'full' ? 14 : 1;
/**
 * Scripted Glue run length: in full mode the runs are spread out, so the kills land in different steps of
 * different runs (the held curated crawl, not these lengths, keeps runs open until the last kill).
 */
const GLUE_SECONDS = mode === 'full' ? 30 : 6;
const GLUE_STAGGER_SECONDS = mode === 'full' ? 20 : 2;
const RANDOM_DELAY_MS = mode === 'full' ? 8_000 : 20_000;
/** Kills cost a heartbeat or start-to-close timeout (2 min) each; runs overlap so the waits do too. */
const TIMEOUT_MS = mode === 'full' ? 3_600_000 : 900_000;

interface Run {
  spec: PipelineSpec;
  batch: Batch;
  workflowId: string;
  fails: boolean;
}

describe(`worker crashes (${mode}): SIGKILL at random points, restart each time`, () => {
  const gateway = new GatewayControl();
  const taskQueue = unique('rel-crash');
  const runs: Run[] = [];
  const outcomes = new Map<string, 'completed' | 'failed'>();
  const killPoints: string[] = [];
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let base: PipelineSpec;
  let mailsBefore: number;

  before(
    async () => {
      webhook = await startWebhookReceiver();
      base = reliabilitySpec(webhook.url);
      await provisionQuietly(base);
      // The primary's curated crawl (shared by every run) stays RUNNING until the kills are done: the runs that
      // get that far wait there, so runs are still open for every planned kill however fast the machine is.
      const primary = primaryRegion(base);
      await gateway.scriptCrawls(primary.curatedCrawler, [{ status: 'RUNNING' }], primary.region);
      mailsBefore = (await sinkMessages()).length;
      for (let i = 0; i < RUNS; i++) {
        const spec = withOwnJob(base, `r${i}`);
        await provisionQuietly(spec);
        const batch = await landBatch(spec, `b${i}`);
        // The last run's job fails: a failed run among the crashes, whose notification must go out once.
        const fails = i === RUNS - 1;
        await gateway.scriptJobRuns(spec.transform.jobName, [
          fails
            ? { state: 'FAILED', errorMessage: 'scripted failure: bad input row', afterSeconds: 6 }
            : { state: 'SUCCEEDED', afterSeconds: GLUE_SECONDS + i * GLUE_STAGGER_SECONDS },
        ]);
        runs.push({ spec, batch, workflowId: pipelineWorkflowId(spec, batch) + `-${i}`, fails });
      }
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();

      for (const run of runs) {
        await client.workflow.start('csvPipeline', {
          taskQueue,
          workflowId: run.workflowId,
          args: [{ spec: run.spec, batch: run.batch }],
        });
      }
      const results = Promise.all(
        runs.map((run) =>
          client.workflow
            .getHandle(run.workflowId)
            .result()
            .then(
              () => outcomes.set(run.workflowId, 'completed'),
              () => outcomes.set(run.workflowId, 'failed'),
            ),
        ),
      );
      const open = () => outcomes.size < runs.length;
      const counts = (prefix: string) => gateway.counts(prefix);
      const count = async (prefix: string, op: string) => (await counts(prefix))[op]?.count ?? 0;

      /** Waits (up to `limitMs`) for `ready`; kills and restarts the worker if the runs are still open. */
      const killWhen = async (label: string, ready: () => Promise<boolean>, limitMs = 120_000) => {
        for (const end = Date.now() + limitMs; open() && Date.now() < end && !(await ready());) await sleep(100);
        if (!open()) return;
        killPoints.push(label);
        await worker.replace('SIGKILL');
      };

      // Between StartJobRun and its result: the moment the gateway has counted a run's StartJobRun.
      for (const run of runs.slice(0, Math.max(1, Math.ceil(runs.length / 3)))) {
        await killWhen(
          `after StartJobRun of ${run.spec.transform.jobName}`,
          async () => (await count(run.spec.transform.jobName, 'glue:StartJobRun')) > 0,
        );
      }
      // During a Glue wait: once a run's job is being polled.
      const waiting = runs.at(-2) ?? runs[0]!;
      await killWhen(
        `during the Glue wait of ${waiting.spec.transform.jobName}`,
        async () => (await count(waiting.spec.transform.jobName, 'glue:GetJobRun')) > 0,
      );
      // During copies: once any replica copy has been counted.
      const replicaBucket = replicaRegions(base)[0]!.curatedBucket;
      const copiesSeen = await count(replicaBucket, 's3:CopyObject');
      await killWhen('during replica copies', async () => (await count(replicaBucket, 's3:CopyObject')) > copiesSeen);
      for (let k = 0; k < RANDOM_KILLS && open(); k++) {
        const delayMs = 1_000 + Math.floor(Math.random() * RANDOM_DELAY_MS);
        await killWhen(`random, ${delayMs} ms after the last restart`, () => sleep(delayMs).then(() => true));
      }
      // The kills are done: the held crawl may end, once a run has started it (ending it sooner would leave the
      // scripted RUNNING crawl for later, and no one to end it).
      await pollUntil(
        () => gateway.endCrawl(primary.curatedCrawler, { status: 'SUCCEEDED' }, primary.region),
        (ended) => ended,
        { timeoutMs: TIMEOUT_MS, intervalMs: 1_000 },
      );
      await results;
    },
    { timeout: TIMEOUT_MS },
  );

  after(async () => {
    await worker?.stop();
    await connection?.close();
    await webhook?.close();
  });

  test('the worker was killed at every planned point while runs were open', () => {
    recordFigure('crashes', { kills: worker.kills, runs: runs.length });
    assert.ok(worker.kills >= (mode === 'full' ? 20 : 3), `${worker.kills} kills: ${killPoints.join('; ')}`);
  });

  test('every run ends: the scripted failure fails, every other run completes', () => {
    for (const run of runs)
      assert.equal(outcomes.get(run.workflowId), run.fails ? 'failed' : 'completed', run.workflowId);
    recordFigure('crashes', { completed: [...outcomes.values()].filter((o) => o === 'completed').length });
  });

  test('exactly one glue:StartJobRun per pipeline run', async () => {
    let duplicates = 0;
    for (const run of runs) {
      const starts = (await gateway.counts(run.spec.transform.jobName))['glue:StartJobRun'];
      // A faulted request never reached Glue; the count of those that did must be exactly one.
      const started = (starts?.count ?? 0) - (starts?.faulted ?? 0);
      duplicates += Math.max(0, started - 1);
      assert.equal(started, 1, `${run.workflowId}: ${started} StartJobRun`);
    }
    recordFigure('crashes', { duplicateJobRuns: duplicates });
  });

  test("exactly one execution of each region's refresh SQL per completed run", async () => {
    let duplicates = 0;
    for (const region of base.regions) {
      const executions = await refreshExecutions(base, region.region);
      for (const run of runs.filter((r) => !r.fails)) {
        const n = executions.get(run.batch.id) ?? 0;
        duplicates += Math.max(0, n - 1);
        assert.equal(n, 1, `${run.batch.id} in ${region.region}`);
      }
    }
    recordFigure('crashes', { duplicateStatements: duplicates });
  });

  test('the failed run sent exactly one email and one webhook call', async () => {
    const failed = runs.filter((r) => r.fails);
    const mails = (await sinkMessages()).slice(mailsBefore);
    let emails = 0;
    for (const run of failed) {
      const mine = mails.filter((m) => m.text.includes(run.workflowId) || m.subject.includes(run.batch.id));
      emails += mine.length;
      assert.equal(mine.length, 1, `emails for ${run.workflowId}: ${mine.map((m) => m.subject).join(' | ')}`);
      assert.equal(webhook.requests.filter((r) => r.body.includes(run.workflowId)).length, 1);
      assert.equal(webhook.requests[0]?.authorization, `Bearer ${secrets.webhookToken}`);
    }
    recordFigure('crashes', { failedRuns: failed.length, emailsPerFailedRun: emails / failed.length });
  });

  test('no secret in any history, the worker, gateway or server log, or any email or webhook body', async () => {
    // The one scan every scenario uses (support.ts), with what only this scenario has: its emails and webhooks.
    const places = scenarioPlaces(
      runs.map((r) => r.workflowId),
      worker.logFile,
    );
    for (const m of await sinkMessages()) places.push([`email '${m.subject}'`, JSON.stringify(m)]);
    for (const r of webhook.requests) places.push(['webhook body', r.body]);
    // The scan must see what it scans: the payloads decoded (the webhook URL is only in the input).
    assert.ok(places[0]![1].includes(webhook.url), 'payloads were decoded');
    const found = scanScenario('crashes', places, runs[0]!.workflowId);
    recordFigure('secrets', { scanned: places.length, secretsFound: found.length });
    assert.deepEqual(found, []);
  });
});
