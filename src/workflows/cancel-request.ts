/**
 * A cancel request the run can no longer act on. A wait that hears of a cancel stops its AWS work and the run ends
 * cancelled; but a wait whose work had already finished (a statement that committed, a crawl that succeeded just
 * before the cancel reached it) completes, and if it was the last step, so does the run. The run must then say so
 * rather than complete as if nobody had asked (issue 22).
 */
import { CancellationScope, log } from '@temporalio/workflow';
import type { PipelineRun } from './run-state';

/** Remembers when the run's cancel request comes and which step instances are running then. */
export function watchCancelRequest(run: PipelineRun): void {
  // The root scope's promise rejects when the workflow is asked to cancel. It schedules no command, so replay of
  // histories recorded before it needs no patch.
  CancellationScope.current().cancelRequested.catch(() => {
    run.cancelSeen ??= {
      requestedAt: new Date().toISOString(),
      running: run.progress.steps.filter((s) => s.status === 'running').map((s) => s.step),
    };
  });
}

/** For a run that completed: puts a cancel request it saw into its progress and result, and logs it. */
export function noteLateCancel(run: PipelineRun): void {
  const seen = run.cancelSeen;
  if (!seen) return;
  const finishedSteps = seen.running.filter(
    (step) => run.progress.steps.find((s) => s.step === step)?.status === 'succeeded',
  );
  const what = finishedSteps.length > 0 ? inWords(finishedSteps) : 'every step';
  const whose = finishedSteps.length === 1 ? 'its' : 'their';
  const message = `cancel requested after ${what} had finished: ${whose} AWS work stands and the run completed`;
  run.progress.cancelRequest = { requestedAt: seen.requestedAt, finishedSteps, message };
  log.warn(message, { requestedAt: seen.requestedAt });
}

/** `a`, `a and b`, `a, b and c`. */
function inWords(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
