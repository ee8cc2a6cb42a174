/**
 * The run's one failure notification: the notice the team receives (the failed step, the error as the team
 * reads it, the attempt) and its sending on every channel the spec configures.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  log,
  TimeoutFailure,
  workflowInfo,
  type TemporalFailure,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type { FailureNotice } from '../workflow-safe/activity-types';
import type { LimitBreach } from '../workflow-safe/guards';
import { WorkflowType, type NotificationOutcome, type StepProgress } from '../workflow-safe/pipeline';
import { batchFlags, startedWithOf, type StepRerun } from '../workflow-safe/step-command';
import { primaryRegion, quarantineUri } from '../workflow-safe/layout';
import { maximumAttemptsOf } from './activity-options';
import type { PipelineRun } from './run-state';

/**
 * Sends the run's one failure notification on every channel the spec configures, at once and
 * independently (one channel failing never holds up the other), in a scope that a cancellation of the
 * workflow cannot interrupt.
 */
export async function notifyFailure(run: PipelineRun, failure: TemporalFailure): Promise<void> {
  const notice = buildNotice(run, failure);
  run.progress.notifications = await sendNotice(
    run,
    notice,
    `notify-failure: ${notice.step} failed (${notice.error.type})`,
  );
}

/**
 * Sends a warning notification: the `warn` limits `step` found crossed, as a notice of kind `warning` (its email
 * subject and webhook payload say so). The run goes on; the team reads the limits, the values and the fixes.
 */
export async function notifyWarning(run: PipelineRun, step: StepProgress, breaches: LimitBreach[]): Promise<void> {
  const notice: FailureNotice = {
    ...buildNotice(run, undefined, step),
    kind: 'warning',
    error: {
      type: 'ThresholdWarning',
      message:
        `the batch crossed ${breaches.length === 1 ? 'a limit' : `${breaches.length} limits`} of the spec's ` +
        `thresholds set to warn; the run goes on: ${breaches.map((b) => b.message).join('; ')}`,
    },
  };
  run.progress.warningNotifications = await sendNotice(
    run,
    notice,
    `notify-warning: ${step.step} crossed ${breaches.map((b) => b.limit).join(', ')}`,
  );
}

/** Sends `notice` on every channel at once, in a scope a cancellation cannot interrupt. @returns each outcome */
async function sendNotice(
  run: PipelineRun,
  notice: FailureNotice,
  summary: string,
): Promise<{ email?: NotificationOutcome; webhook?: NotificationOutcome }> {
  const { email, webhook } = run.spec.notify;
  return CancellationScope.nonCancellable(async () => {
    const channels: ['email' | 'webhook', Promise<unknown>][] = [];
    if (email)
      channels.push(['email', run.activities.notifications.sendFailureEmail.executeWithOptions({ summary }, [notice])]);
    if (webhook)
      channels.push([
        'webhook',
        run.activities.notifications.postFailureWebhook.executeWithOptions({ summary }, [notice]),
      ]);
    const outcomes = await Promise.allSettled(channels.map(([, sent]) => sent));
    const sent: { email?: NotificationOutcome; webhook?: NotificationOutcome } = {};
    outcomes.forEach((outcome, i) => {
      const channel = channels[i]![0];
      sent[channel] = outcome.status === 'fulfilled' ? 'sent' : 'failed';
      if (outcome.status === 'rejected')
        log.error(`the ${notice.kind ?? 'failure'} ${channel} could not be sent`, { error: String(outcome.reason) });
    });
    return sent;
  });
}

