/**
 * The Redshift Data API: execute SQL (one statement or a batch), describe it, wait for it, fetch its
 * result pages, cancel it; and the state table. The activities, the `query` command and the demo all
 * run SQL through here. Every call that fails throws an {@link AwsCallError}.
 */
import { createHash } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  type ColumnMetadata,
  type DescribeStatementResponse,
  type Field,
  type RedshiftDataClient,
  type StatusString,
} from '@aws-sdk/client-redshift-data';
import type { ExecuteStatementsInput } from '../workflow-safe/activity-types';
import type { StatementFailedDetails } from '../workflow-safe/failures';
import type { PollPolicy, RedshiftTarget } from '../workflow-safe/spec';
import { awsCall, awsErrorName, missingField, type AwsTarget } from './errors';
import { waitUntil, type Outcome } from './waiter';

/** What each statement status means for a wait. ALL is a ListStatements filter, never a status: fail loudly. */
export const STATEMENT_OUTCOME = {
  SUBMITTED: 'wait',
  PICKED: 'wait',
  STARTED: 'wait',
  FINISHED: 'done',
  FAILED: 'fail',
  ABORTED: 'fail',
  ALL: 'fail',
} as const satisfies Record<StatusString, Outcome>;

/** The outcome of a statement's status; a status this SDK does not know yet is waited on. */
export const statementOutcome = (status: string | undefined): Outcome =>
  STATEMENT_OUTCOME[status as StatusString] ?? 'wait';

/** Longest ClientToken the Data API takes. */
export const CLIENT_TOKEN_MAX_LENGTH = 64;

/**
 * The ClientToken for a request: a SHA-256 of the idempotency key and the request itself, in hex
 * (64 characters). Stable across retries of the same step; different for other SQL, targets or regions,
 * so one key used in two regions never collides.
 */
export function clientToken(input: ExecuteStatementsInput): string {
  const material = JSON.stringify([
    input.idempotencyKey,
    input.region,
    input.target,
    input.sqls,
    input.parameters ?? null,
  ]);
  return createHash('sha256').update(material).digest('hex').slice(0, CLIENT_TOKEN_MAX_LENGTH);
}

/** What is wrong with a target, as a message with the fix, or undefined when the Data API can use it. */
export function redshiftTargetProblem(target: RedshiftTarget): string | undefined {
  if (target.workgroupName !== undefined) return undefined;
  if (target.clusterIdentifier === undefined) {
    return 'redshift target names neither clusterIdentifier nor workgroupName: give one of them';
  }
  if (target.dbUser === undefined && target.secretArn === undefined) {
    return `redshift cluster ${target.clusterIdentifier} needs dbUser (temporary credentials) or secretArn in the spec`;
  }
  return undefined;
}

/** Where the SQL runs, in the Data API's own fields (check the target with {@link redshiftTargetProblem} first). */
function targetFields(target: RedshiftTarget) {
  if (target.workgroupName !== undefined) {
    return { WorkgroupName: target.workgroupName, Database: target.database, SecretArn: target.secretArn };
  }
  return {
    ClusterIdentifier: target.clusterIdentifier,
    Database: target.database,
    DbUser: target.secretArn === undefined ? target.dbUser : undefined,
    SecretArn: target.secretArn,
  };
}

/** A statement, as the resource of an AWS call. */
const statementTarget = (operation: string, region: string, statementId: string): AwsTarget => ({
  operation,
  resource: `redshift statement ${statementId}`,
  region,
  notFoundFix: 'the Data API keeps statements for 24 hours: check the id and the region',
});

const describeTarget = (t: RedshiftTarget) =>
  t.workgroupName !== undefined ? `workgroup ${t.workgroupName}` : `cluster ${t.clusterIdentifier}`;

/** What to run and where. */
export interface ExecuteOptions {
  region: string;
  target: RedshiftTarget;
  /** One statement (ExecuteStatement) or several, run as one transaction (BatchExecuteStatement). */
  sqls: string[];
  /** Named parameters, for one statement only. @default - none */
  parameters?: Record<string, string>;
  /** @default - none */
  statementName?: string;
  /** Makes a retried request run the SQL once. @default - none: every call runs it */
  clientToken?: string;
}

/** ExecuteStatement or BatchExecuteStatement. @returns the statement Id */
export async function executeStatement(client: RedshiftDataClient, options: ExecuteOptions): Promise<string> {
  const { sqls, parameters } = options;
  const common = {
    ...targetFields(options.target),
    StatementName: options.statementName,
    ClientToken: options.clientToken,
  };
  const target: AwsTarget = {
    operation: sqls.length === 1 ? 'ExecuteStatement' : 'BatchExecuteStatement',
    resource: `redshift ${describeTarget(options.target)} database ${options.target.database}`,
    region: options.region,
    notFoundFix:
      'fix regions[].redshift in the spec (the workgroupName or clusterIdentifier, in its region), or create it: ' +
      'glueline does not provision Redshift',
  };
  const named = parameters && Object.keys(parameters).length > 0 ? parameters : undefined;
  const out = await awsCall(target, () =>
    sqls.length === 1
      ? client.send(
          new ExecuteStatementCommand({
            ...common,
            Sql: sqls[0],
            Parameters: named && Object.entries(named).map(([name, value]) => ({ name, value })),
          }),
        )
      : client.send(new BatchExecuteStatementCommand({ ...common, Sqls: sqls })),
  );
  if (!out.Id) throw missingField(target, 'statement Id');
  return out.Id;
}

