/** Validation with errors a person can act on: every bad field's path, the value received and the fix. */
import type { z } from 'zod';
import { didYouMean } from './suggest';

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

/** A 1-based line and column in the text a value was read from. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Where the value at `path` was written in its file (src/starters/spec-file.ts reads it from the YAML), or
 * undefined when that path is not in the file (a missing field).
 */
export type Locate = (path: readonly PropertyKey[]) => SourcePosition | undefined;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    root,
  );
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  valueType?: unknown;
}
const defOf = (schema: unknown) => (schema as { _zod: { def: SchemaDef } })._zod.def;

/** The schema of the value at `path` under `schema`, through optional, default, array and record wrappers. */
function schemaAt(schema: unknown, path: readonly PropertyKey[]): unknown {
  let current = schema;
  let rest = [...path];
  for (;;) {
    const def = defOf(current);
    const next = def.innerType ?? def.in;
    if (next) current = next;
    else if (rest.length === 0) return current;
    else if (def.type === 'object' && typeof rest[0] === 'string' && def.shape?.[rest[0]]) {
      current = def.shape[rest[0]];
      rest = rest.slice(1);
    } else if (def.type === 'array' && typeof rest[0] === 'number') {
      current = def.element;
      rest = rest.slice(1);
    } else if (def.type === 'record') {
      current = def.valueType;
      rest = rest.slice(1);
    } else return undefined;
  }
}

/** The field names an object schema at `path` takes, for "did you mean". */
function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path);
  const def = at === undefined ? undefined : defOf(at);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

interface Problem {
  path: readonly PropertyKey[];
  /** The message, after the path (and the value received, when there is one). */
  message: string;
  got: unknown;
}

function problemsOf(schema: z.ZodType, value: unknown, issues: z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const got = valueAt(value, issue.path);
    if (issue.code === 'unrecognized_keys') {
      const fields = fieldsAt(schema, issue.path);
      return issue.keys.map((key) => {
        const hint = didYouMean(key, fields);
        const fix = hint || (fields.length ? `: remove it, or use one of ${fields.join(', ')}` : ': remove it');
        return { path: [...issue.path, key], message: `unknown field ${JSON.stringify(key)}${fix}`, got: undefined };
      });
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && got === undefined) message = `is required (${issue.expected})`;
    else if (issue.code === 'invalid_type') message = `must be ${issue.expected}`;
    else if (issue.code === 'invalid_value' && typeof got === 'string')
      message += didYouMean(
        got,
        issue.values.map((v) => String(v)),
      );
    return [{ path: issue.path, message, got }];
  });
}

/** The position of `path`, or of the nearest enclosing value that is in the file. */
function nearest(locate: Locate, path: readonly PropertyKey[]): SourcePosition | undefined {
  for (let n = path.length; n >= 0; n--) {
    const at = locate(path.slice(0, n));
    if (at) return at;
  }
  return undefined;
}

/**
 * Validates `value` against `schema`, or throws a {@link SpecValidationError} naming every bad field. With
 * `locate`, each problem starts `<what>:<line>:<column>: <path>:` (what names the file), as compilers do.
 */
export function parseOrExplain<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  locate?: Locate,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = problemsOf(schema, value, result.error.issues).map(({ path, message, got }) => {
    const at = locate && nearest(locate, path);
    const where = at
      ? `${what}:${at.line}:${at.column}: ${formatPath('', path) || '(top level)'}`
      : formatPath(what, path);
    return got === undefined ? `${where}: ${message}` : `${where}: ${show(got)} ${message}`;
  });
  throw new SpecValidationError(what, problems);
}
