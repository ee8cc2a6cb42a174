/**
 * Issue 8, Temporal server restart: several runs are in flight (one in its Glue wait, one in a replica copy
 * held open by the gateway) on a Temporal dev server of this scenario's own (its own SQLite file and free
 * ports, so the stack other tests share is never disturbed). The server is SIGKILLed (the first cycle: no
 * graceful shutdown, as a crash or an OOM kill) or stopped, stays down for a while, and is started again on the
 * same file and ports. The worker process must ride it out (it is never
 * restarted), and every run must complete with exactly one StartJobRun and one refresh per region.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { startTemporalServer, type TemporalServer } from '../../devstack/stack';
import { replicaRegions } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { stackDir, unique } from '../../devstack/testkit/stack';
import {
  secretWorkerEnv,
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  refreshExecutions,
  reliabilitySpec,
  temporalClient,
  withOwnJob,
  ScenarioRules,
} from './support';

const RESTARTS = mode === 'full' ? 3 : 1;
/** How long the server stays down each time. */
const DOWN_SECONDS = mode === 'full' ? 30 : 10;
/** The Glue wait outlasts the restarts; the copy is held open by the gateway while the server goes down. */
const GLUE_SECONDS = 20 + RESTARTS * (DOWN_SECONDS + 15);
const COPY_LATENCY_MS = (DOWN_SECONDS + 5) * 1000;

interface Run {
  spec: PipelineSpec;
  batch: Batch;
  workflowId: string;
}

describe(`Temporal server restart (${mode}): runs in flight, the worker rides it out`, () => {
  const gateway = new GatewayControl();
  /** Removed after the file, fired or not. */
  const rules = new ScenarioRules(gateway);
  const taskQueue = unique('rel-restart');
  const runs: Run[] = [];
  const outcomes = new Map<string, string>();
  let server: TemporalServer;
  let serverDir: string;
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let base: PipelineSpec;
  let restarts = 0;
  let sigkills = 0;
  let workerAliveWhileDown = true;

  before(
    async () => {
      serverDir = path.join(stackDir, unique('temporal-restart'));
      server = await startTemporalServer(serverDir);
      base = reliabilitySpec();
      await provisionQuietly(base);
      // Run 0 waits on a long Glue job; run 1's job ends at once, so it is copying when the server goes down.
      for (const [i, seconds] of [GLUE_SECONDS, 1].entries()) {
        const spec = withOwnJob(base, `restart${i}`);
        await provisionQuietly(spec);
        const batch = await landBatch(spec, unique(`br${i}`));
        await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: seconds }]);
        runs.push({ spec, batch, workflowId: unique(pipelineWorkflowId(spec, batch)) });
      }
      const replicaBucket = replicaRegions(base)[0]!.curatedBucket;
      await rules.add({
        target: 's3:CopyObject',
        resource: replicaBucket,
        action: { type: 'latency', ms: COPY_LATENCY_MS },
        count: 1,
      });
      // A worker holding every secret, on this scenario's own server.
      worker = new KillableWorker(
        {
          ...secretWorkerEnv(taskQueue),
          TEMPORAL_ADDRESS: server.endpoints.address,
          GLUELINE_TEMPORAL_UI_URL: server.endpoints.uiUrl,
        },
        taskQueue,
      );
      await worker.start();
      ({ client, connection } = await temporalClient(server.endpoints));
      for (const run of runs) {
        await client.workflow.start('csvPipeline', {
          taskQueue,
          workflowId: run.workflowId,
          args: [{ spec: run.spec, batch: run.batch }],
        });
      }
      const count = async (resource: string, op: string) => (await gateway.counts(resource))[op]?.count ?? 0;
      await pollUntil(
        async () =>
          (await count(runs[0]!.spec.transform.jobName, 'glue:GetJobRun')) > 0 &&
          (await count(replicaBucket, 's3:CopyObject')) > 0,
        (ready) => ready,
        { timeoutMs: 180_000, intervalMs: 200 },
      );
      for (let i = 0; i < RESTARTS; i++) {
        // The first cycle is a crash: whatever the server had not yet written to SQLite is lost with it.
        if (i === 0) {
          await server.kill();
          sigkills++;
        } else await server.stop();
        await sleep(DOWN_SECONDS * 1000);
        workerAliveWhileDown &&= worker.running;
        await server.start();
        restarts++;
      }
      // A new connection: the one from before the restarts may still be backing off.
      await connection.close();
      ({ client, connection } = await temporalClient(server.endpoints));
      await Promise.all(
        runs.map((run) =>
          client.workflow
            .getHandle(run.workflowId)
            .result()
            .then(
              () => outcomes.set(run.workflowId, 'completed'),
              (err: Error) => outcomes.set(run.workflowId, `failed: ${err.message}`),
            ),
        ),
      );
    },
    { timeout: 900_000 },
  );

  after(async () => {
    await rules.removeAll();
    await worker?.stop();
    await connection?.close();
    await server?.stop();
  });

  test('the worker process survived every restart without being restarted itself', () => {
    assert.equal(restarts, RESTARTS);
    assert.ok(sigkills >= 1, 'at least one restart cycle SIGKILLs the server');
    assert.equal(workerAliveWhileDown, true, `the worker exited while the server was down:\n${worker.output()}`);
    assert.equal(worker.running, true, `the worker exited:\n${worker.output()}`);
    assert.equal(worker.kills, 0);
    recordFigure('restart', { serverRestarts: restarts, serverSigkills: sigkills, downSeconds: DOWN_SECONDS });
  });

  test('every run in flight completed', () => {
    for (const run of runs) assert.equal(outcomes.get(run.workflowId), 'completed', run.workflowId);
    recordFigure('restart', {
      restartRuns: runs.length,
      restartCompleted: [...outcomes.values()].filter((o) => o === 'completed').length,
    });
  });

  test('exactly one StartJobRun per run, and one refresh per run and region', async () => {
    let duplicates = 0;
    for (const run of runs) {
      const started = (await gateway.counts(run.spec.transform.jobName))['glue:StartJobRun']?.count ?? 0;
      duplicates += Math.max(0, started - 1);
      assert.equal(started, 1, run.workflowId);
    }
    for (const region of base.regions) {
      const executions = await refreshExecutions(base, region.region);
      for (const run of runs) {
        const n = executions.get(run.batch.id) ?? 0;
        duplicates += Math.max(0, n - 1);
        assert.equal(n, 1, `${run.batch.id} in ${region.region}`);
      }
    }
    recordFigure('restart', { restartDuplicates: duplicates });
  });

  test("no secret in any history, the worker's or the gateway's log, or the crashed server's", async () => {
    await worker.stop();
    const ids = runs.map((r) => r.workflowId);
    const places = scenarioPlaces(ids, worker.logFile, {
      temporal: server.endpoints,
      serverLog: path.join(serverDir, 'logs', 'temporal.log'),
    });
    assert.deepEqual(scanScenario('restart', places, ids[0]!), []);
  });
});
