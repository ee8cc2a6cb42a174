/** The redshift-refresh@R step. */
import { ActivityCancellationType, patched } from '@temporalio/workflow';
import type { StatementResult } from '../../workflow-safe/activity-types';
import { FailureType } from '../../workflow-safe/failures';
import { renderSql } from '../../workflow-safe/layout';
import { showDetails } from '../details';
import { reconcile } from '../guards';
import { mayStillRun, stopLeftover, STOP_LEFTOVERS_PATCH } from '../leftovers';
import type { StepProgress } from '../../workflow-safe/pipeline';
import type { PipelineRun } from '../run-state';
import { readManifest } from './transform';

/**
 * redshift-refresh@R: runs the refresh SQL with an idempotency key of this run and step, then waits for
 * it. If the wait ends without the statement having ended (a cancellation while the wait was not
 * running, a timeout), the statement is cancelled before the step fails.
 */
export async function redshiftRefresh(p: StepProgress, run: PipelineRun): Promise<void> {
  const { spec, batch } = run;
  const region = p.region!;
  const target = spec.regions.find((r) => r.region === region)!.redshift!;
  const executed = await run.activities.awsCalls.executeStatements.executeWithOptions(
    {
      summary: `${p.step}: run the refresh SQL on ${target.workgroupName ?? target.clusterIdentifier}`,
      // A cancellation waits for the call to end, so a statement it started is known, and cancelled below.
      ...(patched(STOP_LEFTOVERS_PATCH)
        ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
        : {}),
    },
    [
      {
        region,
        target,
        sqls: renderSql(spec, batch, region),
        idempotencyKey: `${run.runTag}/${p.step}`,
        statementName: `glueline-${spec.name}-${batch.id}`,
      },
    ],
  );
  p.awsIds.statementIds = [executed.statementId];
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
  p.awsIds.statementIds = [executed.statementId, ...result.subStatements.map((s) => s.id)];
  p.counts.polls = result.polls;
  await reconcile(p, run, target, () => readManifest(p, run));
}
