import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import type { SinkMessage } from '../../devstack/mail-sink';
import { createNotifyActivities } from '../../src/activities/notify';
import { escapeHtml } from '../../src/activities/notify-freshness';
import type { FailureNotice } from '../../src/workflow-safe/activity-types';
import type { ActivityDeps } from '../../src/activities/deps';
import { freePort } from '../../devstack/stack';
import { activityEnv, newBucket, rejection, run, testCredentials } from '../../devstack/testkit/aws';
import { NOTIFICATION_MARKER_PREFIX, notificationId } from '../../src/activities/notify-record';
import { getObjectText } from '../../src/aws/s3-objects';
import { createAwsClients } from '../../src/aws/clients';
import { stack, unique } from '../../devstack/testkit/stack';

const smtpPassword = 'smtp-pass-7f3a9c';
const webhookToken = 'whk-token-91bd2e';
const awsSecret = 'aws-secret-5c1e77';
const secrets = [smtpPassword, webhookToken, awsSecret];

function deps(mailer: ActivityDeps['mailer']): ActivityDeps {
  return {
    aws: createAwsClients({ endpoint: stack().aws.endpoint, credentials: testCredentials }),
    mailer,
    webhookToken,
    secretsToRedact: [smtpPassword, awsSecret],
    temporalUiUrl: 'http://127.0.0.1:8233',
    namespace: 'default',
    taskQueue: 'glueline',
  };
}

const sinkMailer = () =>
  nodemailer.createTransport(`smtp://glueline:${smtpPassword}@${stack().smtp.host}:${stack().smtp.port}`);

function notice(overrides: Partial<FailureNotice> = {}): FailureNotice {
  const batchId = unique('2026-11-26');
  return {
    pipeline: 'sales',
    batchId,
    step: 'transform',
    region: 'us-east-1',
    error: {
      type: 'GlueJobRunFailed',
      // An error text that (wrongly) carries secrets, and markup that must be escaped.
      message: `glue job run jr_123 of job sales-to-parquet ended FAILED: <b>boom</b> token=${webhookToken} key=${awsSecret}`,
    },
    attempt: 3,
    workflowId: `csv-pipeline-sales-${batchId}`,
    runId: '8c3e1f2a-0000-4000-8000-000000000001',
    workflowType: 'csvPipeline',
    startedAt: '2026-11-26T10:00:00.000Z',
    failedAt: '2026-11-26T10:05:00.000Z',
    awsIds: { jobRunId: 'jr_123' },
    email: { to: ['team@example.com'], from: 'glueline@example.com' },
    ...overrides,
  };
}

async function inboxMessage(subject: string): Promise<SinkMessage> {
  const inbox = (await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[];
  const message = inbox.find((m) => m.subject === subject);
  assert.ok(message, `no message with subject '${subject}' at the sink`);
  return message;
}

/** A local webhook receiver that answers each POST with the next status given. */
let server: http.Server;
let received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
let statuses: number[] = [];
let webhookUrl = '';
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 204).end('receiver says no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/glueline`;
});
after(() => server.close());

