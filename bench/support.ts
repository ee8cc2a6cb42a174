/**
 * What every benchmark shares: the local stack it runs on, AWS clients pointed at it, a gateway
 * control client, percentiles and a Unicode bar chart for the report.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { StackEndpoints, StackOptions } from '../devstack/stack';
import { createAwsClients } from '../src/aws/clients';
import type { AwsClients } from '../src/aws/clients';
import type { ActivityDeps } from '../src/activities/deps';
import { GatewayControl } from '../devstack/testkit/gateway';
import { createSpecRedshiftTargets, warmSpecRedshiftTargets } from '../devstack/redshift-targets';
import { reliabilitySpec } from '../devstack/testkit/scripted-pipeline';
import { provision } from '../src/starters/provision';
import type { PipelineSpec } from '../src/workflow-safe/spec';

export interface BenchContext {
  stack: StackEndpoints;
  /** The stack's folder (pids.json, logs). */
  stackDir: string;
  /** Stops the stack and starts it again with these options; returns the new endpoints. */
  restartStack: (
    options: Pick<StackOptions, 'sqlitePragmas' | 'transferQueueReadsPerSecond'>,
  ) => Promise<StackEndpoints>;
  quick: boolean;
  gateway: GatewayControl;
  log: (line: string) => void;
}

/** How a figure's repetitions spread: the smallest and largest of `n`. */
export interface Spread {
  min: number;
  max: number;
  n: number;
}

/** One figure of a benchmark, next to the baseline measured in the same run. */
export interface Figure {
  name: string;
  /** The median of the repetitions when `valueSpread` is given. */
  value: number;
  unit: string;
  baselineName: string;
  baseline: number;
  /** value / baseline */
  ratio: number;
  goal?: string;
  /** The repetitions behind `value` (absent: one sample, or a figure that is not a median). */
  valueSpread?: Spread;
  baselineSpread?: Spread;
}

export interface BenchResult {
  id: string;
  title: string;
  setup: string;
  figures: Figure[];
  /** Markdown for the report: tables, charts, notes. */
  markdown: string;
  raw: unknown;
}

export function figure(f: Omit<Figure, 'ratio'>): Figure {
  return { ...f, ratio: f.baseline === 0 ? Number.NaN : f.value / f.baseline };
}

/** A figure from repetitions: the medians of `values` and `baselines`, each with its spread. */
export function medianFigure(
  f: Omit<Figure, 'value' | 'baseline' | 'ratio' | 'valueSpread' | 'baselineSpread'> & {
    values: number[];
    baselines: number[];
  },
): Figure {
  const { values, baselines, ...rest } = f;
  return {
    ...figure({ ...rest, value: median(values), baseline: median(baselines) }),
    valueSpread: spreadOf(values),
    baselineSpread: spreadOf(baselines),
  };
}

export function newGateway(stack: StackEndpoints): GatewayControl {
  return new GatewayControl(stack.aws.controlUrl);
}

export function benchAws(stack: StackEndpoints): AwsClients {
  return createAwsClients({
    endpoint: stack.aws.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

export function benchDeps(stack: StackEndpoints, aws: AwsClients): ActivityDeps {
  return {
    aws,
    mailer: { sendMail: () => Promise.reject(new Error('no mailer in benchmarks')) },
    temporalUiUrl: stack.temporal.uiUrl,
    namespace: 'default',
    taskQueue: 'glueline-bench',
  };
}

/** A MockActivityEnvironment with a quiet logger. */
export function activityEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 20_000 }, { logger: new DefaultLogger('WARN') });
}

/** The median of some repetitions (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The smallest and largest of some repetitions, and how many there were. */
export function spreadOf(values: number[]): Spread {
  return { min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** A figure's value for a table: `12.0 s`, or with its repetitions `12.0 s (11.2–13.1, n=3)`. */
export function withSpread(value: number, unit: string, spread?: Spread): string {
  const shown = unit ? `${fmt(value)} ${unit}` : fmt(value);
  return spread && spread.n > 1 ? `${shown} (${fmt(spread.min)}–${fmt(spread.max)}, n=${spread.n})` : shown;
}

/** Repetitions for a table cell: their median, with min–max and n. */
export function medianCell(values: number[], unit = ''): string {
  return withSpread(median(values), unit, spreadOf(values));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A horizontal bar chart in a fenced block: one bar per row, scaled to the largest value. */
export function barChart(rows: { label: string; value: number; note?: string }[], width = 40): string {
  const max = Math.max(...rows.map((r) => r.value), 1e-9);
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  const lines = rows.map((r) => {
    const cells = (r.value / max) * width;
    const full = Math.floor(cells);
    const part = ' ▏▎▍▌▋▊▉'[Math.round((cells - full) * 7)] ?? '';
    return `${r.label.padEnd(labelWidth)} │${'█'.repeat(full)}${part.trim()} ${r.note ?? fmt(r.value)}`;
  });
  return ['```', ...lines, '```'].join('\n');
}

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/**
 * The scripted pipeline's spec (devstack/testkit/scripted-pipeline.ts) with names of its own, without the fast
 * polling and short timeouts it sets for the reliability tests (so the defaults apply), provisioned on the bench
 * stack with its Redshift targets, their databases open.
 */
export async function provisionedBenchSpec(ctx: BenchContext): Promise<PipelineSpec> {
  const { polling: _polling, timeouts: _timeouts, ...spec } = reliabilitySpec();
  await provision({
    spec: spec as PipelineSpec,
    target: { endpoint: ctx.stack.aws.endpoint, description: 'the bench stack' },
    yes: false,
    log: () => {},
  });
  await createSpecRedshiftTargets(ctx.stack.aws.endpoint, spec);
  await warmSpecRedshiftTargets(ctx.stack.aws.controlUrl, spec);
  return spec as PipelineSpec;
}
