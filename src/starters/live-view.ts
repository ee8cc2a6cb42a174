/**
 * The live view of a run, shared by the demo and the starters: polls the `progress` query and shows one
 * line per step instance. On a terminal the lines are redrawn in place; in a log, a step's line is
 * printed each time its status changes. Ends with the summary of {@link formatSummary}.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY, type PipelineProgress, type PipelineResult } from '../workflow-safe/pipeline';
import { asClosed, formatProgressLines, formatSummary } from './progress-view';
import type { CommandIo } from './common';
import { TerminalFrame } from './terminal-frame';

export interface FollowOptions {
  /** Put before every line. @default '' */
  indent?: string;
  /** @default 500 */
  pollIntervalMs?: number;
}

/**
 * Draws successive progress answers: on a terminal, the step lines redrawn in place, each cut to the terminal's
 * width; otherwise (a pipe, a file) a step's line each time its status changes.
 */
export async function progressView(io: CommandIo, indent = '', nowMs: () => number = Date.now) {
  const frame = io.isTTY ? await TerminalFrame.open(io.terminal ?? process.stdout) : undefined;
  const printed = new Map<string, string>();
  return (progress: PipelineProgress): void => {
    const lines = formatProgressLines(progress, nowMs()).map((l) => `${indent}${l}`);
    if (frame) return frame.draw(lines);
    progress.steps.forEach((step, i) => {
      if (printed.get(step.step) === step.status) return;
      printed.set(step.step, step.status);
      io.out(lines[i]!);
    });
  };
}

/** Starts following `handle`'s progress; `stop()` draws the final state once more and ends. */
export function followProgress(handle: WorkflowHandle, io: CommandIo, options: FollowOptions = {}) {
  const interval = options.pollIntervalMs ?? 500;
  let stopped = false;
  let wake: (() => void) | undefined;
  const view = progressView(io, options.indent);
  const poll = async () => {
    const draw = await view;
    while (!stopped) {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
      if (progress) draw(progress);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, interval);
      });
    }
    // One last look, so the final state is on screen: a closed run's steps that never ran say so.
    const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
    if (progress) draw(closedAs ? asClosed(progress, closedAs) : progress);
  };
  let closedAs: string | undefined;
  const polling = poll();
  return {
    /** @param status how the run closed (Temporal's status), when it has */
    async stop(status?: string) {
      closedAs = status;
      stopped = true;
      wake?.();
      await polling;
    },
  };
}

/**
 * Follows a run live until it closes, then prints its summary (or the failure's cause).
 * @returns the exit code: 0 when the run succeeded, 1 otherwise.
 */
export async function watchRun(handle: WorkflowHandle, io: CommandIo, options: FollowOptions = {}): Promise<number> {
  const follow = followProgress(handle, io, options);
  try {
    const result = (await handle.result()) as PipelineResult;
    await follow.stop();
    io.out('');
    for (const line of formatSummary(result)) io.out(`${options.indent ?? ''}${line}`);
    return 0;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) {
      await follow.stop();
      throw err;
    }
    await follow.stop((await handle.describe().catch(() => undefined))?.status.name ?? 'FAILED');
    io.out('');
    io.out(`${options.indent ?? ''}${handle.workflowId} failed: ${rootCause(err)}`);
    return 1;
  }
}

/** How a run ended, for `--json`: Temporal's status, and the result or the failure's cause with the last progress. */
export interface RunOutcome {
  /** COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  status: string;
  result: PipelineResult | null;
  /** The innermost cause's message; null when the run completed. */
  failure: string | null;
  /** A failed run's progress (which step failed, and why); null when the run completed or no worker answered. */
  progress: PipelineProgress | null;
}

/** Waits for the run to close, quietly. */
export async function awaitOutcome(handle: WorkflowHandle): Promise<RunOutcome> {
  try {
    const result = (await handle.result()) as PipelineResult;
    return { status: 'COMPLETED', result, failure: null, progress: null };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const answer = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
    const { status } = await handle.describe();
    const progress = answer ? asClosed(answer, status.name) : null;
    return { status: status.name, result: null, failure: rootCause(err), progress };
  }
}

/** The innermost cause's message: the AWS error text rather than "Activity task failed". */
export function rootCause(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}
