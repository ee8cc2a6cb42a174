/**
 * Issue 15, no silent refusals: a run refused before it starts tells someone when nobody watched it start. On
 * the test stack, with a worker process that has a fallback address and the stack's SMTP sink:
 * a schedule with a spec whose notify section is readable mails that address; a schedule with a spec that cannot
 * be read mails the worker's fallback; an S3 event for a folder that is no batch id mails the spec's address once,
 * however often the event comes; a run started by hand gets its immediate error and no mail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { MailSinkControl, type SinkMessage } from '../../devstack/testkit/mail-sink';
import { pollUntil } from '../../devstack/testkit/poll';
import { uniqueSalesSpec } from '../../devstack/testkit/spec';
import { unique } from '../../devstack/testkit/stack';
import { startStackWorker, type StackWorker } from '../../devstack/testkit/worker-process';
import { handleSqsEvent } from '../../src/starters/s3-events-lambda';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { WorkflowType, type ScheduledPipelineInput } from '../../src/workflow-safe/pipeline';
import type { PipelineSpec } from '../../src/workflow-safe/spec';

const FALLBACK = 'fallback-ops@example.com';

/** An S3 event notification for one created object, as S3 sends it to SQS. */
const s3Event = (bucket: string, key: string) =>
  JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 10 } },
      },
    ],
  });

describe('refused runs nobody watched start are notified', () => {
  const taskQueue = unique('refused');
  const mail = new MailSinkControl();
  let stackWorker: StackWorker | undefined;
  let client: Client;
  let spec: PipelineSpec;
  /** A spec refused by validation whose notify section is fine. */
  let badSpec: Record<string, unknown>;
  const scheduleIds: string[] = [];

  before(async () => {
    spec = uniqueSalesSpec();
    badSpec = { ...spec, surprise: 'an unknown key' };
    stackWorker = await startStackWorker(taskQueue, { env: { GLUELINE_FALLBACK_NOTIFY_EMAIL: FALLBACK } });
    client = stackWorker.client;
  });

  after(async () => {
    for (const id of scheduleIds)
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await stackWorker?.stop();
  });

  /** The messages whose subject includes `text`, once there is at least one. */
  const mailAbout = (text: string) =>
    pollUntil(
      async () => (await mail.messages()).filter((m) => m.subject.includes(text)),
      (found) => found.length > 0,
      { timeoutMs: 120_000, intervalMs: 300 },
    );

  /** Creates a paused schedule of scheduledCsvPipeline with `scheduled` and triggers it once. */
  async function triggerSchedule(scheduled: unknown): Promise<void> {
    const scheduleId = unique('refused-sched');
    scheduleIds.push(scheduleId);
    const handle = await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 day' }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.scheduled,
        taskQueue,
        args: [scheduled as ScheduledPipelineInput],
      },
      state: { paused: true },
    });
    await handle.trigger();
  }

  /** The refused run named by the message's header: it failed with InvalidInput after the notice went out. */
  async function assertRefused(message: SinkMessage): Promise<void> {
    const workflowId = message.headers['x-glueline-workflow-id']!;
    const err = await client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.match(String((err.cause as { type?: string } | undefined)?.type), /InvalidInput/);
  }

  test('a schedule whose spec is refused mails the address its notify section names', async () => {
    const batchIdPrefix = unique('sched-bad').toLowerCase();
    const primary = primaryRegion(spec);
    await triggerSchedule({ spec: badSpec, source: { bucket: primary.rawBucket, prefix: 'drop/' }, batchIdPrefix });
    const [message, ...more] = await mailAbout(`batch ${batchIdPrefix}-`);
    assert.deepEqual(more, []);
    assert.match(message!.subject, /refused before it started \(schedule\)$/);
    assert.deepEqual(message!.envelope.to, spec.notify.email!.to);
    assert.match(message!.text, /surprise/, 'the email names the problem');
    assert.match(message!.messageId, /^<notify\.refused\./);
    await assertRefused(message!);
  });

  test('a schedule whose spec cannot be read mails the worker fallback address', async () => {
    const batchIdPrefix = unique('sched-unreadable').toLowerCase();
    await triggerSchedule({ spec: 'not a spec at all', source: { bucket: 'b', prefix: 'drop/' }, batchIdPrefix });
    const [message, ...more] = await mailAbout(`batch ${batchIdPrefix}-`);
    assert.deepEqual(more, []);
    assert.deepEqual(message!.envelope.to, [FALLBACK]);
    assert.match(
      message!.subject,
      /^\[glueline\] \(unreadable spec\) batch \S+ refused before it started \(schedule\)$/,
    );
    await assertRefused(message!);
  });

  test('an S3 event for a folder that is no batch id mails the spec address, once for repeated events', async () => {
    const folder = `${unique('not a batch')}!`;
    const bucket = primaryRegion(spec).rawBucket;
    const event = { Records: [{ messageId: 'm1', body: s3Event(bucket, `landing/${folder}/a.csv`) }] };
    const log: string[] = [];
    const deps = { client, spec, taskQueue, log: (line: string) => log.push(line) };
    assert.deepEqual(await handleSqsEvent(event, deps), { batchItemFailures: [] });
    const [message] = await mailAbout(`batch ${folder} refused`);
    assert.match(message!.subject, /refused before it started \(s3-event\)$/);
    assert.deepEqual(message!.envelope.to, spec.notify.email!.to);
    assert.match(message!.text, /is not a usable batch id/);
    await assertRefused(message!);
    // The same event again (SQS redelivers): the refused run is found, nothing new starts, no second email.
    assert.deepEqual(await handleSqsEvent(event, deps), { batchItemFailures: [] });
    assert.match(
      log.join('\n'),
      new RegExp(`already refused as csv-pipeline-${spec.name}-not a batch-\\S+; not started again`),
    );
    assert.equal((await mail.messages()).filter((m) => m.subject.includes(`batch ${folder} refused`)).length, 1);
  });

  test('a run started by hand keeps its immediate error and sends no mail', async () => {
    const batchId = unique('by-hand').toLowerCase();
    const workflowId = unique('refused-by-hand');
    const handle = await client.workflow.start('csvPipeline', {
      taskQueue,
      workflowId,
      args: [{ spec: badSpec, batch: { id: batchId, source: { bucket: 'b', prefix: 'p/' } } }],
    });
    await assert.rejects(handle.result(), WorkflowFailedError);
    // The notice would be sent before the run fails: by now it would be at the sink.
    assert.deepEqual(
      (await mail.messages()).filter((m) => m.text.includes(workflowId)),
      [],
    );
    const history = await handle.fetchHistory();
    assert.equal(history.events?.filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
  });
});