describe('sendFailureEmail', () => {
  test('emails the team a subject naming the pipeline, batch and step', async () => {
    const mailer = sinkMailer();
    const n = notice();
    await run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, n);
    mailer.close();
    const message = await inboxMessage(`[glueline] sales batch ${n.batchId} failed at transform`);
    assert.deepEqual(message.envelope.to, ['team@example.com']);
  });

  test('a workflow id longer than a header line reaches the reader whole in X-Glueline-Workflow-Id', async () => {
    const mailer = sinkMailer();
    const n = notice();
    // 90 characters with the header name, and a space: the mailer folds the line there, a reader unfolds it.
    n.workflowId = `csv-pipeline-${'p'.repeat(20)}-not a ${n.batchId}!`;
    await run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, n);
    mailer.close();
    const message = await inboxMessage(`[glueline] sales batch ${n.batchId} failed at transform`);
    assert.equal(message.headers['x-glueline-workflow-id'], n.workflowId);
  });

  test('puts the error, attempt, run link and redrive commands in the text and HTML bodies', async () => {
    const mailer = sinkMailer();
    const n = notice({ step: 'crawl-curated@eu-west-1', region: 'eu-west-1' });
    await run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, n);
    mailer.close();
    const message = await inboxMessage(`[glueline] sales batch ${n.batchId} failed at crawl-curated@eu-west-1`);
    const link = `http://127.0.0.1:8233/namespaces/default/workflows/${n.workflowId}/${n.runId}/history`;
    for (const body of [message.text, message.html]) {
      assert.match(body, /GlueJobRunFailed/);
      assert.match(body, /ended FAILED/);
      assert.match(body, /Attempt/);
      assert.ok(body.includes(link), 'the UI link is missing');
      assert.ok(body.includes(`glueline redrive ${n.workflowId} --from crawl-curated`), 'redrive missing');
      assert.ok(!body.includes('npm run glueline'), 'the command is glueline, as installed');
      assert.ok(body.includes('--task-queue glueline'), 'temporal CLI command missing');
      assert.ok(body.includes('jr_123'));
    }
    assert.ok(message.html.includes('&lt;b&gt;boom&lt;/b&gt;'), 'HTML was not escaped');
  });

  /** A failed pipelineStep run's notice, with `stepRerun` as given (absent: a notice from before that field). */
  const stepNotice = (stepRerun?: FailureNotice['stepRerun']) =>
    notice({
      step: 'crawl-curated@eu-west-1',
      region: 'eu-west-1',
      workflowType: 'pipelineStep',
      workflowId: `pipeline-step-sales-${unique('b')}-crawl-curated@eu-west-1`,
      ...(stepRerun ? { stepRerun } : {}),
    });

  /** The step command line of a step run's email, from its text body (the HTML body holds it escaped). */
  async function stepCommandOf(n: FailureNotice): Promise<{ line: string; heading: string }> {
    const mailer = sinkMailer();
    await run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, n);
    mailer.close();
    const message = await inboxMessage(`[glueline] sales batch ${n.batchId} failed at crawl-curated@eu-west-1`);
    const lines = message.text.split('\n');
    const at = lines.findIndex((l) => /^ {2}(cd .* && )?glueline step /.test(l));
    assert.ok(at > 0, `the step command is missing:\n${message.text}`);
    for (const body of [message.text, message.html]) {
      assert.ok(!body.includes('redrive '), 'redrive refuses pipelineStep runs: the email must not offer it');
      assert.ok(body.includes('--type pipelineStep'), 'the temporal CLI command is missing');
      assert.match(body, /this run(&#39;|')s input, unchanged/);
    }
    assert.ok(message.html.includes(escapeHtml(lines[at]!.trim())), 'the HTML body holds another command');
    return { line: lines[at]!.trim(), heading: lines[at - 1]! };
  }

  test('for a step run alone (pipelineStep), names the exact step command it was started with, not redrive', async () => {
    const n = stepNotice({
      startedWith: { specFile: "specs/o'brien sales.yaml", directory: '/home/data eng/pipelines' },
      batchFlags: ['--prefix', 'landing/2026 11/', '--source-bucket', 'landing-bucket', '--source-region', 'eu-west-1'],
    });
    const { line, heading } = await stepCommandOf(n);
    assert.equal(
      line,
      `cd '/home/data eng/pipelines' && glueline step --spec 'specs/o'\\''brien sales.yaml' --batch-id ${n.batchId} ` +
        `--step crawl-curated --region eu-west-1 --prefix 'landing/2026 11/' --source-bucket landing-bucket ` +
        `--source-region eu-west-1`,
    );
    assert.match(heading, /the command it was started with/);
    assert.doesNotMatch(line, /<|\(--prefix/, 'a placeholder is left');
  });

  test('a step run with an absolute spec path and keys: no cd, one --key per key', async () => {
    const n = stepNotice({
      startedWith: { specFile: '/srv/specs/sales.yaml' },
      batchFlags: ['--key', 'a/1.csv', '--key', 'a/2.csv'],
    });
    const { line } = await stepCommandOf(n);
    assert.equal(
      line,
      `glueline step --spec /srv/specs/sales.yaml --batch-id ${n.batchId} --step crawl-curated --region eu-west-1 ` +
        '--key a/1.csv --key a/2.csv',
    );
  });

  test('falls back to placeholders for what the notice does not know, and says what to fill in', async () => {
    const noSpec = await stepCommandOf(stepNotice({ batchFlags: ['--prefix', 'landing/b/'] }));
    assert.match(
      noSpec.line,
      /^glueline step --spec <spec file> --batch-id \S+ --step crawl-curated --region eu-west-1 --prefix landing\/b\/$/,
    );
    assert.match(noSpec.heading, /with its spec file: only glueline step records it/);
    const manyKeys = await stepCommandOf(
      stepNotice({ startedWith: { specFile: '/s.yaml' }, batchFlags: [], keyCount: 400 }),
    );
    assert.match(manyKeys.line, /--region eu-west-1 --key <each of the batch's 400 keys>$/);
    assert.match(manyKeys.heading, /each of the batch's keys as a --key/);
    // A notice from a worker before stepRerun (a replayed or long-running old run): the old placeholders.
    const old = await stepCommandOf(stepNotice());
    assert.match(
      old.line,
      /^glueline step --spec <spec file> --batch-id \S+ --step crawl-curated --region eu-west-1 \(--prefix <prefix> \| --key <key>\.\.\.\)$/,
    );
    assert.match(old.heading, /the batch given as when the step was started/);
  });

  test('never puts a configured secret in the email', async () => {
    const mailer = sinkMailer();
    const n = notice();
    await run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, n);
    mailer.close();
    const message = JSON.stringify(await inboxMessage(`[glueline] sales batch ${n.batchId} failed at transform`));
    for (const secret of secrets) assert.ok(!message.includes(secret), `the email carries ${secret}`);
    assert.ok(message.includes('[redacted]'));
  });

  test('fails retryably, without secrets, when the SMTP server is down', async () => {
    const port = await freePort();
    const mailer = nodemailer.createTransport(`smtp://glueline:${smtpPassword}@127.0.0.1:${port}`);
    const err = await rejection(run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, notice()));
    assert.equal(err.type, 'EmailFailed');
    assert.equal(err.nonRetryable, false);
    for (const secret of secrets) assert.ok(!err.message.includes(secret));
  });

  test('fails non-retryably with InvalidInput when the notice has no email settings', async () => {
    const err = await rejection(
      run(activityEnv(), createNotifyActivities(deps(sinkMailer())).sendFailureEmail, notice({ email: undefined })),
    );
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
  });
});

