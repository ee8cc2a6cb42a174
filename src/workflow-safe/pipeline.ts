/**
 * What starters, the worker and the workflows share about a pipeline run without importing workflow
 * code: workflow types and ids, the task queue, search attribute keys, the `progress` query's name,
 * the `pipelineStep` input and the shape of progress and results. Pure and deterministic: safe in the
 * workflow sandbox and in any client.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { z } from 'zod';
import { PipelineSpec, type PipelineSpecInput } from './spec';
import { Batch, StepName, type PipelineInputRaw, type RunOptions } from './run-input';
import { didYouMean } from './suggest';

/** The task queue the worker polls unless GLUELINE_TASK_QUEUE says otherwise. */
export const DEFAULT_TASK_QUEUE = 'glueline';

/** Workflow type names, as registered by the worker (the exported function names). */
/**
 * The memo key that says who started a run nobody watched start (`schedule`, `s3-event`): a run its input refuses
 * then tells the spec's team instead of failing silently (src/workflows/refused.ts).
 */
export const TRIGGER_MEMO = 'trigger';

export const WorkflowType = {
  pipeline: 'csvPipeline',
  step: 'pipelineStep',
  /** What a Temporal Schedule starts: derives the batch id from the scheduled time, runs csvPipeline as a child. */
  scheduled: 'scheduledCsvPipeline',
} as const;

/** The csvPipeline workflow's signature, for typed client calls without importing workflow code. */
export type CsvPipelineWorkflow = (input: PipelineInputRaw) => Promise<PipelineResult>;
/** The pipelineStep workflow's signature. */
export type PipelineStepWorkflow = (input: PipelineStepInputRaw) => Promise<PipelineResult>;

/** The query both workflows answer with a {@link PipelineProgress}. */
export const PROGRESS_QUERY = 'progress';

/** Search attributes (Keyword) every run sets, so runs are found in the UI by pipeline and batch. */
export const SearchAttributeKeys = {
  pipeline: defineSearchAttributeKey('GluelinePipeline', SearchAttributeType.KEYWORD),
  batch: defineSearchAttributeKey('GluelineBatch', SearchAttributeType.KEYWORD),
} as const;

/**
 * The business key of a pipeline run: a duplicated trigger for the same batch maps to the same
 * workflow id, so it attaches to the running run instead of starting another.
 */
export function pipelineWorkflowId(spec: Pick<PipelineSpecInput, 'name'>, batch: Pick<Batch, 'id'>): string {
  return `csv-pipeline-${spec.name}-${batch.id}`;
}

/** The workflow id of a one-step run: `pipeline-step-<spec>-<batch>-<step>[@<region>]`. */
export function stepWorkflowId(
  spec: Pick<PipelineSpecInput, 'name'>,
  batch: Pick<Batch, 'id'>,
  step: StepName,
  region?: string,
): string {
  return `pipeline-step-${spec.name}-${batch.id}-${stepInstance(step, region)}`;
}

/** Steps that run once per region (the others run once per pipeline run, in the primary region). */
export const PER_REGION_STEPS: readonly StepName[] = ['crawl-curated', 'redshift-refresh'];

export const isPerRegionStep = (step: StepName): boolean => PER_REGION_STEPS.includes(step);

/** A step instance's name: the step, with its region for per-region steps (`crawl-curated@eu-west-1`). */
export const stepInstance = (step: StepName, region?: string): string => (region ? `${step}@${region}` : step);

/** The pipelineStep workflow's input: one step (and, for per-region steps, one region) of a spec and batch. */
export const PipelineStepInput = z
  .strictObject({
    spec: PipelineSpec,
    batch: Batch,
    step: StepName,
    /** Required for crawl-curated and redshift-refresh; not allowed for the other steps. */
    region: z.string().optional(),
  })
  .superRefine((input, ctx) => {
    const perRegion = isPerRegionStep(input.step);
    const regions = input.spec.regions.map((r) => r.region);
    if (perRegion && input.region === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: `is required: ${input.step} runs per region, name one of ${regions.join(', ')}`,
      });
    } else if (perRegion && !regions.includes(input.region!)) {
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: `is not one of the spec's regions: use one of ${regions.join(', ')}${didYouMean(input.region!, regions)}`,
      });
    } else if (!perRegion && input.region !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: `must be left out: ${input.step} runs once, in the primary region`,
      });
    }
  });
export type PipelineStepInputRaw = z.input<typeof PipelineStepInput>;
export type PipelineStepInput = z.output<typeof PipelineStepInput>;

/**
 * Where a step instance stands. `not-run` is never set by a workflow: the CLI shows a closed run's `pending` steps
 * so (an earlier step failed, or the run was cancelled or terminated before them), with the reason in skipReason.
 */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'not-run';

/** AWS ids a step instance used, so an operator can find them in the AWS console. */
export interface StepAwsIds {
  crawlerName?: string;
  jobName?: string;
  jobRunId?: string;
  statementIds?: string[];
  /** Buckets the step wrote to. */
  buckets?: string[];
  /** transform: the s3:// prefix of the batch's rejected rows (JSON lines with their reasons), when there are any. */
  quarantineUri?: string;
}

/** What a step instance moved or produced. */
export interface StepCounts {
  /** Source objects, and their total size. */
  objects?: number;
  bytes?: number;
  /** Destination objects written, and skipped because already identical. */
  copied?: number;
  skippedIdentical?: number;
  verifiedKeys?: number;
  /** replicate-curated: objects of earlier runs deleted from the replicas' batch prefix. */
  staleDeleted?: number;
  /** replicate-curated: Redshift COPY manifests written, one per region with a Redshift target. */
  copyManifests?: number;
  /** From the Glue job's manifest. */
  rowsIn?: number;
  rowsOut?: number;
  rowsRejected?: number;
  /** Rows your transform (transform.module) filtered out without ctx.reject; negative when it added rows. */
  rowsDropped?: number;
  outputFiles?: number;
  outputBytes?: number;
  executionTimeSeconds?: number;
  tablesCreated?: number;
  tablesUpdated?: number;
  tablesDeleted?: number;
  /** Status polls the waiting activity made. */
  polls?: number;
}

