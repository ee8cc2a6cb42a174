/**
 * Redshift Data API activities: run SQL at most once per step of a run (the ClientToken comes from the
 * step's idempotency key), wait for it with heartbeats (cancelling it when the workflow cancels the
 * wait), and cancel it on its own when the wait was not there to be cancelled. The calls and the state
 * table are in src/aws/redshift-data.ts; here are the Temporal decisions.
 */
import type { DescribeStatementResponse, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import {
  cancelStatement as sendCancelStatement,
  cancelUnlessOver,
  clientToken,
  describeStatement,
  executeStatement,
  fetchStatementResult,
  fieldValue,
  redshiftTargetProblem,
  resultStatementId,
  statementFailure,
  statementOutcome,
} from '../aws/redshift-data';
import { invalidInput, statementFailed } from '../workflow-safe/failures';
import { DEFAULT_POLLING } from '../workflow-safe/spec';
import { errorText } from '../aws/errors';
import { viaAws } from './errors';
import { callAfterCancel, cancelRequested, pollUntilSettled } from './poll';
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

/** How long a cancelled wait keeps trying CancelStatement while the Data API refuses it retryably (throttling). */
const CANCEL_WAIT_MS = 5 * 60_000;

async function executeStatements(deps: ActivityDeps, input: ExecuteStatementsInput): Promise<ExecuteStatementsResult> {
  const { aws } = deps;
  if (input.sqls.length === 0) {
    throw invalidInput('executeStatements was given no SQL: pass at least one statement');
  }
  const parameterNames = Object.keys(input.parameters ?? {});
  if (parameterNames.length > 0 && input.sqls.length > 1) {
    throw invalidInput(
      `named parameters (${parameterNames.join(', ')}) work with one statement only: ` +
        `BatchExecuteStatement takes none. Run the parameterised statement on its own, or inline the values`,
    );
  }
  const problem = redshiftTargetProblem(input.target);
  if (problem) throw invalidInput(problem);
  const client = aws.redshiftData(input.region);
  const statementId = await viaAws(() => executeStatement(client, { ...input, clientToken: clientToken(input) }));
  return { statementId };
}

async function waitForStatement(deps: ActivityDeps, input: WaitForStatementInput): Promise<StatementResult> {
  const { aws } = deps;
  const client = aws.redshiftData(input.region);
  const look = () => describeStatement(client, input.region, input.statementId);
  let st: DescribeStatementResponse;
  let outcome: 'done' | 'fail';
  let polls = 0;
  try {
    ({ value: st, outcome } = await pollUntilSettled({
      workerShutdown: deps.workerShutdown,
      policy: input.polling,
      check: () => (polls++, look()),
      resumeKey: `statement ${input.statementId}`,
      outcome: (st) => statementOutcome(st.Status),
      describe: (st) => ({ statementId: input.statementId, status: st.Status }),
    }));
  } catch (err) {
    if (!cancelRequested(err)) throw err;
    if (await cancelAfterCancelledWait(client, input)) {
      // Tells the workflow the statement is over, so it does not cancel it again.
      const details: StoppedOnCancel = { stoppedId: input.statementId, finalState: 'ABORTED' };
      throw new CancelledFailure(`the wait was cancelled and so was redshift statement ${input.statementId}`, [
        details,
      ]);
    }
    // Redshift refuses to cancel a statement that already ended: it may have ended just before the cancel came.
    const last = await look().catch(() => undefined);
    const lastOutcome = last && statementOutcome(last.Status);
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
  if (outcome === 'fail') {
    const { details, where } = statementFailure(input.region, st);
    throw statementFailed(details, where);
  }
  const result: StatementResult = {
    statementId: input.statementId,
    status: 'FINISHED',
    durationMs: st.Duration !== undefined && st.Duration >= 0 ? Math.round(st.Duration / 1e6) : undefined,
    subStatements: (st.SubStatements ?? []).map((s) => ({
      id: s.Id ?? '',
      status: s.Status ?? '',
      resultRows: s.ResultRows,
    })),
    polls,
  };
  const withRows = input.fetchResults ? resultStatementId(st) : undefined;
  if (withRows) {
    const { columns, records } = await viaAws(() => fetchStatementResult(client, input.region, withRows));
    result.columns = columns.map((c) => c.name ?? c.label ?? '');
    result.rows = records.map((record) => record.map(fieldValue));
  }
  return result;
}

async function cancelStatement(deps: ActivityDeps, input: CancelStatementInput): Promise<CancelStatementResult> {
  const { aws } = deps;
  const client = aws.redshiftData(input.region);
  // A throttled CancelStatement is a transient error of a poll: tried again with backoff.
  const { value } = await pollUntilSettled<CancelStatementResult>({
    policy: input.polling ?? DEFAULT_POLLING.redshift,
    check: () => cancelUnlessOver(client, input.region, input.statementId),
    outcome: () => 'done',
    describe: (r) => ({ ...r }),
  });
  log.info('redshift statement cancelled, or already over', { ...value });
  return value;
}

/** CancelStatement for a cancelled wait, trying again while throttled. @returns whether Redshift accepted it */
async function cancelAfterCancelledWait(client: RedshiftDataClient, input: WaitForStatementInput): Promise<boolean> {
  try {
    const status = await callAfterCancel(
      () => sendCancelStatement(client, input.region, input.statementId),
      input.polling,
      CANCEL_WAIT_MS,
    );
    log.info('cancelled the redshift statement', { statementId: input.statementId, status });
    return true;
  } catch (err) {
    log.warn('CancelStatement failed; the statement may still run', {
      statementId: input.statementId,
      error: errorText(err),
    });
    return false;
  }
}
/** The Redshift Data API activities, over the clients and settings in `deps`. */
export function createRedshiftActivities(
  deps: ActivityDeps,
): Pick<GluelineActivities, 'executeStatements' | 'waitForStatement' | 'cancelStatement'> {
  return {
    executeStatements: (input) => executeStatements(deps, input),
    waitForStatement: (input) => waitForStatement(deps, input),
    cancelStatement: (input) => cancelStatement(deps, input),
  };
}
