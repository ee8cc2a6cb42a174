/**
 * Issue 15, mail at most once where it can be, honest where it cannot. Two failed runs, each with one failure
 * email, each with the worker SIGKILLed at a moment of the send:
 *
 * - in the SMTP DATA window: the sink stores the message and holds its 250 reply; the worker dies waiting for
 *   it, so no record of the acceptance exists. The retry sends again with the same Message-ID: two deliveries
 *   that a receiver can dedupe. This is the window the docs state; the test counts it, it does not hide it.
 * - after the record: the mail server accepted, the marker `_glueline/notifications/<message-id>` was written
 *   (the gateway serves the PutObject and holds its response); the retry finds the marker and sends nothing:
 *   one delivery.
 *
 * For each kill the test records which activity and attempt it interrupted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client, Connection } from '@temporalio/client';
import { freePort } from '../../devstack/stack';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { MailSinkControl } from '../../devstack/testkit/mail-sink';
import { awsClientConfig, unique } from '../../devstack/testkit/stack';
import { NOTIFICATION_MARKER_PREFIX, notificationId } from '../../src/activities/notify-record';
import type { SentEmail } from '../../src/workflow-safe/activity-types';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { pipelineWorkflowId } from '../../src/workflow-safe/pipeline';
import type { Batch } from '../../src/workflow-safe/run-input';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import {
  scenarioPlaces,
  scanScenario,
  KillableWorker,
  mode,
  provisionQuietly,
  recordFigure,
  reliabilitySpec,
  secrets,
  secretWorkerEnv,
  startMailSink,
  temporalClient,
  ScenarioRules,
} from './support';

/** The killed attempt's start-to-close (1 minute) must pass before the retry: a few of them. */
const TIMEOUT_MS = 600_000;

/** What one kill interrupted, and what came of it. */
interface Kill {
  window: 'DATA' | 'marker';
  workflowId: string;
  runId: string;
  /** The activity and attempt running when the worker was killed (from the run's pending activities). */
  interrupted: string;
  messageId: string;
  deliveries: Map<string, number>;
  completed: (SentEmail & { attempt: number })[];
}

const decode = (payload: { data?: Uint8Array | null } | undefined) =>
  JSON.parse(Buffer.from(payload?.data ?? []).toString('utf8')) as unknown;

/** Every completed sendFailureEmail of a run, with its attempt (the test worker has no codec). */
async function sentEmails(client: Client, workflowId: string): Promise<(SentEmail & { attempt: number })[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const attempts = new Map<string, number>();
  const types = new Map<string, string>();
  const out: (SentEmail & { attempt: number })[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) types.set(String(e.eventId), s.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started) attempts.set(String(started.scheduledEventId), started.attempt ?? 1);
    const done = e.activityTaskCompletedEventAttributes;
    if (done && types.get(String(done.scheduledEventId)) === 'sendFailureEmail')
      out.push({
        ...(decode(done.result?.payloads?.[0]) as SentEmail),
        attempt: attempts.get(String(done.scheduledEventId)) ?? 1,
      });
  }
  return out;
}

