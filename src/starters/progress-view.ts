/**
 * Plain-text views of a run's `progress` and result, shared by the demo and the starters' live view:
 * one line per step instance, a closing summary (files, rows, bytes, time per step), and aligned tables.
 */
import type {
  PipelineProgress,
  PipelineResult,
  Reconciliation,
  StepProgress,
  StepStatus,
} from '../workflow-safe/pipeline';

const MARK: Record<StepStatus, string> = {
  pending: '·',
  running: '…',
  succeeded: '✔',
  failed: '✖',
  skipped: '-',
  cancelled: '⊘',
  'not-run': '-',
};

/** `1.5 kB`, `12 B`, `3.2 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `850ms`, `12.3s`, `4m05s`, `5h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `reconciled 355 of 355 rows` or `MISMATCH: 354 rows in the target, rowsOut 355`. */
const reconciled = (r: Reconciliation) =>
  r.matched
    ? `reconciled ${r.actualRows} of ${r.expectedRows} rows`
    : `MISMATCH: ${r.actualRows} rows in the target, rowsOut ${r.expectedRows}`;

/** Rows a user transform filtered out (or added), when it did. */
const dropped = (c: { rowsDropped?: number }) =>
  c.rowsDropped ? `, ${Math.abs(c.rowsDropped)} ${c.rowsDropped > 0 ? 'dropped' : 'added'} by the transform` : '';

/** " (joined crawl 3f2a9c1e)": which crawl a crawl step waits for, shared or its own (the id shortened). */
const crawlNote = ({ crawl }: StepProgress) =>
  crawl ? ` (${crawl.how} crawl${crawl.crawlId ? ` ${crawl.crawlId.slice(0, 8)}` : ''})` : '';

function detail(step: StepProgress): string {
  if (step.status === 'skipped' || step.status === 'not-run') return step.skipReason ? `(${step.skipReason})` : '';
  if (step.error) return `${step.error.type}: ${step.error.message}`;
  const { awsIds: ids, counts: c } = step;
  const parts: string[] = [];
  if (c.objects !== undefined) parts.push(`${c.objects} object(s), ${formatBytes(c.bytes ?? 0)}`);
  if (c.rowsIn !== undefined)
    parts.push(`${c.rowsIn} rows in, ${c.rowsOut} out, ${c.rowsRejected} rejected${dropped(c)}`);
  if (ids.quarantineUri) parts.push(`rejected rows in ${ids.quarantineUri}`);
  if (ids.jobRunId) parts.push(`job run ${ids.jobRunId}`);
  else if (ids.crawlerName) parts.push(`crawler ${ids.crawlerName}${crawlNote(step)}`);
  if (ids.statementIds?.length) parts.push(`statement ${ids.statementIds[0]}`);
  if (step.reconciliation) parts.push(reconciled(step.reconciliation));
  return parts.join('; ');
}

/**
 * A closed run's progress as it ended: a step still `pending` never ran (an earlier step failed, or the run was
 * cancelled or terminated first), so it shows as `not-run` with the reason, not as waiting its turn. A running
 * run (`temporalStatus` RUNNING) is left as it is.
 */
export function asClosed(progress: PipelineProgress, temporalStatus: string): PipelineProgress {
  if (temporalStatus === 'RUNNING' || !progress.steps.some((s) => s.status === 'pending')) return progress;
  const failed = progress.steps.find((s) => s.status === 'failed');
  const reason = failed
    ? `not run: ${failed.step} failed first`
    : `not run: the run ended ${temporalStatus.toLowerCase().replace(/_/g, ' ')} before it`;
  return {
    ...progress,
    steps: progress.steps.map((s) => (s.status === 'pending' ? { ...s, status: 'not-run', skipReason: reason } : s)),
  };
}

/** One line per step instance; a running step's time counts up to `nowMs`. */
export function formatProgressLines(progress: PipelineProgress, nowMs = Date.now()): string[] {
  const width = Math.max(...progress.steps.map((s) => s.step.length));
  return progress.steps.map((step) => {
    const elapsed =
      step.durationMs ?? (step.startedAt && step.status === 'running' ? nowMs - Date.parse(step.startedAt) : undefined);
    const time = elapsed === undefined ? '' : formatDuration(elapsed);
    return `${MARK[step.status]} ${step.step.padEnd(width)}  ${step.status.padEnd(9)}  ${time.padStart(7)}  ${detail(step)}`.trimEnd();
  });
}

/** The closing summary of a finished run: files, rows, bytes and time per step. */
export function formatSummary(result: PipelineResult): string[] {
  const t = result.totals;
  const lines = [
    `${result.workflowType} ${result.workflowId} ${result.status} in ${formatDuration(result.durationMs)}`,
  ];
  if (t.rawObjects !== undefined) lines.push(`files in:   ${t.rawObjects} CSV, ${formatBytes(t.rawBytes ?? 0)}`);
  if (t.curatedObjects !== undefined)
    lines.push(`files out:  ${t.curatedObjects} Parquet, ${formatBytes(t.curatedBytes ?? 0)} (per region)`);
  if (t.rowsIn !== undefined)
    lines.push(`rows:       ${t.rowsIn} in, ${t.rowsOut} out, ${t.rowsRejected} rejected${dropped(t)}`);
  if (t.quarantineUri) lines.push(`rejected:   ${t.quarantineUri} (glueline rejects prints them)`);
  for (const s of result.steps.filter((s) => s.reconciliation))
    lines.push(`reconciled: ${s.region}: ${reconciled(s.reconciliation!)} (${s.reconciliation!.sql})`);
  for (const w of result.warnings ?? []) lines.push(`warning:    ${w.step}: ${w.message}`);
  const ran = result.steps.filter((s) => s.durationMs !== undefined);
  if (ran.length) {
    lines.push('time per step:');
    const width = Math.max(...ran.map((s) => s.step.length));
    for (const s of ran) lines.push(`  ${s.step.padEnd(width)}  ${formatDuration(s.durationMs!).padStart(7)}`);
  }
  return lines;
}

/** Rows as an aligned text table with a header and a rule. */
export function formatTable(columns: string[], rows: string[][]): string[] {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)];
}
