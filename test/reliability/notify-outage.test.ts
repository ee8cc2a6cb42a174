/**
 * Issue 8, notification outage: a run fails while nothing listens on the worker's SMTP port. The webhook must
 * go out at once, once; the email activity retries, and once an SMTP sink starts on that port the email is
 * delivered, once, within the notify retry window. The webhook token and the SMTP password stay out of the
 * history and the worker's log.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ActivityFailure } from '@temporalio/common';
import { freePort } from '../../devstack/stack';
import { pipelineWorkflowId, PROGRESS_QUERY, type PipelineProgress } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { stackWorkerEnv } from '../../devstack/testkit/worker-process';
import { unique } from '../../devstack/testkit/stack';
import {
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  activityAttempts,
  historyText,
  landBatch,
  mode,
  provisionQuietly,
  recordFigure,
  reliabilitySpec,
  secrets,
  sinkMessages,
  startMailSink,
  startWebhookReceiver,
  temporalClient,
  withOwnJob,
} from './support';

/** Failed email attempts before SMTP comes back (5 s doubling between attempts: 5, 15, 35 s into the outage). */
const FAILED_EMAIL_ATTEMPTS = mode === 'full' ? 4 : 2;

describe(`notification outage (${mode}): SMTP is down when a run fails`, () => {
  const gateway = new GatewayControl();
  const taskQueue = unique('rel-notify');
  let spec: PipelineSpec;
  let workflowId: string;
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let sink: Awaited<ReturnType<typeof startMailSink>> | undefined;
  let webhooksDuringOutage = 0;
  let error: unknown;

  before(
    async () => {
      webhook = await startWebhookReceiver();
      spec = withOwnJob(reliabilitySpec(webhook.url), 'notify');
      await provisionQuietly(spec);
      const batch = await landBatch(spec, 'b-notify');
      await gateway.scriptJobRuns(spec.transform.jobName, [
        { state: 'FAILED', errorMessage: 'scripted failure during an SMTP outage', afterSeconds: 1 },
      ]);
      const smtpPort = await freePort(); // nobody listens here until the sink starts
      worker = new KillableWorker(
        stackWorkerEnv(taskQueue, {
          SMTP_URL: `smtp://glueline:${secrets.smtpPassword}@127.0.0.1:${smtpPort}`,
          GLUELINE_WEBHOOK_TOKEN: secrets.webhookToken,
          GLUELINE_LOG_LEVEL: 'DEBUG',
        }),
        taskQueue,
      );
      await worker.start();
      ({ client, connection } = await temporalClient());
      workflowId = unique(pipelineWorkflowId(spec, batch));
      const handle = await client.workflow.start('csvPipeline', { taskQueue, workflowId, args: [{ spec, batch }] });
      // The outage: the email activity fails and retries while the webhook goes out.
      await pollUntil(
        async () => (await handle.describe()).raw.pendingActivities ?? [],
        (pending) =>
          pending.some((a) => a.activityType?.name === 'sendFailureEmail' && (a.attempt ?? 0) > FAILED_EMAIL_ATTEMPTS),
        { timeoutMs: 300_000, intervalMs: 500 },
      );
      webhooksDuringOutage = webhook.requests.filter((r) => r.body.includes(workflowId)).length;
      sink = await startMailSink(smtpPort);
      error = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    },
    { timeout: 600_000 },
  );

  after(async () => {
    await worker?.stop();
    await sink?.stop();
    await connection?.close();
    await webhook?.close();
  });

  test('the webhook went out once, during the outage, and never again', () => {
    assert.equal(webhooksDuringOutage, 1);
    assert.equal(webhook.requests.filter((r) => r.body.includes(workflowId)).length, 1);
    assert.equal(webhook.requests[0]?.authorization, `Bearer ${secrets.webhookToken}`);
  });

  test('the email was delivered exactly once after SMTP came back, then the run failed with its cause', async () => {
    assert.ok(error instanceof WorkflowFailedError && error.cause instanceof ActivityFailure, String(error));
    assert.match(error.cause.cause?.message ?? '', /scripted failure during an SMTP outage/);
    const mails = (await sinkMessages(sink!.inboxUrl)).filter((m) => m.text.includes(workflowId));
    assert.equal(mails.length, 1);
    const attempts = await activityAttempts(client, workflowId);
    assert.ok((attempts.get('sendFailureEmail') ?? 0) > FAILED_EMAIL_ATTEMPTS, `attempts: ${[...attempts]}`);
    assert.equal(attempts.get('postFailureWebhook'), 1);
    const progress = await client.workflow.getHandle(workflowId).query<PipelineProgress>(PROGRESS_QUERY);
    assert.deepEqual(progress.notifications, { email: 'sent', webhook: 'sent' });
    recordFigure('notify', {
      emailsAfterOutage: mails.length,
      webhooksDuringOutage,
      emailAttempts: attempts.get('sendFailureEmail') ?? 0,
    });
  });

  test('neither the webhook token nor the SMTP password is in the history or the worker log', async () => {
    await worker.stop();
    const history = historyText(workflowId);
    assert.ok(history.includes(webhook.url), 'payloads were decoded');
    const log = fs.readFileSync(worker.logFile, 'utf8');
    assert.ok(log.includes('glueline worker started'), 'the log was captured');
    for (const secret of [secrets.webhookToken, secrets.smtpPassword]) {
      assert.ok(!history.includes(secret), 'a secret is in the history');
      assert.ok(!log.includes(secret), 'a secret is in the worker log');
    }
  });

  test('no secret in its history or the worker, gateway and server logs', async () => {
    await worker.stop();
    assert.deepEqual(scanScenario('notify-outage', scenarioPlaces([workflowId], worker.logFile), workflowId), []);
  });
});
