/**
 * One run's state: the validated input, each step instance's progress, what steps hand on (the manifest),
 * the first failure, and the one failure notification.
 */
import { workflowInfo, type TemporalFailure } from '@temporalio/workflow';
import type { LimitBreach } from '../workflow-safe/guards';
import { quarantineUri, type GlueManifest } from '../workflow-safe/layout';
import type { ManifestSummary } from '../workflow-safe/manifest-files';
import {
  stepInstance,
  isPerRegionStep,
  type PipelineProgress,
  type PipelineResult,
  type StepProgress,
} from '../workflow-safe/pipeline';
import { type PipelineSpec } from '../workflow-safe/spec';
import { STEPS, type Batch, type StepName } from '../workflow-safe/run-input';
import { activityProxies } from './activity-options';
import { notifyFailure, notifyWarning } from './notify';

/** What a step does, given its progress to keep and the run it belongs to. */
export type StepBody = (p: StepProgress, run: PipelineRun) => Promise<void>;

/** Why a step instance does not run, or undefined when it runs. */
export type SkipRule = (step: StepName, region?: string) => string | undefined;

/** Every step instance of a spec, in pipeline order (per-region steps in the spec's region order). */
export function allStepInstances(spec: PipelineSpec): { name: StepName; region?: string }[] {
  return STEPS.flatMap((name) =>
    isPerRegionStep(name) ? spec.regions.map((r) => ({ name, region: r.region })) : [{ name }],
  );
}

/** One run's state: the validated input, each step instance's progress, and what steps hand on. */
export class PipelineRun {
  readonly progress: PipelineProgress;
  private readonly steps = new Map<string, StepProgress>();
  /** What the run keeps of the Glue job's manifest, once transform or a later step has read it. */
  manifest?: ManifestSummary;
  /**
   * The whole manifest, files listed: only in a history from before the summary (transform.ts
   * MANIFEST_SUMMARY_PATCH), where replicate-curated's older paths list its keys.
   */
  wholeManifest?: GlueManifest;
  /** The activities, with the spec's timeouts. */
  readonly activities: ReturnType<typeof activityProxies>;
  /** The first step that failed (or was cancelled), and why. */
  failure?: { step: StepProgress; error: TemporalFailure };
  /** When the run's cancel request came, and the step instances running then (./cancel-request). */
  cancelSeen?: { requestedAt: string; running: string[] };

  constructor(
    readonly spec: PipelineSpec,
    readonly batch: Batch,
    instances: { name: StepName; region?: string }[],
    skipRule: SkipRule,
  ) {
    const info = workflowInfo();
    this.activities = activityProxies(spec);
    this.progress = {
      workflowType: info.workflowType,
      pipeline: spec.name,
      batchId: batch.id,
      workflowId: info.workflowId,
      runId: info.runId,
      status: 'running',
      startedAt: new Date(info.startTime).toISOString(),
      steps: [],
    };
    for (const { name, region } of instances) {
      const step = stepInstance(name, region);
      const skipReason = structuralSkip(spec, name, region) ?? skipRule(name, region);
      const progress: StepProgress = {
        step,
        name,
        ...(region ? { region } : {}),
        status: skipReason ? 'skipped' : 'pending',
        ...(skipReason ? { skipReason } : {}),
        awsIds: {},
        counts: {},
      };
      this.steps.set(step, progress);
      this.progress.steps.push(progress);
    }
  }

  /** The progress of a step instance, or undefined when this run does not include it. */
  step(name: StepName, region?: string): StepProgress | undefined {
    return this.steps.get(stepInstance(name, region));
  }

  private notified?: Promise<void>;
  /** Sends the run's failure notification; later calls wait for the same one: one notice per failed run. */
  notifyOnce(failure: TemporalFailure): Promise<void> {
    return (this.notified ??= notifyFailure(this, failure));
  }

  private readonly warningsSent: Promise<void>[] = [];
  /**
   * Sends one warning notification of `breaches` (`warn` limits `step` found crossed) without holding up the
   * run: a mail server that is down must not delay the data. The run waits for it before it ends.
   */
  warn(step: StepProgress, breaches: LimitBreach[]): void {
    this.warningsSent.push(notifyWarning(this, step, breaches));
  }

  /** Waits until every warning notification is out, or given up (each channel's outcome is on the progress). */
  async warningsOut(): Promise<void> {
    await Promise.allSettled(this.warningsSent);
  }

  get runTag(): string {
    return `${this.progress.workflowId}/${this.progress.runId}`;
  }

  result(): PipelineResult {
    const stage = this.step('stage-raw');
    const m = this.manifest;
    const endedAt = this.progress.endedAt ?? new Date().toISOString();
    return {
      ...this.progress,
      durationMs: Date.parse(endedAt) - Date.parse(this.progress.startedAt),
      totals: {
        ...(stage?.status === 'succeeded' ? { rawObjects: stage.counts.objects, rawBytes: stage.counts.bytes } : {}),
        ...(m
          ? {
              curatedObjects: m.files.count,
              curatedBytes: m.outputBytes,
              rowsIn: m.rowsIn,
              rowsOut: m.rowsOut,
              rowsRejected: m.rowsRejected,
              ...(m.rowsDropped !== undefined ? { rowsDropped: m.rowsDropped } : {}),
              ...(m.rowsRejected > 0 ? { quarantineUri: quarantineUri(this.spec, this.batch, m) } : {}),
            }
          : {}),
      },
    };
  }
}

/** Steps that have nothing to do in a region, whatever the options say. */
function structuralSkip(spec: PipelineSpec, name: StepName, region?: string): string | undefined {
  if (name !== 'redshift-refresh') return undefined;
  if (!spec.redshift) return 'the spec has no redshift section';
  if (!spec.regions.find((r) => r.region === region)?.redshift) return `region ${region} has no redshift target`;
  return undefined;
}