describe('sendFailureEmail at most once', () => {
  const inbox = async (subject: string) =>
    ((await (await fetch(stack().smtp.inboxUrl)).json()) as SinkMessage[]).filter((m) => m.subject === subject);

  test('the Message-ID is fixed by the run and the failure, and a marker records the acceptance', async () => {
    const d = deps(sinkMailer());
    const bucket = await newBucket(d.aws, 'us-east-1', 'notify');
    const n = notice({ sentRecord: { region: 'us-east-1', bucket } });
    const id = notificationId(n);
    assert.equal(id, `notify.failure.${n.workflowId}.${n.runId}.transform@glueline`);
    assert.deepEqual(await run(activityEnv(), createNotifyActivities(d).sendFailureEmail, n), { messageId: id });
    const marker = JSON.parse(
      await getObjectText(d.aws.s3('us-east-1'), {
        region: 'us-east-1',
        bucket,
        key: `${NOTIFICATION_MARKER_PREFIX}${id}`,
      }),
    ) as Record<string, unknown>;
    assert.equal(marker.messageId, id);
    assert.equal(marker.workflowId, n.workflowId);
    assert.match(String(marker.serverResponse), /^250/);
    // A retry (a new attempt, a new worker) finds the marker and sends nothing.
    const again = await run(activityEnv({ attempt: 2 }), createNotifyActivities(d).sendFailureEmail, n);
    assert.deepEqual(again, { messageId: id, alreadySent: 'marker' });
    const sent = await inbox(`[glueline] sales batch ${n.batchId} failed at transform`);
    assert.deepEqual(
      sent.map((m) => m.messageId),
      [`<${id}>`],
    );
  });

  test('a retry whose earlier attempt heartbeated the acceptance sends nothing, even without a marker', async () => {
    const n = notice();
    const id = notificationId(n);
    const env = activityEnv({ attempt: 2, heartbeatDetails: { accepted: id } });
    assert.deepEqual(await run(env, createNotifyActivities(deps(sinkMailer())).sendFailureEmail, n), {
      messageId: id,
      alreadySent: 'heartbeat',
    });
    assert.deepEqual(await inbox(`[glueline] sales batch ${n.batchId} failed at transform`), []);
    // Another failure's heartbeat is not this one's.
    const other = notice();
    const sent = await run(env, createNotifyActivities(deps(sinkMailer())).sendFailureEmail, other);
    assert.equal(sent.alreadySent, undefined);
  });

  test('heartbeats the acceptance; a marker that cannot be written leaves the email sent, recorded: false', async () => {
    const n = notice({ sentRecord: { region: 'us-east-1', bucket: unique('no-such-bucket').toLowerCase() } });
    const env = activityEnv();
    const sent = await run(env, createNotifyActivities(deps(sinkMailer())).sendFailureEmail, n);
    assert.deepEqual(sent, { messageId: notificationId(n), recorded: false });
    assert.deepEqual(env.heartbeats, [{ accepted: notificationId(n) }]);
    assert.equal((await inbox(`[glueline] sales batch ${n.batchId} failed at transform`)).length, 1);
  });

  test('ids stay valid Message-IDs whatever the workflow id holds, and long ones become a hash', () => {
    const n = notice({ workflowId: 'csv pipeline <x>@y', step: 'crawl-curated@eu-west-1' });
    assert.match(
      notificationId(n),
      /^notify\.failure\.csv=20pipeline=20=3Cx=3E=40y\.[\w-]+\.crawl-curated=40eu-west-1@glueline$/,
    );
    assert.match(notificationId(notice({ workflowId: 'w'.repeat(300) })), /^notify\.failure\.[0-9a-f]{40}@glueline$/);
    assert.notEqual(notificationId(n), notificationId({ ...n, runId: 'another-run' }));
  });
});

