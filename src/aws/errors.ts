/**
 * AWS error classification, shared by the activities and provisioning: which SDK exceptions a later
 * attempt can get past, the error's name, and a message that names the operation, the resource and,
 * where there is one, the fix. The AWS layer's calls throw {@link AwsCallError}, which carries what the
 * call acted on; the activities turn it into a Temporal failure (src/activities/errors.ts).
 */
import { NON_RETRYABLE_AWS_ERRORS, RetryableFailureType } from '../workflow-safe/failures';

/** Error names that a later attempt can get past (mostly "slow down"), whatever the status code. */
const THROTTLING_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'ActiveStatementsExceededException',
  'ConcurrentRunsExceededException',
  'ConcurrentModificationException',
  'OperationTimeoutException',
  // The source changed between our HEAD and the copy (CopySourceIfMatch): the next attempt copies the new one.
  'PreconditionFailed',
]);

/**
 * 4xx errors a later attempt can get past: S3's RequestTimeout (400: the upload's body came too slowly), and
 * expired temporary credentials, which the SDK's credential provider renews for the next attempt.
 */
const RETRYABLE_CLIENT_ERRORS = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'ExpiredToken',
  'ExpiredTokenException',
]);

const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException']);

/** Error names that say the resource is not there: the fix is to create it (or to fix its name). */
const NOT_FOUND_ERRORS = new Set([
  'EntityNotFoundException',
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'ResourceNotFoundException',
]);

const ACCESS_DENIED_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'Forbidden', 'UnauthorizedOperation']);

/**
 * The Data API's answer for a workgroup or cluster that does not exist in the call's region: a ValidationException,
 * not a not-found error, so its message gets the target's not-found fix by this text.
 */
const MISSING_REDSHIFT_ENDPOINT = "Redshift endpoint doesn't exist in this region";

const NON_RETRYABLE = new Set<string>(NON_RETRYABLE_AWS_ERRORS);

/** What an AWS SDK v3 exception carries that we use. */
interface AwsErrorLike {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: { throttling?: boolean };
}

/** What an AWS call acts on, for messages: `crawler raw-sales`, `object s3://b/k`. */
export interface AwsTarget {
  /** The SDK command name without `Command`: `GetCrawler`. */
  operation: string;
  /** The resource, as a person names it: `crawler raw-sales`. */
  resource: string;
  region: string;
  /** The bucket the call acts on, so NoSuchBucket names the bucket rather than the object. @default - none */
  bucket?: string;
  /** What to do when the resource does not exist. @default - no advice */
  notFoundFix?: string;
}

/** An AWS call of the AWS layer that failed: the SDK's exception (`cause`) and what the call acted on. */
export class AwsCallError extends Error {
  constructor(
    readonly target: AwsTarget,
    override readonly cause: unknown,
  ) {
    super(describeAwsError(cause, target).message);
    this.name = cause instanceof Error ? cause.name : 'Error';
  }
}

/** The SDK exception behind `err` (itself, or the cause of an {@link AwsCallError}). */
const unwrap = (err: unknown): unknown => (err instanceof AwsCallError ? err.cause : err);

function isAwsError(err: unknown): err is AwsErrorLike {
  return err instanceof Error && typeof (err as { $metadata?: unknown }).$metadata === 'object';
}

/** The AWS error name of `err`, when it is an AWS SDK exception (or an {@link AwsCallError} of one). */
export function awsErrorName(err: unknown): string | undefined {
  const inner = unwrap(err);
  return isAwsError(inner) ? inner.name : undefined;
}

