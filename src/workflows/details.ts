/** The UI's "current details" line of a run. */
import { setCurrentDetails } from '@temporalio/workflow';
import { quarantineUri } from '../workflow-safe/layout';
import type { StepProgress } from '../workflow-safe/pipeline';
import type { PipelineRun } from './run-state';

/** A crawl step's crawl: " (joined crawl 3f2a…: <why>)". */
const crawl = (s: StepProgress) => (s.crawl ? ` (${s.crawl.how} a crawl: ${s.crawl.reason})` : '');

/** One line for the UI's "current details": what the run is doing now. */
export function showDetails(run: PipelineRun): void {
  const running = run.progress.steps.filter((s) => s.status === 'running');
  const done = run.progress.steps.filter((s) => s.status === 'succeeded').length;
  const total = run.progress.steps.filter((s) => s.status !== 'skipped').length;
  const ids = (s: StepProgress) =>
    [s.awsIds.jobRunId, ...(s.awsIds.statementIds ?? [])].filter((x): x is string => !!x).join(', ');
  const late = run.progress.cancelRequest ? ` (${run.progress.cancelRequest.message})` : '';
  const now = running.length
    ? running.map((s) => `**${s.step}** running${ids(s) ? ` (${ids(s)})` : ''}${crawl(s)}`).join('; ')
    : `**${run.progress.status}**${late}`;
  const reconciled = run.progress.steps
    .filter((s) => s.reconciliation)
    .map(({ region, reconciliation: r }) =>
      r!.matched ? `${region} ${r!.actualRows} rows` : `${region} **MISMATCH** ${r!.actualRows} of ${r!.expectedRows}`,
    );
  const guards = [
    ...(reconciled.length ? [` Reconciled: ${reconciled.join(', ')}.`] : []),
    ...(run.progress.warnings?.length ? [` Warnings: ${run.progress.warnings.map((w) => w.limit).join(', ')}.`] : []),
  ].join('');
  const rejected = run.manifest && quarantineUri(run.spec, run.batch, run.manifest);
  const rows = rejected ? ` ${run.manifest!.rowsRejected} rows rejected: ${rejected}.` : '';
  setCurrentDetails(`${run.spec.name} / ${run.batch.id}: ${now}. ${done} of ${total} steps done.${rows}${guards}`);
}