describe('refusal notices', () => {
  const refused = (overrides: Partial<FailureNotice> = {}) =>
    notice({ step: 'input', email: undefined, refused: { trigger: 'schedule' }, ...overrides });

  test('a refused run without a readable address goes to the worker fallback', async () => {
    const n = refused();
    const d = { ...deps(sinkMailer()), fallbackNotifyEmail: { to: ['ops@example.com'], from: 'glueline@example.com' } };
    await run(activityEnv(), createNotifyActivities(d).sendFailureEmail, n);
    const message = await inboxMessage(`[glueline] sales batch ${n.batchId} refused before it started (schedule)`);
    assert.deepEqual(message.envelope.to, ['ops@example.com']);
    assert.match(message.text, /was refused before it started: its schedule start gave an input that is not valid/);
    assert.match(message.text, /Nothing ran\. Fix the spec or the batch/);
    assert.doesNotMatch(message.text, /redrive/, 'a refused run has no step to re-run from');
  });

  test('without the spec address or a fallback the activity fails naming the worker setting', async () => {
    const err = await rejection(
      run(activityEnv(), createNotifyActivities(deps(sinkMailer())).sendFailureEmail, refused()),
    );
    assert.equal(err.type, 'InvalidInput');
    assert.match(err.message, /GLUELINE_FALLBACK_NOTIFY_EMAIL/);
  });
});