/** The name of any error (`CredentialsProviderError`, `TypeError`), or '' for something that is not one. */
export function errorName(err: unknown): string {
  const name = (unwrap(err) as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : '';
}

/** `<name>: <message>` of an error, for logs. */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The HTTP status of an AWS SDK exception. */
export function httpStatusOf(err: unknown): number | undefined {
  const inner = unwrap(err);
  return isAwsError(inner) ? inner.$metadata?.httpStatusCode : undefined;
}

/** True for throttling and server faults (and network errors): a later attempt may succeed. */
export function isRetryableAwsError(err: unknown): boolean {
  const inner = unwrap(err);
  if (!isAwsError(inner)) return true;
  if (THROTTLING_ERRORS.has(inner.name) || inner.$retryable?.throttling) return true;
  if (RETRYABLE_CLIENT_ERRORS.has(inner.name)) return true;
  if (NON_RETRYABLE.has(inner.name)) return false;
  const status = inner.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  // A redirect to the bucket's region (301 PermanentRedirect, without a body for HEAD): the same every time.
  if (status === 301) return false;
  if (status === 408 || status === 429) return true;
  return !(status >= 400 && status < 500);
}

/**
 * True when a call that failed may still have taken effect: its answer was lost (a dropped connection, a
 * timeout: no HTTP status) or the service failed after receiving it (5xx other than throttling). A throttled or
 * refused (4xx) request was not acted on.
 */
export function mayHaveTakenEffect(err: unknown): boolean {
  const inner = unwrap(err);
  if (!isAwsError(inner)) return true;
  if (THROTTLING_ERRORS.has(inner.name) || inner.$retryable?.throttling) return false;
  const status = inner.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

/** True when AWS refused the call for lack of permission (by name, or HTTP 403). */
export function isAccessDenied(err: unknown): boolean {
  if (EXPIRED_CREDENTIALS.has(errorName(err))) return false;
  return ACCESS_DENIED_ERRORS.has(errorName(err)) || httpStatusOf(err) === 403;
}

/** True when `err` is one of `names`; the name '404' also matches any HTTP 404. */
export function isNotFound(err: unknown, ...names: string[]): boolean {
  return names.includes(errorName(err)) || (names.includes('404') && httpStatusOf(err) === 404);
}

/** An AWS error as the parts of a failure: type, retryability, a message with the fix, and details. */
export interface AwsErrorDescription {
  /** The exception's class name, or AwsCallFailed for something that is not an SDK exception. */
  type: string;
  retryable: boolean;
  message: string;
  details: {
    operation: string;
    resource: string;
    region: string;
    awsErrorName: string;
    httpStatusCode: number | undefined;
    requestId: string | undefined;
  };
}

/** What `err`, raised by a call on `target`, means: the message names the operation, the resource and the fix. */
export function describeAwsError(err: unknown, target: AwsTarget): AwsErrorDescription {
  const name = err instanceof Error ? err.name : 'Error';
  const awsMessage = (err instanceof Error ? err.message : String(err)) || 'no message';
  const status = isAwsError(err) ? err.$metadata?.httpStatusCode : undefined;
  const where = `${target.resource} in ${target.region}`;
  let message: string;
  if (name === 'NoSuchBucket' && target.bucket !== undefined) {
    message =
      `bucket ${target.bucket} does not exist in ${target.region} (${target.operation} on ${target.resource}: ${awsMessage}): ` +
      'create the bucket (npm run provision) or fix the bucket name in the spec';
  } else if (
    NOT_FOUND_ERRORS.has(name) ||
    (name === 'ValidationException' && awsMessage.includes(MISSING_REDSHIFT_ENDPOINT))
  ) {
    message = `${target.resource} does not exist in ${target.region} (${target.operation}: ${name}: ${awsMessage})`;
    if (target.notFoundFix) message += `: ${target.notFoundFix}`;
  } else if (name === 'PermanentRedirect' || status === 301) {
    message = wrongRegionMessage(err, target);
  } else if (isSseCRefusal(target.operation, status, name, awsMessage)) {
    message =
      `${target.operation} on ${where} was refused (HTTP 400${awsMessage === 'UnknownError' ? '' : `: ${awsMessage}`}): ` +
      'S3 answers so for an object encrypted with a customer-provided key (SSE-C), which every read and copy must ' +
      "give; glueline does not take customer keys. Store the batch's objects with SSE-S3 or SSE-KMS (the bucket's " +
      'default encryption) and land the batch again';
  } else if (EXPIRED_CREDENTIALS.has(name)) {
    message =
      `${target.operation} on ${where} was refused: the worker's AWS credentials expired (${name}: ${awsMessage}). ` +
      'Tried again with renewed credentials; if this persists, make the credential source renew them ' +
      '(an instance or task role, or a profile with a role to assume)';
  } else if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    message =
      `${target.operation} on ${where} was denied (${awsMessage}): ` +
      `allow the worker's AWS identity to call ${target.operation} on it`;
  } else {
    message = `${target.operation} on ${where} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${awsMessage}`;
  }
  const named = isAwsError(err) || (err instanceof Error && name !== 'Error');
  return {
    type: named ? name : RetryableFailureType.AwsCallFailed,
    retryable: isRetryableAwsError(err),
    message,
    details: {
      operation: target.operation,
      resource: target.resource,
      region: target.region,
      awsErrorName: name,
      httpStatusCode: status,
      requestId: isAwsError(err) ? err.$metadata?.requestId : undefined,
    },
  };
}

/** S3 reads and copies of an object, which S3 refuses with 400 when the object is SSE-C and the key is not given. */
const OBJECT_READS = new Set(['HeadObject', 'GetObject', 'CopyObject', 'UploadPartCopy']);

/**
 * S3's refusal to read or copy an SSE-C object without its key: 400 InvalidRequest "...stored using a form of
 * Server Side Encryption...", or for HeadObject a bare 400 (a HEAD's answer has no body to say more).
 */
function isSseCRefusal(operation: string, status: number | undefined, name: string, message: string): boolean {
  if (status !== 400 || !OBJECT_READS.has(operation)) return false;
  if (name === 'InvalidRequest') return message.includes('Server Side Encryption');
  return operation === 'HeadObject' && (name === 'Unknown' || name === 'BadRequest' || name === '400');
}

/** The region S3 says a bucket is in: the 301's x-amz-bucket-region header, else the region in its Endpoint. */
export function bucketRegionOf(err: unknown): string | undefined {
  const inner = unwrap(err) as {
    $response?: { headers?: Record<string, string | undefined> };
    Endpoint?: string;
  } | null;
  const header = inner?.$response?.headers?.['x-amz-bucket-region'];
  if (header) return header;
  return /\bs3[.-]([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com/.exec(inner?.Endpoint ?? '')?.[1];
}

function wrongRegionMessage(err: unknown, target: AwsTarget): string {
  // A target that names no bucket of its own names it in its resource (`bucket b`, `object s3://b/k`).
  const bucket = target.bucket !== undefined ? `bucket ${target.bucket}` : target.resource;
  const region = bucketRegionOf(err);
  const inRegion = region ? `is in ${region}` : 'is in another region';
  return (
    `${bucket} ${inRegion}, not ${target.region}: S3 answered ${target.operation} with 301 PermanentRedirect. ` +
    `Name the bucket's region${region ? ` (${region})` : ''}: --source-region for a batch's landing bucket, the ` +
    "event record's awsRegion for S3 events, or the region of the bucket in the spec"
  );
}

/** Runs one AWS call; any exception it throws comes out as an {@link AwsCallError} on `target`. */
export async function awsCall<T>(target: AwsTarget, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof AwsCallError ? err : new AwsCallError(target, err);
  }
}

/** An AWS answer without the field the call exists for: retryable, as the next call usually has it. */
export function missingField(target: AwsTarget, what: string): AwsCallError {
  return new AwsCallError(target, new Error(`${target.operation} returned no ${what} for ${target.resource}`));
}