/** One DescribeStatement. */
export async function describeStatement(
  client: RedshiftDataClient,
  region: string,
  statementId: string,
): Promise<DescribeStatementResponse> {
  return awsCall(statementTarget('DescribeStatement', region, statementId), () =>
    client.send(new DescribeStatementCommand({ Id: statementId })),
  );
}

const short = (sql: string | undefined, max = 300) =>
  sql === undefined ? '(SQL not reported)' : sql.length > max ? `${sql.slice(0, max - 3)}...` : sql;

/**
 * Why a statement failed, with Redshift's Error text and the sub-statement that failed; `where` names
 * that statement for the message (` at statement 2 of 3 (<sql>)`).
 */
export function statementFailure(region: string, st: DescribeStatementResponse) {
  const subs = st.SubStatements ?? [];
  const index = subs.findIndex((s) => s.Status === 'FAILED' || s.Status === 'ABORTED');
  const failing = index >= 0 ? subs[index] : undefined;
  const where =
    subs.length > 0
      ? index >= 0
        ? ` at statement ${index + 1} of ${subs.length} (${short(failing?.QueryString)})`
        : ''
      : ` (${short(st.QueryString)})`;
  const details: StatementFailedDetails = {
    region,
    statementId: st.Id,
    status: st.Status,
    error: failing?.Error ?? st.Error ?? '(Redshift gave no Error text)',
    failedStatementIndex: index >= 0 ? index : subs.length > 0 ? undefined : 0,
    failedStatementId: failing?.Id,
    failedSql: failing?.QueryString ?? (subs.length === 0 ? st.QueryString : undefined),
  };
  return { details, where };
}

/** The Id of the statement whose rows a result shows: for a batch, its last statement that returned any. */
export function resultStatementId(st: DescribeStatementResponse): string | undefined {
  const subs = st.SubStatements ?? [];
  if (subs.length > 0) return [...subs].reverse().find((s) => s.HasResultSet)?.Id;
  return st.HasResultSet ? st.Id : undefined;
}

/** A field as text: null for NULL, base64 for a blob. */
export function fieldValue(field: Field): string | null {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return String(field.longValue);
  if (field.doubleValue !== undefined) return String(field.doubleValue);
  if (field.booleanValue !== undefined) return String(field.booleanValue);
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  return null;
}

/** A statement's result: its columns and its records, every page of them. */
export interface StatementRows {
  columns: ColumnMetadata[];
  records: Field[][];
}

/** Every page of a statement's result (GetStatementResult). */
export async function fetchStatementResult(
  client: RedshiftDataClient,
  region: string,
  statementId: string,
): Promise<StatementRows> {
  const records: Field[][] = [];
  let columns: ColumnMetadata[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(statementTarget('GetStatementResult', region, statementId), () =>
      client.send(new GetStatementResultCommand({ Id: statementId, NextToken: token })),
    );
    if (page.ColumnMetadata && columns.length === 0) columns = page.ColumnMetadata;
    records.push(...(page.Records ?? []));
    token = page.NextToken;
  } while (token);
  return { columns, records };
}

/** CancelStatement. @returns whether Redshift says it cancelled the statement */
export async function cancelStatement(client: RedshiftDataClient, region: string, statementId: string) {
  const out = await awsCall(statementTarget('CancelStatement', region, statementId), () =>
    client.send(new CancelStatementCommand({ Id: statementId })),
  );
  return out.Status;
}

/**
 * CancelStatement that counts a statement already over as done: Redshift refuses (ValidationException)
 * to cancel a statement that ended, which is the outcome a cancel wants.
 */
export async function cancelUnlessOver(
  client: RedshiftDataClient,
  region: string,
  statementId: string,
): Promise<{ statementId: string; cancelled: boolean; status?: string }> {
  try {
    await cancelStatement(client, region, statementId);
    return { statementId, cancelled: true };
  } catch (err) {
    if (awsErrorName(err) !== 'ValidationException') throw err;
    const st = await describeStatement(client, region, statementId);
    if (statementOutcome(st.Status) === 'wait') throw err;
    return { statementId, cancelled: false, status: st.Status };
  }
}

/** A statement that ended FAILED or ABORTED, outside an activity (the CLI, the demo). */
export class StatementFailedError extends Error {
  override readonly name = 'StatementFailedError';
  constructor(readonly details: StatementFailedDetails) {
    super(`statement ${details.statementId} ${details.status}: ${details.error}`);
  }
}

/** How the CLI and the demo poll a statement: quick first looks, then every 2 s. */
export const QUICK_POLLING: PollPolicy = { initialIntervalMs: 100, maxIntervalMs: 2_000, backoffCoefficient: 2 };

/**
 * Runs SQL and waits for it, outside an activity: execute, poll DescribeStatement until it ends, and
 * fetch the rows. Throws {@link StatementFailedError} with Redshift's error text when the SQL fails.
 */
export async function runStatement(
  client: RedshiftDataClient,
  options: ExecuteOptions & { policy?: PollPolicy; abortSignal?: AbortSignal },
): Promise<StatementRows & { statementId: string }> {
  const statementId = await executeStatement(client, options);
  const { state, value } = await waitUntil({
    policy: options.policy ?? QUICK_POLLING,
    abortSignal: options.abortSignal,
    check: () => describeStatement(client, options.region, statementId),
    state: (st) => statementOutcome(st.Status),
  });
  if (state === 'fail') throw new StatementFailedError(statementFailure(options.region, value).details);
  const withRows = resultStatementId(value);
  const rows = withRows ? await fetchStatementResult(client, options.region, withRows) : { columns: [], records: [] };
  return { statementId, ...rows };
}
