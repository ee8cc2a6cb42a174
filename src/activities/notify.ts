/**
 * Failure notifications: an email (nodemailer) and an optional webhook, each its own activity so each
 * retries on its own and one channel failing never blocks the other. Secrets never reach either.
 */
import { Context } from '@temporalio/activity';
import { emailFailed, invalidInput, webhookFailed } from '../workflow-safe/failures';
import type { FailureNotice, GluelineActivities, SentEmail } from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';
import { runUrl, shellWord, stepCommandLine } from '../temporal/run-links';
import { emailHtml, escapeHtml, freshnessEmail, freshnessSubject, isFreshnessNotice } from './notify-freshness';
import { WorkflowType } from '../workflow-safe/pipeline';
import { earlierAcceptance, markerOf, messageIdHeader, notificationId, recordAcceptance } from './notify-record';

/** How long one webhook POST may take. */
const WEBHOOK_TIMEOUT_MS = 10_000;
const REDACTED = '[redacted]';

/** Replaces each of `secrets` (the configured values only) in `text`. */
export function redactSecretValues(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would redact ordinary words; nobody's secret is three characters long.
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** Removes `secrets`, URL credentials and bearer tokens from `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  return redactSecretValues(text, secrets)
    .replace(/(\/\/)[^/\s:@]+:[^/\s@]+@/g, `$1${REDACTED}@`)
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`)
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED);
}

/** Every string of `value`, redacted. */
function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, secrets)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, secrets)])) as T;
  }
  return value;
}

/** The step without its region: `crawl-curated@eu-west-1` → `crawl-curated`. */
const stepName = (step: string) => step.split('@')[0] ?? step;

export function failureSubject(notice: FailureNotice): string {
  if (isFreshnessNotice(notice)) return freshnessSubject(notice);
  if (notice.kind === 'warning')
    return `[glueline] warning: ${notice.pipeline} batch ${notice.batchId} crossed a limit at ${notice.step}`;
  if (notice.refused)
    return `[glueline] ${notice.pipeline} batch ${notice.batchId} refused before it started (${notice.refused.trigger})`;
  return `[glueline] ${notice.pipeline} batch ${notice.batchId} failed at ${notice.step}`;
}

/** The run's history in the Temporal UI. */
export function noticeRunUrl(deps: Pick<ActivityDeps, 'temporalUiUrl' | 'namespace'>, notice: FailureNotice): string {
  return runUrl(deps.temporalUiUrl, deps.namespace, notice.workflowId, notice.runId);
}

/**
 * How to run the failed step again: for csvPipeline, `glueline redrive` from the failed step; for a step run alone
 * (pipelineStep), `glueline step` for the same step (redrive refuses pipelineStep runs). Each with the temporal CLI
 * equivalent.
 */
export function redriveCommands(
  deps: Pick<ActivityDeps, 'namespace' | 'taskQueue'>,
  notice: FailureNotice,
): { heading: string; glueline: string; temporal: string; temporalInput: string } {
  const step = stepName(notice.step);
  const id = shellWord(notice.workflowId);
  const shown =
    `temporal workflow show --workflow-id ${id} --run-id ${shellWord(notice.runId)} ` +
    `--output json: the first event's input`;
  const temporal =
    `temporal workflow start --namespace ${shellWord(deps.namespace)} --task-queue ${shellWord(deps.taskQueue)} ` +
    `--type ${shellWord(notice.workflowType)} --workflow-id ${id} --input-file redrive-input.json`;
  if (notice.workflowType === WorkflowType.step) {
    const rerun = notice.stepRerun;
    const { line, exact } = stepCommandLine({
      batchId: notice.batchId,
      step,
      ...(notice.region ? { region: notice.region } : {}),
      ...(rerun?.startedWith ? { startedWith: rerun.startedWith } : {}),
      ...(rerun ? { batchFlags: rerun.batchFlags, ...(rerun.keyCount ? { keyCount: rerun.keyCount } : {}) } : {}),
    });
    return {
      heading: stepRerunHeading(rerun, exact),
      glueline: line,
      temporal,
      temporalInput: `redrive-input.json is this run's input, unchanged (${shown})`,
    };
  }
  return {
    heading: 'Re-run from the failed step:',
    glueline: `glueline redrive ${id} --from ${step}`,
    temporal,
    temporalInput: `redrive-input.json is this run's input (${shown}) with "options": {"startAt": "${step}"}`,
  };
}

