/**
 * No silent refusals: a run that a schedule or an S3 event started, and that its input refuses before any step
 * runs, tells someone. Whoever the spec's `notify` names, when that section can be read on its own; otherwise the
 * worker's fallback address (GLUELINE_FALLBACK_NOTIFY_EMAIL). A run started by hand (the CLI, the temporal CLI)
 * keeps the immediate error and sends nothing: the person who started it sees the refusal at once.
 *
 * Who started the run is in its memo (`trigger`), set by the scheduled workflow and the S3 event starters.
 */
import { ApplicationFailure, CancellationScope, log, patched, workflowInfo } from '@temporalio/workflow';
import type { FailureNotice, RunTrigger } from '../workflow-safe/activity-types';
import { FailureType } from '../workflow-safe/failures';
import { TRIGGER_MEMO } from '../workflow-safe/pipeline';
import { PipelineSpec } from '../workflow-safe/spec';
import { notifyActivities } from './activity-options';
import { validateInput } from './runner';
import type { z } from 'zod';

/** Guards the refusal notice's activities: runs refused before this change sent nothing. */
const REFUSAL_NOTICE_PATCH = 'notify-refused-runs';

/** Who started this run, when nobody watched it start. */
function unwatchedTrigger(): RunTrigger | undefined {
  const trigger = workflowInfo().memo?.[TRIGGER_MEMO];
  return trigger === 'schedule' || trigger === 's3-event' ? trigger : undefined;
}

/**
 * Validates the input as {@link validateInput} does; when it refuses a run nobody watched start, sends the
 * refusal notice first, then fails the run with the same error.
 */
export async function validateOrNotify<S extends z.ZodType>(schema: S, input: unknown): Promise<z.output<S>> {
  try {
    return validateInput(schema, input);
  } catch (err) {
    const trigger = unwatchedTrigger();
    if (trigger && err instanceof ApplicationFailure && err.type === FailureType.InvalidInput) {
      if (patched(REFUSAL_NOTICE_PATCH)) await notifyRefusal(input, err, trigger);
    }
    throw err;
  }
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const field = (v: unknown, key: string): unknown =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;

/** The refusal notice: what can be read of the spec and the batch, the validation error, and the run. */
export function refusalNotice(input: unknown, failure: ApplicationFailure, trigger: RunTrigger): FailureNotice {
  const spec = field(input, 'spec');
  const info = workflowInfo();
  // The notify section alone: a spec broken elsewhere still tells its team.
  const notify = PipelineSpec.shape.notify.safeParse(field(spec, 'notify'));
  // The marker goes to the primary curated bucket only when the regions section itself is valid.
  const primary = PipelineSpec.shape.regions.safeParse(field(spec, 'regions')).data?.[0];
  return {
    pipeline: text(field(spec, 'name')) ?? '(unreadable spec)',
    batchId: text(field(field(input, 'batch'), 'id')) ?? '(no batch id)',
    step: 'input',
    error: { type: failure.type ?? FailureType.InvalidInput, message: failure.message },
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.workflowType,
    startedAt: info.runStartTime.toISOString(),
    failedAt: new Date().toISOString(),
    ...(notify.success && notify.data.email ? { email: notify.data.email } : {}),
    ...(notify.success && notify.data.webhook ? { webhook: notify.data.webhook } : {}),
    ...(primary ? { sentRecord: { region: primary.region, bucket: primary.curatedBucket } } : {}),
    refused: { trigger },
  };
}

/**
 * Sends the refusal notice on the spec's channels, or by email to the worker's fallback address when the spec's
 * notify section cannot be read. A channel that cannot send is logged; the run fails with the refusal either way.
 */
async function notifyRefusal(input: unknown, failure: ApplicationFailure, trigger: RunTrigger): Promise<void> {
  const notice = refusalNotice(input, failure, trigger);
  const retryWindowMinutes = PipelineSpec.shape.notify.safeParse(field(field(input, 'spec'), 'notify')).data
    ?.retryWindowMinutes;
  const activities = notifyActivities(retryWindowMinutes ?? 360);
  const summary = `notify-refused: the ${trigger} start was refused (${notice.error.type})`;
  await CancellationScope.nonCancellable(async () => {
    const sends: Promise<unknown>[] = [];
    // Without the spec's address the activity mails the worker's fallback (or fails, naming the setting).
    if (notice.email || !notice.webhook)
      sends.push(activities.sendFailureEmail.executeWithOptions({ summary }, [notice]));
    if (notice.webhook) sends.push(activities.postFailureWebhook.executeWithOptions({ summary }, [notice]));
    for (const outcome of await Promise.allSettled(sends))
      if (outcome.status === 'rejected')
        log.error('the refusal notice could not be sent', { error: String(outcome.reason) });
  });
}
