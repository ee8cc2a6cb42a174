/**
 * Activity options, one profile per kind of activity, and the proxies built from them. Every step of
 * both workflows calls activities through these, so `pipelineStep` runs a step exactly as `csvPipeline` does.
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { GluelineActivities } from '../workflow-safe/activity-types';
import { FailureType, NON_RETRYABLE_AWS_ERRORS } from '../workflow-safe/failures';
import type { PipelineSpec } from '../workflow-safe/spec';

/**
 * Failure types no retry can fix. CopyVerificationFailed is left out on purpose: a retry copies the
 * mismatched object again, which is the fix for a copy that raced a writer.
 */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  ...Object.values(FailureType).filter((t) => t !== FailureType.CopyVerificationFailed),
  ...NON_RETRYABLE_AWS_ERRORS,
];

/**
 * Short AWS API calls (ExecuteStatement, reading the manifest, deleting objects): each attempt is
 * seconds; throttling and 5xx retry with backoff (on top of the SDK's own 3 attempts).
 */
export const AWS_CALL_OPTIONS = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
  cancellationType: ActivityCancellationType.TRY_CANCEL,
} satisfies ActivityOptions;

/**
 * Long waits that heartbeat (crawls, copies, statements, starting a Glue job run that may wait for a free
 * concurrent-run slot; the Glue wait overrides startToClose from the spec's job timeout). A worker crash is noticed within the heartbeat timeout and the retry resumes the
 * wait (a wait never starts a second job). Cancellation waits for the activity to stop the AWS work.
 */
export const AWS_WAIT_OPTIONS = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
} satisfies ActivityOptions;

/** How much longer than Glue's own job timeout the wait may run before Temporal gives up on it. */
export const GLUE_WAIT_MARGIN_MINUTES = 30;

/** The Glue wait's start-to-close: sized from the job's timeout, so a job that runs for hours is waited for. */
export function glueWaitOptions(jobTimeoutMinutes: number): ActivityOptions {
  return { startToCloseTimeout: `${jobTimeoutMinutes + GLUE_WAIT_MARGIN_MINUTES} minutes` };
}

/**
 * Failure notifications: retried for the spec's `notify.retryWindowMinutes` (6 hours unless set), so an SMTP
 * or webhook outage is survived and the message still arrives once the service is back.
 */
export const NOTIFY_OPTIONS = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '6 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [FailureType.InvalidInput],
  },
  cancellationType: ActivityCancellationType.TRY_CANCEL,
} satisfies ActivityOptions;

type ActivityName = keyof GluelineActivities;

/** Activities run as short AWS API calls. */
const AWS_CALL_ACTIVITIES = [
  'readManifest',
  'readManifestSummary',
  'executeStatements',
  'cancelStatement',
  'deleteObjects',
  'writeCopyManifest',
] as const satisfies ActivityName[];

/**
 * Activities run as long, heartbeating waits, with startCrawler (which may wait for someone else's crawl
 * to end first), startGlueJobRun (which may wait for a free concurrent-run slot) and stopGlueJobRun
 * (which waits until the run has stopped).
 */
const AWS_WAIT_ACTIVITIES = [
  'copyObjects',
  'startCrawler',
  'waitForCrawler',
  'startGlueJobRun',
  'waitForGlueJobRun',
  'stopGlueJobRun',
  'waitForStatement',
] as const satisfies ActivityName[];

/**
 * A run's activity proxies: the profiles above, with the spec's `timeouts` (how soon a dead worker's activity
 * is retried) and notification retry window.
 */
export function activityProxies(spec: Pick<PipelineSpec, 'timeouts' | 'notify'>) {
  return {
    /** Short AWS API calls. */
    awsCalls: proxyActivities<Pick<GluelineActivities, (typeof AWS_CALL_ACTIVITIES)[number]>>({
      ...AWS_CALL_OPTIONS,
      startToCloseTimeout: `${spec.timeouts.awsCallSeconds} seconds`,
    }),
    /** Long, heartbeating waits. */
    awsWaits: proxyActivities<Pick<GluelineActivities, (typeof AWS_WAIT_ACTIVITIES)[number]>>({
      ...AWS_WAIT_OPTIONS,
      heartbeatTimeout: `${spec.timeouts.heartbeatSeconds} seconds`,
    }),
    /** Failure notifications. */
    notifications: notifyActivities(spec.notify.retryWindowMinutes),
  };
}

/** The notification activities, retried for `retryWindowMinutes`. */
export function notifyActivities(retryWindowMinutes: number) {
  return proxyActivities<Pick<GluelineActivities, 'sendFailureEmail' | 'postFailureWebhook'>>({
    ...NOTIFY_OPTIONS,
    scheduleToCloseTimeout: `${retryWindowMinutes} minutes`,
  });
}

/** The retry limit of the profile an activity runs under, for the attempt count of a failure that used them all. */
export function maximumAttemptsOf(activityType: string): number | undefined {
  if ((AWS_WAIT_ACTIVITIES as readonly string[]).includes(activityType)) return AWS_WAIT_OPTIONS.retry.maximumAttempts;
  if ((AWS_CALL_ACTIVITIES as readonly string[]).includes(activityType)) return AWS_CALL_OPTIONS.retry.maximumAttempts;
  return undefined;
}
