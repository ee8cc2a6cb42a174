/**
 * Issue 15, kills in the exact windows: the gateway serves a request (the Glue run starts, the refresh statement
 * is submitted), holds its response, and the worker is SIGKILLed while it waits for that response; a new worker
 * starts, the response is released into the dead connection. The retry must find the Glue run by its tag and
 * get the same statement id through its ClientToken, so the run has one job run and one refresh per region.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetJobRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import { ListStatementsCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Client, Connection } from '@temporalio/client';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import {
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  activityAttempts,
  completedActivities,
  killWhileHeld,
  recordHeldWindow,
  type HeldKill,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  refreshExecutions,
  reliabilitySpec,
  secretWorkerEnv,
  temporalClient,
  withOwnJob,
  ScenarioRules,
} from './support';

/** Long enough for a kill's heartbeat or start-to-close timeout (30 s in the reliability spec), twice over. */
const TIMEOUT_MS = 600_000;

describe(`held-response kills (${mode}): SIGKILL while StartJobRun's and the refresh's responses are held`, () => {
  const gateway = new GatewayControl();
  /** Removed after the file, fired or not. */
  const rules = new ScenarioRules(gateway);
  const taskQueue = unique('rel-held');
  const interrupted: HeldKill[] = [];
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let spec: PipelineSpec;
  let batch: Batch;
  let workflowId: string;
  let outcome: 'completed' | 'failed' | undefined;
  let elapsedMs = 0;

  before(
    async () => {
      const startedAt = Date.now();
      const base = reliabilitySpec();
      await provisionQuietly(base);
      spec = withOwnJob(base, 'held');
      await provisionQuietly(spec);
      batch = await landBatch(spec, 'held');
      workflowId = `${pipelineWorkflowId(spec, batch)}-held`;
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED', afterSeconds: 2 }]);
      const { region, redshift } = primaryRegion(spec);
      // Both regions' workgroups have one name: the hold names the region too.
      const workgroup = redshift!.workgroupName!;
      // One hold each: the retry's own requests are answered as usual.
      await rules.add({
        target: 'glue:StartJobRun',
        resource: spec.transform.jobName,
        action: { type: 'hold' },
        count: 1,
      });
      await rules.add({
        target: 'redshift-data:BatchExecuteStatement',
        resource: workgroup,
        region,
        action: { type: 'hold' },
        count: 1,
      });
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(secretWorkerEnv(taskQueue), taskQueue);
      await worker.start();
      const handle = await client.workflow.start('csvPipeline', {
        taskQueue,
        workflowId,
        args: [{ spec, batch }],
      });
      const result = handle.result().then(
        () => (outcome = 'completed'),
        () => (outcome = 'failed'),
      );

      const context = { gateway, worker, client, workflowId };
      interrupted.push(
        await killWhileHeld(context, 'StartJobRun', 'startGlueJobRun', [
          (h) => h.operation === 'StartJobRun' && h.resource === spec.transform.jobName,
        ]),
      );
      interrupted.push(
        await killWhileHeld(context, 'BatchExecuteStatement', 'executeStatements', [
          (h) => h.operation === 'BatchExecuteStatement' && h.resource === workgroup && h.region === region,
        ]),
      );
      await result;
      elapsedMs = Date.now() - startedAt;
    },
    { timeout: TIMEOUT_MS },
  );

  after(async () => {
    await rules.removeAll();
    await gateway.releaseAll();
    await worker?.stop();
    await connection?.close();
  });

  test('the worker was killed in both windows while the response was held, and the run completed', () => {
    recordFigure('held-kills', {
      kills: worker.kills,
      windows: interrupted.map((i) => i.window).join(', '),
      seconds: Math.round(elapsedMs / 1000),
    });
    assert.deepEqual(
      interrupted.map((i) => i.window),
      ['StartJobRun', 'BatchExecuteStatement'],
    );
    assert.equal(worker.kills, 2);
    assert.equal(outcome, 'completed', `${workflowId} ended ${outcome}; worker log: ${worker.logFile}`);
  });

  test('one StartJobRun reached Glue, and the retry found its run by the run tag', async () => {
    const starts = (await gateway.counts(spec.transform.jobName))['glue:StartJobRun'];
    assert.deepEqual(starts, { count: 1, faulted: 1 }, 'the held StartJobRun was the only one');
    const region = primaryRegion(spec).region;
    const glue = new GlueClient(awsClientConfig(region));
    const { JobRuns } = await glue.send(new GetJobRunsCommand({ JobName: spec.transform.jobName }));
    glue.destroy();
    const heldRunId = (interrupted[0]!.held[0]!.response as { JobRunId: string }).JobRunId;
    recordFigure('held-kills', { duplicateJobRuns: Math.max(0, (JobRuns?.length ?? 0) - 1) });
    const [start, ...more] = await completedActivities(client, workflowId, 'startGlueJobRun');
    recordHeldWindow(interrupted[0]!, start?.attempt ?? 0, Math.max(0, (JobRuns?.length ?? 0) - 1));
    assert.deepEqual(
      JobRuns?.map((r) => r.Id),
      [heldRunId],
      'one job run for the batch: the held one',
    );
    assert.equal(more.length, 0);
    assert.ok(
      start!.attempt > interrupted[0]!.attempt,
      `startGlueJobRun completed on attempt ${start!.attempt}: the kill ended attempt ${interrupted[0]!.attempt}`,
    );
    assert.deepEqual(start!.result, { jobRunId: heldRunId, reused: true });
  });

  test('the refresh retry got the held statement id by its ClientToken: one refresh per region', async () => {
    const region = primaryRegion(spec).region;
    const heldId = (interrupted[1]!.held[0]!.response as { Id: string }).Id;
    const executed = await completedActivities(client, workflowId, 'executeStatements');
    const primary = executed.filter((e) => e.input.region === region);
    assert.equal(primary.length, 1, JSON.stringify(executed));
    assert.ok(
      primary[0]!.attempt > interrupted[1]!.attempt,
      `executeStatements in ${region} completed on attempt ${primary[0]!.attempt}: the kill ended attempt ${interrupted[1]!.attempt}`,
    );
    assert.deepEqual(primary[0]!.result, { statementId: heldId }, 'the retry got the statement the held request made');
    const workgroup = primaryRegion(spec).redshift!.workgroupName!;
    // Both regions share the workgroup name: count this region's calls. (The other region refreshes at the same
    // time, so the kill may end its attempt too, and its retry sends its call again under the same ClientToken.)
    const batchCalls = (await gateway.counts(workgroup, region))['redshift-data:BatchExecuteStatement'];
    assert.deepEqual(batchCalls, { count: 2, faulted: 1 }, 'the held call and its retry');
    // Both calls named one statement: the Data API lists one refresh of this batch in the region.
    const redshift = new RedshiftDataClient(awsClientConfig(region));
    const refreshName = `glueline-${spec.name}-${batch.id}`;
    const listed = await redshift.send(new ListStatementsCommand({ StatementName: refreshName }));
    redshift.destroy();
    // StatementName is a prefix: the reconcile guard's statement (`<name>-reconcile`) is listed too.
    const Statements = listed.Statements?.filter((s) => s.StatementName === refreshName);
    recordFigure('held-kills', { duplicateStatements: Math.max(0, (Statements?.length ?? 0) - 1) });
    recordHeldWindow(interrupted[1]!, primary[0]!.attempt, Math.max(0, (Statements?.length ?? 0) - 1));
    assert.deepEqual(
      (Statements ?? []).map((s) => s.Id),
      [heldId],
    );
    for (const r of spec.regions.filter((x) => x.redshift)) {
      const executions = await refreshExecutions(spec, r.region);
      assert.equal(executions.get(batch.id), 1, `refresh executions of ${batch.id} in ${r.region}`);
    }
    const attempts = await activityAttempts(client, workflowId);
    recordFigure('held-kills', {
      startGlueJobRunAttempts: attempts.get('startGlueJobRun') ?? 0,
      executeStatementsAttempts: attempts.get('executeStatements') ?? 0,
    });
  });

  test('no secret in its history or the worker, gateway and server logs', async () => {
    await worker.stop();
    assert.deepEqual(scanScenario('held-kills', scenarioPlaces([workflowId], worker.logFile), workflowId), []);
  });
});