/** What the step command's heading says the reader fills in, if anything. */
function stepRerunHeading(rerun: FailureNotice['stepRerun'], exact: boolean): string {
  if (exact) return 'Run the step again (the command it was started with):';
  // A notice from a worker before stepRerun: neither the spec file nor the batch's flags are known.
  if (!rerun) return 'Run the step again (with its spec file, and the batch given as when the step was started):';
  if (!rerun.startedWith)
    return 'Run the step again (with its spec file: only glueline step records it, and this run was started otherwise):';
  return "Run the step again (with each of the batch's keys as a --key, as in the run's input):";
}

/** What a refused run's email says to do instead of a redrive: nothing ran, so there is no step to re-run from. */
const REFUSED_FIX =
  'Nothing ran. Fix the spec or the batch as the error says (the schedule, or the landing folder), then start the batch again.';

/** The email's text and HTML bodies. */
export function failureEmail(
  deps: Pick<ActivityDeps, 'temporalUiUrl' | 'namespace' | 'taskQueue'>,
  notice: FailureNotice,
): { subject: string; text: string; html: string } {
  const url = noticeRunUrl(deps, notice);
  if (isFreshnessNotice(notice)) return freshnessEmail(notice, url);
  const redrive = redriveCommands(deps, notice);
  const facts: [string, string][] = [
    ['Pipeline', notice.pipeline],
    ['Batch', notice.batchId],
    ['Step', notice.step],
    ...(notice.region ? ([['Region', notice.region]] as [string, string][]) : []),
    ['Error type', notice.error.type],
    ['Error', notice.error.message],
    ...(notice.error.cause ? ([['Cause', notice.error.cause]] as [string, string][]) : []),
    ...(notice.kind === 'warning'
      ? []
      : ([['Attempt', notice.attempt === undefined ? 'unknown' : String(notice.attempt)]] as [string, string][])),
    ['Workflow id', notice.workflowId],
    ['Run id', notice.runId],
    ['Workflow type', notice.workflowType],
    ['Started', notice.startedAt],
    [notice.kind === 'warning' ? 'Found' : 'Failed', notice.failedAt],
    ...Object.entries(notice.awsIds ?? {}).map(([k, v]) => [`AWS ${k}`, v] as [string, string]),
  ];
  // A warning's run goes on: there is nothing to re-run.
  const warning = notice.kind === 'warning';
  const headline = notice.refused
    ? `glueline pipeline ${notice.pipeline}, batch ${notice.batchId}, was refused before it started: its ${notice.refused.trigger} start gave an input that is not valid`
    : warning
      ? `glueline pipeline ${notice.pipeline}, batch ${notice.batchId}: a warning at step ${notice.step}; the run goes on`
      : `glueline pipeline ${notice.pipeline}, batch ${notice.batchId}, failed at step ${notice.step}`;
  const text = [
    `${headline}.`,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    `The run in the Temporal UI: ${url}`,
    '',
    ...(warning
      ? []
      : notice.refused
        ? [REFUSED_FIX, '']
        : [
            redrive.heading,
            `  ${redrive.glueline}`,
            'or with the temporal CLI:',
            `  ${redrive.temporal}`,
            `  (${redrive.temporalInput})`,
            '',
          ]),
  ].join('\n');
  const h = escapeHtml;
  const html = emailHtml(headline, facts, url, 'Open the run in the Temporal UI', [
    ...(warning
      ? []
      : notice.refused
        ? [`<p>${h(REFUSED_FIX)}</p>`]
        : [
            `<p>${h(redrive.heading)}</p>`,
            `<pre>${h(redrive.glueline)}</pre>`,
            '<p>or with the temporal CLI:</p>',
            `<pre>${h(redrive.temporal)}</pre>`,
            `<p>${h(redrive.temporalInput)}</p>`,
          ]),
  ]);
  return { subject: failureSubject(notice), text, html };
}

/** The secrets notifications must never carry: the webhook token and whatever else the worker names. */
const secretsOf = (deps: ActivityDeps): string[] =>
  [deps.webhookToken, ...(deps.secretsToRedact ?? [])].filter((s): s is string => typeof s === 'string' && s !== '');

/**
 * The address to mail: the spec's, or for a refused run whose spec could not be read, the worker's fallback
 * (GLUELINE_FALLBACK_NOTIFY_EMAIL).
 */
function recipientsOf(deps: ActivityDeps, notice: FailureNotice): { to: string[]; from: string } {
  if (notice.email) return notice.email;
  if (notice.refused && deps.fallbackNotifyEmail) return deps.fallbackNotifyEmail;
  throw invalidInput(
    notice.refused
      ? 'the refused run names no email address and the worker has none: set GLUELINE_FALLBACK_NOTIFY_EMAIL on the worker'
      : 'the failure notice has no email settings: set notify.email in the spec',
  );
}

