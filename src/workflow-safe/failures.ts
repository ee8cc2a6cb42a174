/**
 * Every failure type glueline raises, as `ApplicationFailure` types, with typed details and a factory
 * each. Workflows, activities, tests and the notification email all name failures by these constants.
 * AWS SDK exceptions keep their own class name as the type (`AccessDeniedException`, `ThrottlingException`,
 * ...): see {@link NON_RETRYABLE_AWS_ERRORS}.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';

/**
 * Terminal failure types: no retry of the same input can fix them. The workflows list every value
 * here as non-retryable (CopyVerificationFailed excepted, see activity-options.ts), so a type that may
 * succeed on retry belongs in {@link RetryableFailureType} instead.
 */
export const FailureType = {
  /** The spec, batch or options failed validation. */
  InvalidInput: 'InvalidInput',
  /** A Glue job run ended FAILED, ERROR, TIMEOUT, STOPPED or EXPIRED. */
  GlueJobRunFailed: 'GlueJobRunFailed',
  /** A crawl ended FAILED or CANCELLED. */
  CrawlFailed: 'CrawlFailed',
  /** A Redshift Data API statement ended FAILED or ABORTED. */
  StatementFailed: 'StatementFailed',
  /** The step expected objects where there were none (empty batch, a job that wrote nothing). */
  NoSourceObjects: 'NoSourceObjects',
  /** A copied object did not match its source (size or checksum) after copying. */
  CopyVerificationFailed: 'CopyVerificationFailed',
  /** The Glue job's manifest is missing or malformed. */
  ManifestInvalid: 'ManifestInvalid',
  /** Two source keys would land on the same destination key. */
  KeyCollision: 'KeyCollision',
  /** After the refresh, a region's target held another number of the batch's rows than the manifest's rowsOut. */
  ReconciliationMismatch: 'ReconciliationMismatch',
  /** The batch crossed a spec limit (thresholds) whose action is `fail`. */
  ThresholdExceeded: 'ThresholdExceeded',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types a later attempt may get past. */
export const RetryableFailureType = {
  /**
   * A wait's attempt ended because its worker began to shut down: the next attempt, on another worker,
   * resumes the wait from AWS's state. Benign: routine deploys must not log it as an error.
   */
  WorkerShutdown: 'WorkerShutdown',
  /** BatchStopJobRun refused to stop a run (often it ended just then): the stop is asked for again. */
  JobRunNotStopped: 'JobRunNotStopped',
  /** DeleteObjects reported per-key errors without an S3 error code. */
  DeleteObjectsFailed: 'DeleteObjectsFailed',
  /** An AWS call failed with something that is not an SDK exception (a network error, an empty answer). */
  AwsCallFailed: 'AwsCallFailed',
} as const;
export type RetryableFailureType = (typeof RetryableFailureType)[keyof typeof RetryableFailureType];

/** Failure types of the notify activities: retryable or not depending on what the server said. */
export const NotifyFailureType = {
  /** The SMTP server refused or could not be reached. */
  EmailFailed: 'EmailFailed',
  /** The webhook answered with a non-2xx status or could not be reached. */
  WebhookFailed: 'WebhookFailed',
} as const;
export type NotifyFailureType = (typeof NotifyFailureType)[keyof typeof NotifyFailureType];

/** AWS error names that will not succeed on retry: the fix is a change of configuration or permissions. */
export const NON_RETRYABLE_AWS_ERRORS = [
  'AccessDenied',
  'AccessDeniedException',
  'EntityNotFoundException',
  'ValidationException',
  'InvalidInputException',
  'NoSuchBucket',
  'NoSuchKey',
  'ResourceNotFoundException',
  'IllegalSessionStateException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  // A bucket in another region than the client's: every retry gets the same redirect (the message names the region).
  'PermanentRedirect',
] as const;

/** A terminal failure of `type` with one typed details object. */
const terminal = <D extends object>(type: FailureType, message: string, details?: D): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : undefined });

/** A non-retryable failure of bad input: the message says what was wrong and how to fix it. */
export function invalidInput(message: string, details?: Record<string, unknown>): ApplicationFailure {
  return terminal(FailureType.InvalidInput, message, details);
}

/** Details of {@link FailureType.GlueJobRunFailed}. */
export interface GlueJobRunFailedDetails {
  region: string;
  jobName: string;
  jobRunId: string | undefined;
  jobRunState: string;
  /** Glue's ErrorMessage. */
  errorMessage: string | undefined;
  /** Where the run's logs are: its CloudWatch log groups, and the stream named for the run. */
  logGroups: string[];
  logStream: string | undefined;
  executionTimeSeconds: number | undefined;
  /** Glue's own attempt number of the run. */
  attempt: number | undefined;
}