describe(`held mail kills (${mode}): SIGKILL in the SMTP DATA window and after the sent record`, () => {
  const gateway = new GatewayControl();
  /** Removed after the file, fired or not. */
  const rules = new ScenarioRules(gateway);
  const taskQueue = unique('rel-mail');
  const kills: Kill[] = [];
  let sink: Awaited<ReturnType<typeof startMailSink>>;
  let mail: MailSinkControl;
  let worker: KillableWorker;
  let client: Client;
  let connection: Connection;
  let spec: PipelineSpec;

  /** A batch whose landing folder is empty: stage-raw fails at once (NoSourceObjects) and the email goes out. */
  const emptyBatch = (id: string): Batch => ({
    id,
    source: { bucket: primaryRegion(spec).rawBucket, prefix: `landing/${id}/` },
  });

  /** The activity and attempt the run is in right now. */
  async function pendingNow(workflowId: string): Promise<string> {
    const { raw } = await client.workflow.getHandle(workflowId).describe();
    const pending = raw.pendingActivities ?? [];
    return pending.map((a) => `${a.activityType?.name} attempt ${a.attempt}`).join(', ') || 'no activity';
  }

  /** Starts a failing run, waits for `held` to say the send is at the window, kills, restarts, releases, waits. */
  async function killDuring(
    window: Kill['window'],
    batchId: string,
    held: (workflowId: string) => Promise<{ callerGone: () => Promise<boolean>; release: () => Promise<void> }>,
  ): Promise<void> {
    const batch = emptyBatch(batchId);
    const workflowId = unique(pipelineWorkflowId(spec, batch));
    const handle = await client.workflow.start('csvPipeline', { taskQueue, workflowId, args: [{ spec, batch }] });
    const hold = await held(workflowId);
    const interrupted = await pendingNow(workflowId);
    await worker.replace('SIGKILL');
    // The killed worker's connection closed: the released reply reaches no one.
    while (!(await hold.callerGone())) await new Promise((r) => setTimeout(r, 200));
    await hold.release();
    await handle.result().catch(() => undefined);
    const runId = (await handle.describe()).runId;
    const messageId = notificationId({ workflowId, runId, step: 'stage-raw' });
    kills.push({
      window,
      workflowId,
      runId,
      interrupted,
      messageId,
      deliveries: await mail.deliveriesById((m) => m.text.includes(workflowId)),
      completed: await sentEmails(client, workflowId),
    });
  }

  before(
    async () => {
      spec = reliabilitySpec();
      await provisionQuietly(spec);
      const smtpPort = await freePort();
      sink = await startMailSink(smtpPort);
      mail = new MailSinkControl(sink.inboxUrl);
      ({ client, connection } = await temporalClient());
      worker = new KillableWorker(
        { ...secretWorkerEnv(taskQueue), SMTP_URL: `smtp://glueline:${secrets.smtpPassword}@127.0.0.1:${smtpPort}` },
        taskQueue,
      );
      await worker.start();

      await mail.holdNext(1);
      await killDuring('DATA', unique('mail-data'), async (workflowId) => {
        const reply = await mail.waitForHold((h) => h.subject.includes('failed at stage-raw'), 300_000);
        assert.ok(
          (await mail.messages()).some((m) => m.text.includes(workflowId)),
          'the held message is stored',
        );
        return {
          callerGone: async () => (await mail.holds()).find((h) => h.id === reply.id)?.callerGone ?? true,
          release: () => mail.release(reply.id),
        };
      });

      const { curatedBucket } = primaryRegion(spec);
      await rules.add({ target: 's3:PutObject', resource: curatedBucket, action: { type: 'hold' }, count: 1 });
      await killDuring('marker', unique('mail-marker'), async () => {
        const put = await gateway.waitForHold(
          (h) => h.operation === 'PutObject' && h.resource === curatedBucket,
          300_000,
        );
        return {
          callerGone: async () => (await gateway.holds()).find((h) => h.id === put.id)?.callerGone ?? true,
          release: () => gateway.release(put.id),
        };
      });
    },
    { timeout: TIMEOUT_MS },
  );

  after(async () => {
    await mail?.releaseAll().catch(() => undefined);
    await rules.removeAll();
    await gateway.releaseAll();
    await worker?.stop();
    await sink?.stop();
    await connection?.close();
  });

  test('each kill interrupted the first attempt of sendFailureEmail', () => {
    for (const k of kills) console.log(`kill in the ${k.window} window interrupted ${k.interrupted} (${k.workflowId})`);
    recordFigure('held-mail', {
      kills: worker.kills,
      interrupted: kills.map((k) => `${k.window}: ${k.interrupted}`).join('; '),
    });
    assert.deepEqual(
      kills.map((k) => [k.window, k.interrupted]),
      [
        ['DATA', 'sendFailureEmail attempt 1'],
        ['marker', 'sendFailureEmail attempt 1'],
      ],
    );
  });

  test('DATA window, no record yet: the retry sent it again, with the same Message-ID (the stated window)', async () => {
    const k = kills[0]!;
    recordFigure('held-mail', { dataWindowDeliveries: k.deliveries.get(`<${k.messageId}>`) ?? 0 });
    // One Message-ID, the run's: a receiver that dedupes by it shows one email.
    assert.deepEqual([...k.deliveries.keys()], [`<${k.messageId}>`]);
    assert.equal(k.deliveries.get(`<${k.messageId}>`), 2, 'accepted, then killed before any record: sent twice');
    assert.deepEqual(k.completed, [{ messageId: k.messageId, attempt: 2 }]);
    const { region, curatedBucket } = primaryRegion(spec);
    const s3 = new S3Client(awsClientConfig(region));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: curatedBucket, Key: `${NOTIFICATION_MARKER_PREFIX}${k.messageId}` }),
    );
    s3.destroy();
    assert.ok(head.ContentLength! > 0, 'the retry wrote the marker');
  });

  test('after the marker was written: the retry found it and sent nothing; one delivery', () => {
    const k = kills[1]!;
    recordFigure('held-mail', { markedDeliveries: k.deliveries.get(`<${k.messageId}>`) ?? 0 });
    assert.deepEqual([...k.deliveries], [[`<${k.messageId}>`, 1]]);
    assert.deepEqual(k.completed, [{ messageId: k.messageId, alreadySent: 'marker', attempt: 2 }]);
  });

  test('no secret in any history or the worker, gateway and server logs', async () => {
    await worker.stop();
    const ids = kills.map((k) => k.workflowId);
    assert.deepEqual(scanScenario('held-mail', scenarioPlaces(ids, worker.logFile), ids[0]!), []);
  });
});
