/** Validation with errors a person can act on: every bad field's path, the value received and the fix. */
import type { z } from 'zod';

/** Thrown by {@link parseOrExplain}: one line per problem, each naming the path, the value and the fix. */
export class SpecValidationError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string[],
  ) {
    super(`${what} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SpecValidationError';
  }
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function formatPath(root: string, path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    root,
  );
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Validates `value` against `schema`, or throws a {@link SpecValidationError} naming every bad field. */
export function parseOrExplain<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const got = valueAt(value, issue.path);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys')
      message = `has unknown field(s) ${issue.keys.join(', ')}: remove them or fix their spelling`;
    else if (issue.code === 'invalid_type' && got === undefined) message = `is required (${issue.expected})`;
    else if (issue.code === 'invalid_type') message = `must be ${issue.expected}`;
    const where = formatPath(what, issue.path);
    return got === undefined || issue.code === 'unrecognized_keys'
      ? `${where}: ${message}`
      : `${where}: ${show(got)} ${message}`;
  });
  throw new SpecValidationError(what, problems);
}