/** The notice the team receives: the failed step, the error, the attempt, the run and its AWS ids. */
export function buildNotice(
  run: PipelineRun,
  failure: TemporalFailure | undefined,
  step = run.failure?.step,
): FailureNotice {
  const awsIds: Record<string, string> = {};
  const ids = step?.awsIds ?? {};
  if (ids.crawlerName) awsIds.crawlerName = ids.crawlerName;
  if (ids.jobName) awsIds.jobName = ids.jobName;
  if (ids.jobRunId) awsIds.jobRunId = ids.jobRunId;
  if (ids.statementIds?.length) awsIds.statementId = ids.statementIds.join(', ');
  if (ids.buckets?.length) awsIds.buckets = ids.buckets.join(', ');
  const rejected = run.manifest && quarantineUri(run.spec, run.batch, run.manifest);
  if (rejected) awsIds.quarantine = rejected;
  const attempt = step?.attempt ?? (failure && attemptOf(failure));
  const primary = primaryRegion(run.spec);
  return {
    pipeline: run.spec.name,
    batchId: run.batch.id,
    step: step?.step ?? 'workflow',
    ...(step?.region ? { region: step.region } : {}),
    error: failure ? describeFailure(failure) : { type: 'Warning', message: '' },
    ...(attempt !== undefined ? { attempt } : {}),
    workflowId: run.progress.workflowId,
    runId: run.progress.runId,
    workflowType: run.progress.workflowType,
    startedAt: run.progress.startedAt,
    failedAt: new Date().toISOString(),
    ...(Object.keys(awsIds).length ? { awsIds } : {}),
    ...(run.spec.notify.email ? { email: run.spec.notify.email } : {}),
    ...(run.spec.notify.webhook ? { webhook: run.spec.notify.webhook } : {}),
    sentRecord: { region: primary.region, bucket: primary.curatedBucket },
    ...(run.progress.workflowType === WorkflowType.step ? { stepRerun: stepRerunOf(run) } : {}),
  };
}

/**
 * What the `glueline step` command that runs a step run again needs: the spec file as `glueline step` recorded it
 * in the memo (unknown for a run started otherwise) and the batch's flags from the input. Only data in the notice
 * (the activity's input): no command, so replaying a run from before this field issues the same commands.
 */
function stepRerunOf(run: PipelineRun): StepRerun {
  const startedWith = startedWithOf(workflowInfo().memo);
  return { ...(startedWith ? { startedWith } : {}), ...batchFlags(run.spec, run.batch) };
}

/** The type, message and cause the team reads, from the failure that reached the workflow. */
export function describeFailure(failure: TemporalFailure): FailureNotice['error'] {
  const inner = failure instanceof ActivityFailure ? failure.cause : failure;
  const activity = failure instanceof ActivityFailure ? failure.activityType : undefined;
  const causeText = (e: Error | undefined) => (e?.cause instanceof Error ? e.cause.message : undefined);
  let type: string;
  let message: string;
  if (inner instanceof CancelledFailure) {
    type = 'Cancelled';
    message = activity ? `the run was cancelled while ${activity} was running` : 'the run was cancelled';
  } else if (inner instanceof TimeoutFailure) {
    type = `Timeout:${inner.timeoutType}`;
    message = `${activity ?? 'an activity'} timed out (${inner.timeoutType})${retryText(failure)}`;
  } else if (inner instanceof ApplicationFailure) {
    type = inner.type ?? 'Error';
    message = inner.message;
  } else {
    type = inner?.name ?? 'Error';
    message = inner?.message ?? failure.message;
  }
  const cause = causeText(inner);
  return { type, message, ...(cause ? { cause } : {}) };
}

function retryText(failure: TemporalFailure): string {
  if (!(failure instanceof ActivityFailure)) return '';
  if (failure.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) return ', after every retry';
  if (failure.retryState === RetryState.TIMEOUT) return ', and its retry window closed';
  return '';
}

/**
 * The failed activity's attempt count: from the failure's details when the activity put it there
 * (`{ activityAttempt }`, Temporal's attempt number; not Glue's own `attempt` of a job run), or the
 * profile's limit when every attempt was used; otherwise unknown.
 */
export function attemptOf(failure: TemporalFailure): number | undefined {
  if (!(failure instanceof ActivityFailure)) return undefined;
  const inner = failure.cause;
  if (inner instanceof ApplicationFailure) {
    for (const detail of inner.details ?? []) {
      const attempt = (detail as { activityAttempt?: unknown } | null)?.activityAttempt;
      if (typeof attempt === 'number') return attempt;
    }
  }
  if (failure.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) return maximumAttemptsOf(failure.activityType);
  return undefined;
}
