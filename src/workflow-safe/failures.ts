/**
 * Failure types glueline raises, as `ApplicationFailure` types. Workflows, activities, tests and the
 * notification email all name failures by these constants. AWS SDK exceptions keep their own class
 * name as the type (`AccessDeniedException`, `ThrottlingException`, ...).
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
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/**
 * The type of a wait's attempt that ended because its worker began to shut down. Retryable, so kept out
 * of {@link FailureType}: the next attempt, on another worker, resumes the wait from AWS's state.
 */
export const WORKER_SHUTDOWN_FAILURE = 'WorkerShutdown';

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
  'ExpiredToken',
  'ExpiredTokenException',
] as const;
