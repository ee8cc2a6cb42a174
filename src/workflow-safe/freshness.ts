/**
 * Freshness deadlines (spec `freshness`): when each window ends, the watch workflow's input, state and query, and
 * what its check activity reports. Pure and deterministic (time zones through Intl, which the workflow sandbox
 * has): the watch (src/workflows/freshness-watch.ts) and the starters (`glueline freshness`, `health`) share it.
 */
import type { PipelineSpec } from './spec';
import { windowMs, type Freshness } from './spec-freshness';

/** The watch's workflow type, as the worker registers it. */
export const FRESHNESS_WORKFLOW = 'freshnessWatch';
/** The query the watch answers with its {@link FreshnessState}. */
export const FRESHNESS_QUERY = 'freshness';
/** The memo key under which the watch keeps its {@link FreshnessState}, for `health` when no worker answers. */
export const FRESHNESS_MEMO = 'freshness';
/** The patch id behind which the watch writes that memo (runs recorded before it wrote none). */
export const FRESHNESS_MEMO_PATCH = 'freshness-state-memo';
/**
 * The patch id behind which the watch leaves the first window unjudged when it started inside it and visibility
 * shows no run of the pipeline at all: no completed batch ever, no failed run and none going in the window.
 */
export const FRESHNESS_FIRST_WINDOW_PATCH = 'freshness-first-window-partial';
/** The signal that gives the watch new settings (a {@link FreshnessWatchInput}), or `null` to stop it. */
export const FRESHNESS_CONFIGURE_SIGNAL = 'configure';

/** One watch per pipeline: its workflow id. */
export const freshnessWorkflowId = (pipeline: string): string => `freshness-watch-${pipeline}`;

/** `every 6h`, `by 07:00 Europe/Berlin`. */
export const describeRule = (f: Freshness): string => (f.every ? `every ${f.every}` : `by ${f.by} ${f.timeZone}`);

/** How far local time in `zone` is ahead of UTC at `ms`, in milliseconds. */
function zoneOffsetMs(zone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return local - Math.floor(ms / 1000) * 1000;
}

/** The local calendar day (in `zone`) that `ms` falls on, as a UTC-midnight timestamp of that date. */
function localDay(zone: string, ms: number): number {
  const local = ms + zoneOffsetMs(zone, ms);
  return local - (((local % 86_400_000) + 86_400_000) % 86_400_000);
}

/** The instant at which local time in `zone` reads `hh:mm` on the local date `day` (a UTC-midnight timestamp). */
function instantOn(zone: string, day: number, hh: number, mm: number): number {
  const wall = day + hh * 3_600_000 + mm * 60_000;
  // Twice: the offset at the guess may differ from the offset at the answer across a DST change.
  const guess = wall - zoneOffsetMs(zone, wall);
  return wall - zoneOffsetMs(zone, guess);
}

/** The first deadline strictly after `afterMs`. */
export function nextDeadline(f: Freshness, afterMs: number): number {
  if (f.every) {
    const n = windowMs(f.every)!;
    return (Math.floor(afterMs / n) + 1) * n;
  }
  const [hh, mm] = f.by!.split(':').map(Number) as [number, number];
  const today = localDay(f.timeZone, afterMs);
  for (let d = -1; d <= 2; d++) {
    const at = instantOn(f.timeZone, today + d * 86_400_000, hh, mm);
    if (at > afterMs) return at;
  }
  throw new Error(`no deadline ${describeRule(f)} after ${new Date(afterMs).toISOString()}`);
}

/** The start of the window that ends at `deadline`: the deadline before it. */
export function windowStart(f: Freshness, deadline: number): number {
  if (f.every) return deadline - windowMs(f.every)!;
  // A local day earlier: 23 or 25 hours across a DST change.
  const [hh, mm] = f.by!.split(':').map(Number) as [number, number];
  return instantOn(f.timeZone, localDay(f.timeZone, deadline) - 86_400_000, hh, mm);
}

/** While a window is missed, how often the watch looks for data arriving: a quarter window, 15 minutes at most. */
export function recheckMs(f: Freshness): number {
  const window = f.every ? windowMs(f.every)! : 86_400_000;
  return Math.max(1000, Math.min(15 * 60_000, Math.floor(window / 4)));
}

/** A batch that completed. */
export interface GoodBatch {
  batchId: string;
  workflowId: string;
  /** ISO 8601: when its run closed. */
  completedAt: string;
}

/** What the check activity found for a window. */
export interface FreshnessFindings {
  /** The newest run that completed in the window. */
  completed?: GoodBatch;
  /** The newest run that closed in the window without completing, and the step it failed at. */
  failed?: { batchId: string; workflowId: string; status: string; failedStep?: string; closedAt: string };
  /** A run still going. */
  running?: { batchId: string; workflowId: string; startedAt: string };
  /** The newest run that completed at or before the window's end, whenever. */
  lastGood?: GoodBatch;
}

/** The check activity's input: a pipeline's csvPipeline runs closed in [from, to]. */
export interface CheckFreshnessInput {
  pipeline: string;
  /** ISO 8601. */
  from: string;
  to: string;
}

/** A window that passed with no batch completed, and what the watch found then. */
export interface MissedWindow {
  start: string;
  end: string;
  /** `no run started`, `a run failed`, `a run still going`. */
  found: 'no-run' | 'failed' | 'running';
  detail: string;
}

/** What the watch carries from one run to the next (continue-as-new). */
export interface FreshnessCarry {
  lastGood?: GoodBatch;
  /** The windows missed since the last good batch, oldest first; empty when data is fresh. */
  missed: MissedWindow[];
  /** The last deadline judged (ISO), so a restarted run never judges it twice. */
  lastDeadline?: string;
  /** When data came back after a miss (ISO), and with which batch. */
  back?: GoodBatch;
}

/** The watch's input: the pipeline's name and the spec parts it needs. */
export interface FreshnessWatchInput {
  pipeline: string;
  freshness: Freshness;
  notify: Pick<PipelineSpec['notify'], 'email' | 'webhook' | 'retryWindowMinutes'>;
  /** Where the email activity keeps its sent record: the primary curated bucket. */
  sentRecord?: { region: string; bucket: string };
  carry?: FreshnessCarry;
}

/** The answer to the watch's `freshness` query (and `health`'s freshness part). */
export interface FreshnessState extends FreshnessCarry {
  pipeline: string;
  /** `every 6h`, `by 07:00 Europe/Berlin`. */
  rule: string;
  status: 'fresh' | 'missed' | 'waiting';
  /** The deadline the watch waits for (ISO). */
  nextDeadline: string;
  /** Read from the watch's memo, because no worker answered its query (set by `health`, never by the watch). */
  fromMemo?: boolean;
}

/** The watch's input for a spec: undefined when the spec has no freshness section. */
export function freshnessWatchInput(spec: PipelineSpec): FreshnessWatchInput | undefined {
  if (!spec.freshness) return undefined;
  const primary = spec.regions[0]!;
  const { email, webhook, retryWindowMinutes } = spec.notify;
  return {
    pipeline: spec.name,
    freshness: spec.freshness,
    notify: { ...(email ? { email } : {}), ...(webhook ? { webhook } : {}), retryWindowMinutes },
    sentRecord: { region: primary.region, bucket: primary.curatedBucket },
  };
}