/** A Glue job run that ended badly, in Glue's words, with where to look next. */
export function glueJobRunFailed(details: GlueJobRunFailedDetails, timeoutMinutes?: number): ApplicationFailure {
  const { jobRunState: state, jobRunId, jobName, region } = details;
  const hint =
    state === 'TIMEOUT'
      ? ` (the run reached its timeout of ${timeoutMinutes ?? '?'} minutes: raise transform.timeoutMinutes if the batch needs longer)`
      : state === 'STOPPED'
        ? ' (the run was stopped before it finished)'
        : '';
  const errorMessage = details.errorMessage ?? '(Glue gave no ErrorMessage)';
  return terminal(
    FailureType.GlueJobRunFailed,
    `glue job run ${jobRunId} of job ${jobName} ended ${state}: ${errorMessage}${hint}. ` +
      `Logs: CloudWatch log groups ${details.logGroups.join(' and ')} in ${region}, log stream ${details.logStream}`,
    details,
  );
}

/** Details of {@link FailureType.CrawlFailed}. */
export interface CrawlFailedDetails {
  region: string;
  crawlerName: string;
  /** LastCrawl.Status: FAILED or CANCELLED. */
  status: string | undefined;
  errorMessage: string | undefined;
  logGroup: string;
  logStream: string;
  messagePrefix: string | undefined;
}

/** A crawl that ended FAILED or CANCELLED, with Glue's ErrorMessage and its logs. */
export function crawlFailed(details: CrawlFailedDetails, startedAt: Date | undefined): ApplicationFailure {
  return terminal(
    FailureType.CrawlFailed,
    `crawl of crawler ${details.crawlerName} in ${details.region} (started ${startedAt?.toISOString()}) ended ` +
      `${details.status}: ${details.errorMessage ?? '(Glue gave no ErrorMessage)'}. ` +
      `Logs: CloudWatch log group ${details.logGroup}, log stream ${details.logStream}`,
    details,
  );
}

/** Details of {@link FailureType.StatementFailed}. */
export interface StatementFailedDetails {
  region: string;
  statementId: string | undefined;
  status: string | undefined;
  /** Redshift's Error text. */
  error: string;
  /** Which statement of a batch failed (0-based); 0 for a single statement. */
  failedStatementIndex: number | undefined;
  failedStatementId: string | undefined;
  failedSql: string | undefined;
}

/** A Redshift statement that ended FAILED or ABORTED; `where` names the statement of a batch that failed. */
export function statementFailed(details: StatementFailedDetails, where: string): ApplicationFailure {
  return terminal(
    FailureType.StatementFailed,
    `redshift statement ${details.statementId} in ${details.region} ended ${details.status}${where}: ${details.error}`,
    details,
  );
}

/** Details of {@link FailureType.NoSourceObjects} raised by a copy. */
export interface NoSourceObjectsDetails {
  region: string;
  bucket: string;
  prefix: string | undefined;
  keys: string[] | undefined;
}

/** The step found no objects where it expected some: the message names where and what to check. */
export function noSourceObjects(message: string, details?: NoSourceObjectsDetails): ApplicationFailure {
  return terminal(FailureType.NoSourceObjects, message, details);
}

/** Details of {@link FailureType.CopyVerificationFailed}. */
export interface CopyVerificationFailedDetails {
  /** `s3://bucket/key` of the source. */
  source: string;
  /** `<region>/<bucket>/<key>` of the copy. */
  destination: string;
  /** What differs: size, a checksum or the ETag. */
  why: string;
}

/**
 * A copy that does not match its source. Non-retryable within the activity; the workflows retry it
 * (a retry copies the object again).
 */
export function copyVerificationFailed(message: string, details: CopyVerificationFailedDetails): ApplicationFailure {
  return terminal(FailureType.CopyVerificationFailed, message, details);
}

/** Details of {@link FailureType.ManifestInvalid}. */
export interface ManifestInvalidDetails {
  region: string;
  bucket: string;
  key: string;
}

/** The Glue job's manifest at `details` is missing or malformed; `why` completes "the manifest ... ". */
export function manifestInvalid(details: ManifestInvalidDetails, why: string): ApplicationFailure {
  return terminal(
    FailureType.ManifestInvalid,
    `the Glue job's manifest s3://${details.bucket}/${details.key} (${details.region}) ${why}`,
    details,
  );
}

/**
 * A file the Glue job's manifest lists, at `details`, is not as the manifest says (missing, or another size): a
 * COPY manifest of it would fail the refresh or load other rows. `why` completes "s3://bucket/key (region) ...".
 */
export function manifestFileMismatch(details: ManifestInvalidDetails, why: string): ApplicationFailure {
  return terminal(
    FailureType.ManifestInvalid,
    `s3://${details.bucket}/${details.key} (${details.region}) ${why}`,
    details,
  );
}

/** Details of {@link FailureType.KeyCollision}. */
export interface KeyCollisionDetails {
  destinationKey: string;
  sourceKeys: [string, string];
}

/** Two source keys would be copied to one destination key. */
export function keyCollision(bucket: string, details: KeyCollisionDetails): ApplicationFailure {
  const [first, second] = details.sourceKeys;
  return terminal(
    FailureType.KeyCollision,
    `source keys ${first} and ${second} in s3://${bucket} would both be copied to ${details.destinationKey}: ` +
      `rename one of them or change rename.stripPrefix/addPrefix`,
    details,
  );
}