async function sendFailureEmail(deps: ActivityDeps, raw: FailureNotice): Promise<SentEmail> {
  const secrets = secretsOf(deps);
  const notice = redactDeep(raw, secrets);
  const { to, from } = recipientsOf(deps, notice);
  const { subject, text, html } = failureEmail(deps, notice);
  const messageId = notificationId(notice);
  const marker = markerOf(notice, messageId);
  const alreadySent = await earlierAcceptance(deps, marker, messageId);
  if (alreadySent) {
    Context.current().log.info('the failure email was accepted on an earlier attempt: not sent again', {
      messageId,
      alreadySent,
    });
    return { messageId, alreadySent };
  }
  let response: string | undefined;
  try {
    const info = (await deps.mailer.sendMail({
      from,
      to,
      subject,
      text,
      html,
      messageId: messageIdHeader(messageId),
      headers: {
        'X-Glueline-Workflow-Id': notice.workflowId,
        'X-Glueline-Step': notice.step,
        'X-Glueline-Kind': notice.kind ?? 'failure',
      },
    })) as { response?: string };
    response = info.response;
  } catch (err) {
    const e = err as Error & { code?: string; responseCode?: number };
    const permanent =
      e.code === 'EAUTH' || e.code === 'EENVELOPE' || (e.responseCode !== undefined && e.responseCode >= 500);
    const fix =
      e.code === 'EAUTH'
        ? ": check the credentials in the worker's SMTP_URL"
        : e.code === 'EENVELOPE'
          ? ': check notify.email.to and notify.email.from in the spec'
          : e.responseCode === undefined
            ? ': check SMTP_URL on the worker and that the mail server is reachable'
            : '';
    throw emailFailed(
      redact(`sending the failure email "${subject}" failed: ${e.code ?? e.name}: ${e.message}${fix}`, secrets),
      permanent,
      { code: e.code, responseCode: e.responseCode },
    );
  }
  const recorded = await recordAcceptance(deps, marker, messageId, {
    workflowId: notice.workflowId,
    runId: notice.runId,
    step: notice.step,
    to,
    ...(response ? { serverResponse: response } : {}),
  });
  return { messageId, ...(marker && !recorded ? { recorded } : {}) };
}

async function postFailureWebhook(deps: ActivityDeps, raw: FailureNotice): Promise<{ status: number }> {
  const secrets = secretsOf(deps);
  const notice = redactDeep(raw, secrets);
  if (!notice.webhook) throw invalidInput('the failure notice has no webhook settings: set notify.webhook in the spec');
  const url = new URL(notice.webhook.url);
  const where = `${url.origin}${url.pathname}`; // never the query: it may carry a token
  const payload = {
    ...notice,
    kind: notice.kind ?? 'failure',
    email: undefined,
    webhook: undefined,
    sentRecord: undefined,
    notificationId: notificationId(notice),
    summary: failureSubject(notice),
    runUrl: noticeRunUrl(deps, notice),
    redrive: (notice.kind ?? 'failure') === 'failure' ? redriveCommands(deps, notice) : undefined,
  };
  // The email's Message-ID, as the key a receiver dedupes retried POSTs by.
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'glueline',
    'idempotency-key': payload.notificationId,
  };
  if (deps.webhookToken) headers.authorization = `Bearer ${deps.webhookToken}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(payload),
      // A redirect would carry the token elsewhere: report it instead of following it.
      redirect: 'manual',
      signal: AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
    });
  } catch (err) {
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) throw signal.reason;
    const e = err as Error & { cause?: { code?: string; message?: string } };
    throw webhookFailed(
      redact(
        `POST of the failure notice to webhook ${where} failed: ${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`,
        secrets,
      ),
    );
  }
  const bodyText = (await res.text().catch(() => '')).slice(0, 300);
  if (res.status >= 200 && res.status < 300) return { status: res.status };
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  const fix =
    res.status === 401 || res.status === 403
      ? ': check GLUELINE_WEBHOOK_TOKEN on the worker'
      : res.status >= 300 && res.status < 400
        ? ': set notify.webhook.url to the URL it redirects to'
        : '';
  throw webhookFailed(
    redact(`webhook ${where} answered HTTP ${res.status} ${res.statusText}: ${bodyText}${fix}`, secrets),
    { status: res.status, retryable },
  );
}

/** The notification activities, over the mailer and settings in `deps`. */
export function createNotifyActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'sendFailureEmail' | 'postFailureWebhook'> {
  return {
    sendFailureEmail: (input) => sendFailureEmail(deps, input),
    postFailureWebhook: (input) => postFailureWebhook(deps, input),
  };
}