describe('postFailureWebhook', () => {
  test('sends the notification id as the Idempotency-Key, the same as the email Message-ID', async () => {
    received = [];
    statuses = [204];
    const n = notice({ webhook: { url: webhookUrl }, sentRecord: { region: 'us-east-1', bucket: 'b' } });
    await run(activityEnv(), createNotifyActivities(deps(sinkMailer())).postFailureWebhook, n);
    assert.equal(received[0]!.headers['idempotency-key'], notificationId(n));
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    assert.equal(body.notificationId, notificationId(n));
    assert.equal(body.sentRecord, undefined);
  });

  test('still posts the notice with the bearer token when SMTP is down', async () => {
    received = [];
    statuses = [200];
    const port = await freePort();
    const activities = createNotifyActivities(
      deps(nodemailer.createTransport(`smtp://glueline:${smtpPassword}@127.0.0.1:${port}`)),
    );
    const n = notice({ webhook: { url: webhookUrl } });
    await assert.rejects(run(activityEnv(), activities.sendFailureEmail, n));
    const result = await run(activityEnv(), activities.postFailureWebhook, n);
    assert.deepEqual(result, { status: 200 });
    assert.equal(received.length, 1);
    assert.equal(received[0]!.headers.authorization, `Bearer ${webhookToken}`);
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    assert.equal(body.step, 'transform');
    assert.equal(body.runUrl, `http://127.0.0.1:8233/namespaces/default/workflows/${n.workflowId}/${n.runId}/history`);
  });

  test('never puts a configured secret in the posted body', async () => {
    received = [];
    statuses = [204];
    await run(
      activityEnv(),
      createNotifyActivities(deps(sinkMailer())).postFailureWebhook,
      notice({ webhook: { url: webhookUrl } }),
    );
    for (const secret of secrets) assert.ok(!received[0]!.body.includes(secret), `the body carries ${secret}`);
  });

  test('fails retryably when the webhook answers 503', async () => {
    statuses = [503];
    const err = await rejection(
      run(
        activityEnv(),
        createNotifyActivities(deps(sinkMailer())).postFailureWebhook,
        notice({ webhook: { url: webhookUrl } }),
      ),
    );
    assert.equal(err.type, 'WebhookFailed');
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /HTTP 503/);
  });

  test('fails retryably when the webhook answers 429', async () => {
    statuses = [429];
    const err = await rejection(
      run(
        activityEnv(),
        createNotifyActivities(deps(sinkMailer())).postFailureWebhook,
        notice({ webhook: { url: webhookUrl } }),
      ),
    );
    assert.equal(err.nonRetryable, false);
  });

  test('fails non-retryably, naming the token setting, when the webhook answers 401', async () => {
    statuses = [401];
    const err = await rejection(
      run(
        activityEnv(),
        createNotifyActivities(deps(sinkMailer())).postFailureWebhook,
        notice({ webhook: { url: webhookUrl } }),
      ),
    );
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /GLUELINE_WEBHOOK_TOKEN/);
    assert.ok(!err.message.includes(webhookToken));
  });

  test('fails retryably when nothing listens at the webhook URL', async () => {
    const port = await freePort();
    const err = await rejection(
      run(
        activityEnv(),
        createNotifyActivities(deps(sinkMailer())).postFailureWebhook,
        notice({ webhook: { url: `http://127.0.0.1:${port}/x` } }),
      ),
    );
    assert.equal(err.type, 'WebhookFailed');
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /ECONNREFUSED/);
  });
});

describe('warning notices (kind: warning, issue 18)', () => {
  const warning = () =>
    notice({
      kind: 'warning',
      error: { type: 'ThresholdWarning', message: 'maxRejectedRatio: 0.3 of the batch rows were rejected (3 of 10)' },
      webhook: { url: webhookUrl },
    });

  test('the email says warning in its subject, first line and header, and offers no re-run', async () => {
    const mailer = sinkMailer();
    const n = warning();
    await run(activityEnv(), createNotifyActivities(deps(mailer)).sendFailureEmail, n);
    mailer.close();
    const message = await inboxMessage(`[glueline] warning: sales batch ${n.batchId} crossed a limit at transform`);
    assert.match(message.text, /^glueline pipeline sales, batch \S+: a warning at step transform; the run goes on\./);
    assert.match(message.text, /maxRejectedRatio: 0\.3/);
    assert.equal(message.headers['x-glueline-kind'], 'warning');
    assert.ok(!message.text.includes('redrive'), 'a warning offers a re-run');
  });

  test("the webhook payload's kind and summary say warning; a failure's kind says failure", async () => {
    received = [];
    statuses = [200, 200];
    const activities = createNotifyActivities(deps(sinkMailer()));
    await run(activityEnv(), activities.postFailureWebhook, warning());
    await run(activityEnv(), activities.postFailureWebhook, notice({ webhook: { url: webhookUrl } }));
    const [warned, failed] = received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    assert.equal(warned!.kind, 'warning');
    assert.match(String(warned!.summary), /^\[glueline\] warning: /);
    assert.equal(warned!.redrive, undefined);
    assert.equal(failed!.kind, 'failure');
    assert.ok(failed!.redrive);
  });
});