/**
 * How a crawl step came by its crawl (startCrawler's answer): every time is AWS's clock. A crawl covers a batch when
 * it started after the batch's objects were all written; runs whose data one crawl covers share it.
 */
export interface CrawlJoin {
  /** `started`: this run's StartCrawler started it; `joined`: another run's crawl that covers this batch. */
  how: 'started' | 'joined';
  /** ListCrawls' CrawlId, where Glue showed it. */
  crawlId?: string;
  /** The crawl's StartTime (ISO), where Glue showed it. */
  crawlStartedAt?: string;
  /** The latest LastModified of the batch's objects, plus the second S3 rounds it down by (ISO); absent when none. */
  dataInPlaceBy?: string;
  /** Why: "crawl 3f2a… started 12:00:05Z, after the batch's objects were in place (12:00:03Z)". */
  reason: string;
}

/** One step instance in the `progress` query and the result. */
export interface StepProgress {
  /** The step instance: `transform`, `crawl-curated@eu-west-1`. */
  step: string;
  name: StepName;
  region?: string;
  status: StepStatus;
  /** Why a step did not run (options, or nothing to do in this region; for `not-run`, what ended the run first). */
  skipReason?: string;
  /** The failed activity's attempt count, where known. */
  attempt?: number;
  /** ISO times. */
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  awsIds: StepAwsIds;
  counts: StepCounts;
  /** crawl-raw and crawl-curated@R: the crawl the step started or joined, and why. */
  crawl?: CrawlJoin;
  error?: { type: string; message: string };
  /** redshift-refresh@R: the batch's rows counted in the region's target after the refresh, against rowsOut. */
  reconciliation?: Reconciliation;
}

/** A region's reconciliation (spec redshift.reconcile): what was counted, with which SQL, against what. */
export interface Reconciliation {
  /** The manifest's rowsOut. */
  expectedRows: number;
  /** What the statement counted. */
  actualRows: number;
  matched: boolean;
  sql: string;
  statementId: string;
}

/** A `warn` limit the batch crossed (spec thresholds): the run went on, and a warning notification was sent. */
export interface ThresholdWarning {
  /** The step that judged it: stage-raw (files) or transform (rows). */
  step: string;
  limit: string;
  value: number;
  threshold: number;
  message: string;
}

/** The answer to the `progress` query. */
export interface PipelineProgress {
  workflowType: string;
  pipeline: string;
  batchId: string;
  workflowId: string;
  runId: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  startedAt: string;
  endedAt?: string;
  /** Every step instance of the run, in pipeline order (regions in spec order). */
  steps: StepProgress[];
  /** The failure notification's outcome per channel, once sent. */
  notifications?: { email?: NotificationOutcome; webhook?: NotificationOutcome };
  /** The `warn` limits the batch crossed, each told in a warning notification. */
  warnings?: ThresholdWarning[];
  /** The warning notifications' outcome per channel (the last one sent). */
  warningNotifications?: { email?: NotificationOutcome; webhook?: NotificationOutcome };
  /**
   * A cancel request that came too late to stop anything: the steps running when it came had already finished
   * their AWS work, so their results stand and the run completed. Absent when nobody asked, and when the cancel
   * cancelled the run (its status is then `cancelled`).
   */
  cancelRequest?: LateCancelRequest;
}

/** A cancel request the run could no longer act on (see {@link PipelineProgress.cancelRequest}). */
export interface LateCancelRequest {
  /** When the workflow saw the request (workflow time, ISO 8601). */
  requestedAt: string;
  /** The step instances that were running when it came, and finished anyway. */
  finishedSteps: string[];
  /** "cancel requested after redshift-refresh@eu-west-1 had finished: its AWS work stands and the run completed" */
  message: string;
}

export type NotificationOutcome = 'sent' | 'failed';

/** What both workflows return: the final progress plus totals. */
export interface PipelineResult extends PipelineProgress {
  durationMs: number;
  totals: {
    /** The batch's CSVs as staged (stage-raw). */
    rawObjects?: number;
    rawBytes?: number;
    /** The Parquet output (from the manifest). */
    curatedObjects?: number;
    curatedBytes?: number;
    rowsIn?: number;
    rowsOut?: number;
    rowsRejected?: number;
    rowsDropped?: number;
    /** Where the rejected rows are (`glueline rejects` prints them), when there are any. */
    quarantineUri?: string;
  };
}

/** The schedule action's input: everything but the batch id, which each run derives. */
export interface ScheduledPipelineInput {
  spec: PipelineSpecInput;
  /** Each run processes the objects under this prefix at the time it runs. */
  source: { bucket: string; prefix: string; region?: string };
  /** Batch ids are `<batchIdPrefix>-<scheduled time, yyyymmddThhmmssZ>`: at most 46 characters. */
  batchIdPrefix: string;
  options?: Partial<RunOptions>;
}

/** The memo key under which a run records how it ended ({@link RunOutcomeMemo}); `glueline list` reads it. */
export const OUTCOME_MEMO_KEY = 'outcome';

/** What a closed run records in its memo: the rows it moved and the step that failed, for `glueline list`. */
export interface RunOutcomeMemo {
  rowsIn?: number;
  rowsOut?: number;
  rowsRejected?: number;
  /** The step instance whose failure failed the run (`redshift-refresh@eu-west-1`). */
  failedStep?: string;
}
