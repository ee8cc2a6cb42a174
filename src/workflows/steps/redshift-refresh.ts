/** The redshift-refresh@R step. */
import { ActivityCancellationType, patched } from '@temporalio/workflow';
import type { StatementResult } from '../../workflow-safe/activity-types';
import { FailureType } from '../../workflow-safe/failures';
import { renderAutoCommitSql, renderSql } from '../../workflow-safe/layout';
import type { RedshiftTarget } from '../../workflow-safe/spec';
import { showDetails } from '../details';
import { reconcile } from '../guards';
import { mayStillRun, stopLeftover, STOP_LEFTOVERS_PATCH } from '../leftovers';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun } from '../run-state';
import { readManifest } from './transform';

/** Marks histories whose refresh runs the spec's redshift.autoCommitSql, each statement on its own, first. */
export const AUTO_COMMIT_SQL_PATCH = 'refresh-auto-commit-sql-first';
/** Marks histories whose refresh runs the spec's redshift.autoCommitAfterSql, each on its own, after the transaction. */
export const AUTO_COMMIT_AFTER_SQL_PATCH = 'refresh-auto-commit-after-sql';

/**
 * redshift-refresh@R: runs the spec's autoCommitSql, each statement by an ExecuteStatement of its own (what
 * Redshift cannot run in a transaction block), then the refresh SQL in one transaction, then the spec's
 * autoCommitAfterSql the same way as autoCommitSql (VACUUM, ANALYZE after the load), each with an idempotency
 * key of this run and step, waiting for each. A failure stops the step: the transaction is rolled back whole,
 * the auto-commit statements before it (and a committed transaction) stay committed.
 */
export async function redshiftRefresh(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const region = p.region!;
  const target = spec.regions.find((r) => r.region === region)!.redshift!;
  const autoCommit = renderAutoCommitSql(spec, batch, region);
  // The ids of this attempt's statements, in the order they ran.
  delete p.awsIds.statementIds;
  if (autoCommit.length > 0 && patched(AUTO_COMMIT_SQL_PATCH)) {
    for (const [i, sql] of autoCommit.entries()) {
      await runAndWait(p, run, target, [sql], `auto-commit-${i + 1}`);
    }
  }
  const result = await runAndWait(p, run, target, renderSql(spec, batch, region));
  p.counts.polls = result.polls;
  const autoCommitAfter = renderAutoCommitSql(spec, batch, region, 'autoCommitAfterSql');
  if (autoCommitAfter.length > 0 && patched(AUTO_COMMIT_AFTER_SQL_PATCH)) {
    for (const [i, sql] of autoCommitAfter.entries()) {
      await runAndWait(p, run, target, [sql], `auto-commit-after-${i + 1}`);
    }
  }
  await reconcile(p, run, target, () => readManifest(p, run));
}

/**
 * Runs `sqls` (one statement: ExecuteStatement; more: BatchExecuteStatement, one transaction) and waits for
 * it. If the wait ends without the statement having ended (a cancellation while the wait was not running, a
 * timeout), the statement is cancelled before the step fails. `part` tells apart the statements of one step.
 */
async function runAndWait(
  p: StepProgress,
  run: PipelineRun,
  target: RedshiftTarget,
  sqls: string[],
  part?: string,
): Promise<StatementResult> {
  const { spec, batch } = run;
  const region = p.region!;
  const what = part ? `the ${part} statement` : 'the refresh SQL';
  const executed = await run.activities.awsCalls.executeStatements.executeWithOptions(
    {
      summary: `${p.step}: run ${what} on ${target.workgroupName ?? target.clusterIdentifier}`,
      // A cancellation waits for the call to end, so a statement it started is known, and cancelled below.
      ...(patched(STOP_LEFTOVERS_PATCH)
        ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
        : {}),
    },
    [
      {
        region,
        target,
        sqls,
        idempotencyKey: part ? `${run.runTag}/${p.step}/${part}` : `${run.runTag}/${p.step}`,
        statementName: `glueline-${spec.name}-${batch.id}`,
      },
    ],
  );
  const earlier = p.awsIds.statementIds ?? [];
  p.awsIds.statementIds = [...earlier, executed.statementId];
  showDetails(run);
  const { statementId } = executed;
  let result: StatementResult;
  try {
    result = await run.activities.awsWaits.waitForStatement.executeWithOptions(
      { summary: `${p.step}: wait for statement ${statementId}` },
      [{ region, statementId, polling: spec.polling.redshift }],
    );
  } catch (err) {
    if (mayStillRun(err, FailureType.StatementFailed)) {
      await stopLeftover(p, `redshift statement ${statementId}`, () =>
        run.activities.awsCalls.cancelStatement.executeWithOptions(
          { summary: `${p.step}: cancel statement ${statementId}` },
          [{ region, statementId, polling: spec.polling.redshift }],
        ),
      );
    }
    throw err;
  }
  p.awsIds.statementIds = [...earlier, executed.statementId, ...result.subStatements.map((s) => s.id)];
  return result;
}
