/**
 * The guards a run applies (spec redshift.reconcile and thresholds, see src/workflow-safe/spec-guards.ts): a
 * region's row count after its refresh, and the limits a batch crossed. Each patch id marks the histories whose
 * runs apply one guard; runs started before them replay as before.
 */
import { patched } from '@temporalio/workflow';
import { reconciliationMismatch, thresholdExceeded, invalidInput } from '../workflow-safe/failures';
import { reconcileSql, type LimitBreach } from '../workflow-safe/guards';
import type { ManifestSummary } from '../workflow-safe/manifest-files';
import type { RedshiftTarget } from '../workflow-safe/spec';
import type { StepProgress } from '../workflow-safe/pipeline';
import { showDetails } from './details';
import type { PipelineRun } from './run-state';

/** Marks histories whose redshift-refresh counts the batch's rows in its region after the refresh. */
export const RECONCILE_PATCH = 'reconcile-rows-after-refresh';
/** Marks histories whose stage-raw and transform judge the spec's thresholds. */
export const THRESHOLDS_PATCH = 'judge-batch-thresholds';

/**
 * Counts the batch's rows in the region's target with the spec's reconciliation SQL and compares them with the
 * manifest's rowsOut: a mismatch fails the step (ReconciliationMismatch, both numbers and the SQL). Nothing when
 * the spec reconciles nothing.
 */
export async function reconcile(
  p: StepProgress,
  run: PipelineRun,
  target: RedshiftTarget,
  loadManifest: () => Promise<ManifestSummary>,
): Promise<void> {
  const { spec, batch } = run;
  const region = p.region!;
  const sql = reconcileSql(spec, batch, region);
  if (sql === undefined || !patched(RECONCILE_PATCH)) return;
  // After startAt=redshift-refresh (or in a one-step run) the manifest was not read in this run.
  const manifest = run.manifest ?? (await loadManifest());
  const { statementId } = await run.activities.awsCalls.executeStatements.executeWithOptions(
    { summary: `${p.step}: count the batch's rows in ${region} (reconciliation)` },
    [
      {
        region,
        target,
        sqls: [sql],
        idempotencyKey: `${run.runTag}/${p.step}/reconcile`,
        statementName: `glueline-${spec.name}-${batch.id}-reconcile`,
      },
    ],
  );
  const counted = await run.activities.awsWaits.waitForStatement.executeWithOptions(
    { summary: `${p.step}: wait for the reconciliation count ${statementId}` },
    [{ region, statementId, polling: spec.polling.redshift, fetchResults: true }],
  );
  const cell = counted.rows?.length === 1 && counted.rows[0]!.length === 1 ? counted.rows[0]![0] : undefined;
  const actualRows = cell === undefined || cell === null || !/^\d+$/.test(cell) ? undefined : Number(cell);
  if (actualRows === undefined) {
    throw invalidInput(
      `the reconciliation statement ${statementId} in ${region} (${sql}) returned ` +
        `${JSON.stringify(counted.rows ?? [])}, not one row with one count: fix redshift.reconcile in the spec`,
      { region, sql, statementId },
    );
  }
  const expectedRows = manifest.rowsOut;
  p.reconciliation = { expectedRows, actualRows, matched: actualRows === expectedRows, sql, statementId };
  showDetails(run);
  if (actualRows !== expectedRows) {
    throw reconciliationMismatch({ region, expectedRows, actualRows, sql, statementId });
  }
}

/**
 * Acts on the limits a step found crossed: any `fail` one fails the step (ThresholdExceeded, naming each limit,
 * its value and the fix, and the `warn` ones crossed too); otherwise each `warn` one is recorded on the progress
 * and told in one warning notification, sent while the run goes on.
 */
export function applyLimits(p: StepProgress, run: PipelineRun, breaches: LimitBreach[]): void {
  if (breaches.length === 0 || !patched(THRESHOLDS_PATCH)) return;
  const fails = breaches.filter((b) => b.action === 'fail');
  const warns = breaches.filter((b) => b.action === 'warn');
  run.progress.warnings = [
    ...(run.progress.warnings ?? []),
    ...warns.map(({ limit, value, threshold, message }) => ({ step: p.step, limit, value, threshold, message })),
  ];
  if (fails.length) {
    const also = warns.map((w) => ({ ...w, message: `${w.message} (warn only)` }));
    throw thresholdExceeded({
      limits: [...fails, ...also].map(({ limit, value, threshold, message }) => ({ limit, value, threshold, message })),
    });
  }
  run.warn(p, warns);
}
