/**
 * Redshift Data API activities: run SQL at most once per step of a run (the ClientToken comes from the
 * step's idempotency key), wait for it with heartbeats (cancelling it when the workflow cancels the
 * wait), and cancel it on its own when the wait was not there to be cancelled.
 */
import { createHash } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  type DescribeStatementResponse,
  type Field,
  type StatusString,
} from '@aws-sdk/client-redshift-data';
import { log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../workflow-safe/failures';
import { DEFAULT_POLLING, type RedshiftTarget } from '../workflow-safe/spec';
import { awsCall, awsErrorName, awsFailure, invalidInput, type AwsTarget } from './errors';
import { callAfterCancel, cancelRequested, pollUntilSettled, type Outcome } from './poll';
import type {
  CancelStatementInput,
  CancelStatementResult,
  ExecuteStatementsInput,
  ExecuteStatementsResult,
  GluelineActivities,
  StatementResult,
  StoppedOnCancel,
  WaitForStatementInput,
} from '../workflow-safe/activity-types';
import type { ActivityDeps } from './deps';

/** What each statement status means for the wait. ALL is a ListStatements filter, never a status: fail loudly. */
export const STATEMENT_OUTCOME = {
  SUBMITTED: 'wait',
  PICKED: 'wait',
  STARTED: 'wait',
  FINISHED: 'done',
  FAILED: 'fail',
  ABORTED: 'fail',
  ALL: 'fail',
} as const satisfies Record<StatusString, Outcome>;

/** How long a cancelled wait keeps trying CancelStatement while the Data API refuses it retryably (throttling). */
const CANCEL_WAIT_MS = 5 * 60_000;

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

/** Where the SQL runs, in the Data API's own fields. */
function targetFields(target: RedshiftTarget) {
  if (target.workgroupName !== undefined) {
    return { WorkgroupName: target.workgroupName, Database: target.database, SecretArn: target.secretArn };
  }
  if (target.clusterIdentifier === undefined) {
    throw invalidInput('redshift target names neither clusterIdentifier nor workgroupName: give one of them');
  }
  if (target.dbUser === undefined && target.secretArn === undefined) {
    throw invalidInput(
      `redshift cluster ${target.clusterIdentifier} needs dbUser (temporary credentials) or secretArn in the spec`,
    );
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

function fieldText(field: Field): string | null {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return String(field.longValue);
  if (field.doubleValue !== undefined) return String(field.doubleValue);
  if (field.booleanValue !== undefined) return String(field.booleanValue);
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  return null;
}

const short = (sql: string | undefined, max = 300) =>
  sql === undefined ? '(SQL not reported)' : sql.length > max ? `${sql.slice(0, max - 3)}...` : sql;

/** Why a statement failed, with Redshift's Error text and the sub-statement that failed. */
function statementFailure(region: string, st: DescribeStatementResponse): ApplicationFailure {
  const subs = st.SubStatements ?? [];
  const index = subs.findIndex((s) => s.Status === 'FAILED' || s.Status === 'ABORTED');
  const failing = index >= 0 ? subs[index] : undefined;
  const error = failing?.Error ?? st.Error ?? '(Redshift gave no Error text)';
  const where =
    subs.length > 0
      ? index >= 0
        ? ` at statement ${index + 1} of ${subs.length} (${short(failing?.QueryString)})`
        : ''
      : ` (${short(st.QueryString)})`;
  return ApplicationFailure.create({
    type: FailureType.StatementFailed,
    nonRetryable: true,
    message: `redshift statement ${st.Id} in ${region} ended ${st.Status}${where}: ${error}`,
    details: [
      {
        region,
        statementId: st.Id,
        status: st.Status,
        error,
        failedStatementIndex: index >= 0 ? index : subs.length > 0 ? undefined : 0,
        failedStatementId: failing?.Id,
        failedSql: failing?.QueryString ?? (subs.length === 0 ? st.QueryString : undefined),
      },
    ],
  });
}

export function createRedshiftActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'executeStatements' | 'waitForStatement' | 'cancelStatement'> {
  const { aws } = deps;

  return {
    async executeStatements(input: ExecuteStatementsInput): Promise<ExecuteStatementsResult> {
      const client = aws.redshiftData(input.region);
      if (input.sqls.length === 0)
        throw invalidInput('executeStatements was given no SQL: pass at least one statement');
      const hasParameters = input.parameters !== undefined && Object.keys(input.parameters).length > 0;
      if (hasParameters && input.sqls.length > 1) {
        throw invalidInput(
          `named parameters (${Object.keys(input.parameters!).join(', ')}) work with one statement only: ` +
            `BatchExecuteStatement takes none. Run the parameterised statement on its own, or inline the values`,
        );
      }
      const common = {
        ...targetFields(input.target),
        StatementName: input.statementName,
        ClientToken: clientToken(input),
      };
      const target: AwsTarget = {
        operation: input.sqls.length === 1 ? 'ExecuteStatement' : 'BatchExecuteStatement',
        resource: `redshift ${describeTarget(input.target)} database ${input.target.database}`,
        region: input.region,
        notFoundFix: 'fix the redshift target in the spec, or create it',
      };
      const out = await awsCall(target, () =>
        input.sqls.length === 1
          ? client.send(
              new ExecuteStatementCommand({
                ...common,
                Sql: input.sqls[0],
                Parameters: hasParameters
                  ? Object.entries(input.parameters!).map(([name, value]) => ({ name, value }))
                  : undefined,
              }),
            )
          : client.send(new BatchExecuteStatementCommand({ ...common, Sqls: input.sqls })),
      );
      if (!out.Id) throw ApplicationFailure.retryable(`${target.operation} returned no statement Id`);
      return { statementId: out.Id };
    },

    async waitForStatement(input: WaitForStatementInput): Promise<StatementResult> {
      const client = aws.redshiftData(input.region);
      const target = statementTarget('DescribeStatement', input.region, input.statementId);
      const look = () => awsCall(target, () => client.send(new DescribeStatementCommand({ Id: input.statementId })));
      let st: DescribeStatementResponse;
      let outcome: Outcome;
      let polls = 0;
      try {
        ({ value: st, outcome } = await pollUntilSettled({
          workerShutdown: deps.workerShutdown,
          policy: input.polling,
          check: () => (polls++, look()),
          outcome: (st) => STATEMENT_OUTCOME[st.Status as StatusString] ?? 'wait',
          describe: (st) => ({ statementId: input.statementId, status: st.Status }),
        }));
      } catch (err) {
        if (!cancelRequested(err)) throw err;
        if (await cancelAfterCancelledWait(input)) {
          // Tells the workflow the statement is over, so it does not cancel it again.
          const details: StoppedOnCancel = { stoppedId: input.statementId, finalState: 'ABORTED' };
          throw new CancelledFailure(`the wait was cancelled and so was redshift statement ${input.statementId}`, [
            details,
          ]);
        }
        // Redshift refuses to cancel a statement that already ended: it may have finished just before the cancel.
        const last = await look().catch(() => undefined);
        const lastOutcome = last && (STATEMENT_OUTCOME[last.Status as StatusString] ?? 'wait');
        if (!last || lastOutcome === 'wait') throw err;
        if (lastOutcome === 'fail') {
          const details: StoppedOnCancel = { stoppedId: input.statementId, finalState: last.Status ?? 'FAILED' };
          throw new CancelledFailure(
            `the wait was cancelled; redshift statement ${input.statementId} had ended ${last.Status}`,
            [details],
          );
        }
        // It committed before the cancel reached it: its result stands, and the workflow says the cancel came late.
        log.warn('the cancel came after the redshift statement had finished', { statementId: input.statementId });
        st = last;
        outcome = 'done';
      }
      if (outcome === 'fail') throw statementFailure(input.region, st);
      const subs = st.SubStatements ?? [];
      const result: StatementResult = {
        statementId: input.statementId,
        status: 'FINISHED',
        durationMs: st.Duration !== undefined && st.Duration >= 0 ? Math.round(st.Duration / 1e6) : undefined,
        subStatements: subs.map((s) => ({ id: s.Id ?? '', status: s.Status ?? '', resultRows: s.ResultRows })),
        polls,
      };
      if (input.fetchResults) {
        // For a batch, the rows of its last statement that returned any.
        const withRows =
          subs.length > 0 ? [...subs].reverse().find((s) => s.HasResultSet)?.Id : st.HasResultSet ? st.Id : undefined;
        if (withRows) Object.assign(result, await fetchRows(input.region, withRows));
      }
      return result;
    },

    async cancelStatement(input: CancelStatementInput): Promise<CancelStatementResult> {
      const client = aws.redshiftData(input.region);
      const target = statementTarget('CancelStatement', input.region, input.statementId);
      // A throttled CancelStatement is a transient error of a poll: tried again with backoff.
      const { value } = await pollUntilSettled<CancelStatementResult>({
        policy: input.polling ?? DEFAULT_POLLING.redshift,
        check: async () => {
          try {
            await client.send(new CancelStatementCommand({ Id: input.statementId }));
            return { statementId: input.statementId, cancelled: true };
          } catch (err) {
            if (awsErrorName(err) !== 'ValidationException') throw awsFailure(err, target);
            // Redshift refuses to cancel a statement that already ended: that is the outcome we want.
            const st = await awsCall(statementTarget('DescribeStatement', input.region, input.statementId), () =>
              client.send(new DescribeStatementCommand({ Id: input.statementId })),
            );
            if ((STATEMENT_OUTCOME[st.Status as StatusString] ?? 'wait') === 'wait') throw awsFailure(err, target);
            return { statementId: input.statementId, cancelled: false, status: st.Status };
          }
        },
        outcome: () => 'done',
        describe: (r) => ({ ...r }),
      });
      log.info('redshift statement cancelled, or already over', { ...value });
      return value;
    },
  };

  /** CancelStatement for a cancelled wait, trying again while throttled. @returns whether Redshift accepted it */
  async function cancelAfterCancelledWait(input: WaitForStatementInput): Promise<boolean> {
    try {
      const out = await callAfterCancel(
        () => aws.redshiftData(input.region).send(new CancelStatementCommand({ Id: input.statementId })),
        input.polling,
        CANCEL_WAIT_MS,
      );
      log.info('cancelled the redshift statement', { statementId: input.statementId, status: out.Status });
      return true;
    } catch (err) {
      log.warn('CancelStatement failed; the statement may still run', {
        statementId: input.statementId,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return false;
    }
  }

  /** Every page of a statement's result, values as strings. */
  async function fetchRows(region: string, id: string): Promise<{ columns: string[]; rows: (string | null)[][] }> {
    const client = aws.redshiftData(region);
    const rows: (string | null)[][] = [];
    let columns: string[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall(
        { operation: 'GetStatementResult', resource: `redshift statement ${id}`, region },
        () => client.send(new GetStatementResultCommand({ Id: id, NextToken: token })),
      );
      if (page.ColumnMetadata && columns.length === 0)
        columns = page.ColumnMetadata.map((c) => c.name ?? c.label ?? '');
      for (const record of page.Records ?? []) rows.push(record.map(fieldText));
      token = page.NextToken;
    } while (token);
    return { columns, rows };
  }
}
