/**
 * GLUELINE_LOG_FORMAT=json: the worker's log as one JSON object per line on stderr, for log collectors. Every
 * line the Temporal Runtime logs goes through it: the worker's own, the workflow logger's (a step's line) with the
 * workflow's ids, the activities' and the SDK core's.
 */
import type { LogEntry } from '@temporalio/worker';

/** Values JSON has no form for: bigints as strings, errors by name, message and stack. */
function plain(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** One log entry as a JSON line: `{"time", "level", "message", ...its metadata}` (the first three win on a clash). */
export function jsonLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify({ ...entry.meta, time, level: entry.level, message: entry.message }, plain);
}
