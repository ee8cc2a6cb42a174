/**
 * Secrets out of histories and logs, whatever AWS hands back: a Glue ErrorMessage or an S3 key can carry a value the
 * worker holds (a webhook token pasted into a job argument, a password in a file name). Every activity's failure
 * (message, stack, details, causes) and result is redacted before the SDK records it in the run's history, and every
 * log line before it is written.
 */
import { format } from 'node:util';
import type { ActivityInboundCallsInterceptor, LogEntry, WorkerInterceptors } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { redact, redactSecretValues } from '../activities/notify';
import { jsonLogLine } from './json-log';

/** Only the configured values, in every string of `value` (a result's data is left as it is otherwise). */
function redactValues<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return redactSecretValues(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactValues(v, secrets)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValues(v, secrets)])) as T;
  }
  return value;
}

const holdsSecret = (value: unknown, secrets: readonly string[]) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return redactSecretValues(text, secrets) !== text;
};

/** Redacts an error in place (message, stack, ApplicationFailure details) and its causes; returns it. */
export function redactError(err: unknown, secrets: readonly string[], depth = 0): unknown {
  if (!(err instanceof Error) || depth > 8) return err;
  err.message = redact(err.message, secrets);
  if (err.stack) err.stack = redact(err.stack, secrets);
  if (err instanceof ApplicationFailure && err.details && holdsSecret(err.details, secrets)) {
    (err as { details: unknown[] | null | undefined }).details = redactValues(err.details, secrets);
  }
  if (err.cause !== undefined) redactError(err.cause, secrets, depth + 1);
  return err;
}

/** Activity interceptors that redact `secrets` from every failure and every result. */
export function redactingInterceptors(secrets: readonly string[]): WorkerInterceptors {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      let result: unknown;
      try {
        result = await next(input);
      } catch (err) {
        throw redactError(err, secrets);
      }
      // A copy only when there is something to take out: results are the workflow's data.
      return holdsSecret(result, secrets) ? redactValues(result, secrets) : result;
    },
  };
  return { activity: [() => ({ inbound })] };
}

/** The SDK's text line (time, level, message, metadata). */
function textLogLine({ level, timestampNanos, message, meta }: LogEntry): string {
  const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
  return meta === undefined ? `${time} [${level}] ${message}` : `${time} [${level}] ${message} ${format(meta)}`;
}

/** A DefaultLogger log function writing text or JSON lines to stderr, each redacted of `secrets`. */
export function redactingLogFunction(secrets: readonly string[], json: boolean): (entry: LogEntry) => void {
  return (entry) => {
    process.stderr.write(`${redact(json ? jsonLogLine(entry) : textLogLine(entry), secrets)}\n`);
  };
}
