/**
 * What every resource kind's planner shares: a {@link Change} (one step of the plan), the field-by-field
 * drift of an existing resource, and reads that turn AccessDenied into an error naming the permission.
 */
import { isDeepStrictEqual } from 'node:util';
import { errorName, isAccessDenied, isNotFound } from '../aws/errors';

/** One setting of an existing resource that differs from the spec: what AWS has, what the spec wants. */
export interface FieldChange {
  /** AWS's name for it: `NumberOfWorkers`, `DefaultArguments --delimiter`, `versioning`. */
  field: string;
  /** @default - not set */
  from?: unknown;
  /** @default - removed */
  to?: unknown;
}

/** One step of the plan. */
export interface Change {
  action: 'create' | 'update';
  /** What it is and where, as a person reads it: `S3 bucket raw-a (us-east-1)`. */
  resource: string;
  /** What changes: `default encryption SSE-S3`, `Role, GlueVersion`. */
  detail: string;
  /** An update's settings, old and new. @default - none (a create) */
  fields?: FieldChange[];
  /** What the credentials need to make the change, named when AWS denies it. */
  permission: string;
  apply: () => Promise<void>;
}

/** Thrown before anything is changed: a conflict, a missing permission or a missing setting. */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

/** An update of `resource` that sets `fields`; its detail names them. */
export function update(
  resource: string,
  fields: FieldChange[],
  permission: string,
  apply: () => Promise<void>,
): Change[] {
  if (fields.length === 0) return [];
  return [{ action: 'update', resource, detail: fields.map((f) => f.field).join(', '), fields, permission, apply }];
}

/**
 * The fields whose actual value (first) differs from the wanted one (second). Values compare deeply,
 * object keys in any order.
 */
export function differences(pairs: [field: string, from: unknown, to: unknown][]): FieldChange[] {
  return pairs.filter(([, from, to]) => !isDeepStrictEqual(from, to)).map(([field, from, to]) => ({ field, from, to }));
}

/**
 * A role as Glue reports it: GetCrawler gives a role set by ARN back as its name (with its path), so
 * both sides compare by name.
 */
export const roleName = (role: string | undefined) => role?.replace(/^arn:aws[\w-]*:iam::\d{12}:role\//, '');

/** The role a resource to be created needs, or a ProvisionError that says where to set it. */
export function requireRole(roleArn: string | undefined, resource: string): string {
  if (roleArn === undefined) {
    throw new ProvisionError(
      `${resource} must be created, and that needs an IAM role: set spec.provision.roleArn or pass --role <arn>. Nothing was changed.`,
    );
  }
  return roleArn;
}

/** A read of the plan: AccessDenied becomes a ProvisionError that names the permission; `missing` becomes undefined. */
export async function read<T>(what: string, permission: string, call: () => Promise<T>, missing: string[] = []) {
  try {
    return await call();
  } catch (err) {
    if (isNotFound(err, ...missing)) return undefined;
    if (isAccessDenied(err)) {
      throw new ProvisionError(
        `cannot read ${what}: access denied (${errorName(err) || 'HTTP 403'}). The credentials in use need ${permission}. Nothing was changed.`,
        { cause: err },
      );
    }
    throw readFailure(what, err);
  }
}

/** A read that failed for another reason than access or absence, with the fix for missing credentials. */
export function readFailure(what: string, err: unknown): ProvisionError {
  const hint =
    errorName(err) === 'CredentialsProviderError'
      ? ' Provide AWS credentials (AWS_PROFILE, environment variables or an instance role), or use --endpoint for a local stack.'
      : '';
  return new ProvisionError(
    `cannot read ${what}: ${errorName(err)}: ${(err as Error).message}.${hint} Nothing was changed.`,
    {
      cause: err,
    },
  );
}