/** Details of {@link FailureType.ReconciliationMismatch}. */
export interface ReconciliationMismatchDetails {
  region: string;
  /** The manifest's rowsOut, and what the statement counted. */
  expectedRows: number;
  actualRows: number;
  sql: string;
  statementId: string;
}

/** The region's target does not hold the batch's rowsOut rows after the refresh: both numbers and the SQL. */
export function reconciliationMismatch(details: ReconciliationMismatchDetails): ApplicationFailure {
  const { region, expectedRows, actualRows, sql, statementId } = details;
  return terminal(
    FailureType.ReconciliationMismatch,
    `after the refresh, redshift in ${region} holds ${actualRows} row(s) of the batch where the Glue job's manifest ` +
      `says rowsOut ${expectedRows} (counted by statement ${statementId}: ${sql}): check the refresh SQL and ` +
      `whatever else writes or deletes the table, then re-run from redshift-refresh; if the count is not meant to ` +
      `equal rowsOut, set redshift.reconcile in the spec`,
    details,
  );
}

/** Details of {@link FailureType.ThresholdExceeded}: every `fail` limit the batch crossed at one step. */
export interface ThresholdExceededDetails {
  limits: { limit: string; value: number; threshold: number; message: string }[];
}

/** The batch crossed one or more `fail` limits; the message names each limit, the value and the fix. */
export function thresholdExceeded(details: ThresholdExceededDetails): ApplicationFailure {
  return terminal(
    FailureType.ThresholdExceeded,
    `the batch crossed ${details.limits.length === 1 ? 'a limit' : `${details.limits.length} limits`} of the spec's ` +
      `thresholds: ${details.limits.map((l) => l.message).join('; ')}`,
    details,
  );
}

/**
 * The attempt of a wait ended because the worker is shutting down: retried after 1 s (on another worker,
 * which resumes the wait), and BENIGN so routine deploys do not log it as an error.
 */
export function workerShutdown(heartbeatDetails: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: RetryableFailureType.WorkerShutdown,
    message: 'the worker is shutting down: the next attempt, on another worker, resumes this wait',
    nextRetryDelay: '1 second',
    category: ApplicationFailureCategory.BENIGN,
    details: [heartbeatDetails],
  });
}

/** Details of {@link RetryableFailureType.JobRunNotStopped}. */
export interface JobRunNotStoppedDetails {
  region: string;
  jobName: string;
  jobRunId: string;
  /** BatchStopJobRun's ErrorDetail.ErrorCode. */
  errorCode: string;
}

/** BatchStopJobRun refused to stop the run: retryable, as the next look usually finds it ended. */
export function jobRunNotStopped(message: string, details: JobRunNotStoppedDetails): ApplicationFailure {
  return ApplicationFailure.create({ type: RetryableFailureType.JobRunNotStopped, message, details: [details] });
}

/** Details of a DeleteObjects batch with per-key errors. */
export interface DeleteObjectsFailedDetails {
  bucket: string;
  /** The first 20 per-key errors, as S3 reported them. */
  errors: { Key?: string; Code?: string; Message?: string }[];
}

/**
 * DeleteObjects could not delete some keys. The type is S3's code of the first error (AccessDenied, ...),
 * else DeleteObjectsFailed; non-retryable only when access was denied.
 */
export function deleteObjectsFailed(
  message: string,
  code: string | undefined,
  denied: boolean,
  details: DeleteObjectsFailedDetails,
): ApplicationFailure {
  return ApplicationFailure.create({
    type: code ?? RetryableFailureType.DeleteObjectsFailed,
    nonRetryable: denied,
    message,
    details: [details],
  });
}

/** Details of {@link NotifyFailureType.EmailFailed}. */
export interface EmailFailedDetails {
  /** nodemailer's error code (EAUTH, EENVELOPE, ECONNECTION, ...). */
  code: string | undefined;
  /** The SMTP reply code. */
  responseCode: number | undefined;
}

/** Sending the failure email failed; permanent for bad credentials, a bad envelope or a 5xx reply. */
export function emailFailed(message: string, permanent: boolean, details: EmailFailedDetails): ApplicationFailure {
  return ApplicationFailure.create({
    type: NotifyFailureType.EmailFailed,
    nonRetryable: permanent,
    message,
    details: [details],
  });
}

/** Details of {@link NotifyFailureType.WebhookFailed} when the webhook answered. */
export interface WebhookFailedDetails {
  /** The HTTP status it answered with. */
  status: number;
}

/** The webhook POST failed: unreachable (retryable, no details) or answered a non-2xx status. */
export function webhookFailed(
  message: string,
  answer?: WebhookFailedDetails & { retryable: boolean },
): ApplicationFailure {
  return ApplicationFailure.create({
    type: NotifyFailureType.WebhookFailed,
    nonRetryable: answer ? !answer.retryable : undefined,
    message,
    details: answer ? [{ status: answer.status }] : undefined,
  });
}
