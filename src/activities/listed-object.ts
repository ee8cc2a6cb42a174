/**
 * A JSON object in S3 that a workflow names instead of carrying its keys (a batch's key-list object, the Glue job's
 * manifest): read, parsed, checked for shape, and compared with the count, checksum and ETag the workflow holds. One
 * reader for both; each caller words the failure for its object and its fix.
 */
import type { z } from 'zod';
import { awsErrorName } from '../aws/errors';
import { getObjectRead, type ObjectRef } from '../aws/s3-objects';
import { keysChecksum } from '../workflow-safe/manifest-files';
import type { ActivityDeps } from './deps';
import { cancellable, s3Calls } from './s3-calls';

/** What the workflow holds of the object's keys. */
export interface Listed {
  count: number;
  checksum: string;
  /** The object's ETag when the workflow read it: the object is read with If-Match. @default - any */
  etag?: string;
  versionId?: string;
}

/** What is wrong with the object. */
export type ObjectProblem =
  | { kind: 'missing' }
  | { kind: 'rewritten'; etag: string; versionId?: string }
  | { kind: 'not-json'; error: string }
  | { kind: 'shape'; issues: string }
  | { kind: 'other-keys'; count: number; checksum: string; expected: Listed };

/**
 * The problem in words that complete "<the object> ...": `shape` is what the object should be ("a JSON array of
 * object keys"), `items` what it lists ("keys"), `expected` whose count it is ("the run's input names").
 */
export function problemText(problem: ObjectProblem, words: { shape: string; items: string; expected: string }) {
  switch (problem.kind) {
    case 'missing':
      return 'does not exist';
    case 'rewritten':
      return (
        `is no longer the one ${words.expected} (ETag ${problem.etag}` +
        `${problem.versionId ? `, version ${problem.versionId}` : ''})`
      );
    case 'not-json':
      return `is not JSON (${problem.error})`;
    case 'shape':
      return `is not ${words.shape}: ${problem.issues}`;
    case 'other-keys':
      return (
        `lists ${problem.count} ${words.items} (checksum ${problem.checksum}), not the ${problem.expected.count} ` +
        `(checksum ${problem.expected.checksum}) ${words.expected}`
      );
  }
}

/**
 * The object, parsed with `schema`, and the ETag and VersionId it was read at; `fail(problem)` is thrown when it is
 * missing, rewritten since `etag` (If-Match), not JSON or not of the shape. Other S3 errors are the usual failures.
 */
export async function readJsonObject<T>(
  deps: ActivityDeps,
  object: ObjectRef & Pick<Listed, 'etag' | 'versionId'>,
  schema: z.ZodType<T>,
  fail: (problem: ObjectProblem) => Error,
): Promise<{ value: T; etag?: string; versionId?: string }> {
  const { etag, versionId } = object;
  const read = await s3Calls(async () => {
    try {
      return await getObjectRead(deps.aws.s3(object.region), object, { ...cancellable(), ifMatch: etag });
    } catch (err) {
      const name = awsErrorName(err);
      if (name === 'NoSuchKey') throw fail({ kind: 'missing' });
      if (name === 'PreconditionFailed' && etag) throw fail({ kind: 'rewritten', etag, versionId });
      throw err;
    }
  });
  let json: unknown;
  try {
    json = JSON.parse(read.text);
  } catch (err) {
    throw fail({ kind: 'not-json', error: (err as Error).message });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'} ${i.message}`)
      .join('; ');
    throw fail({ kind: 'shape', issues });
  }
  return {
    value: parsed.data,
    ...(read.etag ? { etag: read.etag } : {}),
    ...(read.versionId ? { versionId: read.versionId } : {}),
  };
}

/** Throws `fail` unless `keys` are, in order, the ones `expected` counted (count and checksum). */
export function checkListed(keys: readonly string[], expected: Listed, fail: (problem: ObjectProblem) => Error): void {
  const checksum = keysChecksum(keys);
  if (keys.length !== expected.count || checksum !== expected.checksum) {
    throw fail({ kind: 'other-keys', count: keys.length, checksum, expected });
  }
}
