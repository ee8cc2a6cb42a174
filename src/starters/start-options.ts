/**
 * How a run is started, for every starter (CLI, S3 events, schedules, the demo): the business-key
 * workflow id, the id policies that make triggers idempotent, search attributes and memo, and
 * {@link startOrAttach}, the start every starter makes. Client-side only; no workflow code.
 */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import {
  DEFAULT_TASK_QUEUE,
  pipelineWorkflowId,
  PipelineStepInput,
  SearchAttributeKeys,
  stepInstance,
  stepWorkflowId,
  WorkflowType,
  type CsvPipelineWorkflow,
  type PipelineStepWorkflow,
  type PipelineStepInputRaw,
} from '../workflow-safe/pipeline';
import { type PipelineSpec } from '../workflow-safe/spec';
import { PipelineInput, type Batch, type PipelineInputRaw } from '../workflow-safe/run-input';
import { parseOrExplain } from '../workflow-safe/validation';
import type { RunTrigger } from '../workflow-safe/activity-types';
import { TRIGGER_MEMO } from '../workflow-safe/pipeline';
import { STARTED_WITH_MEMO, type StepStartedWith } from '../workflow-safe/step-command';

export interface StartRunOptions {
  /** @default 'glueline' */
  taskQueue?: string;
  /**
   * Start a new run even when this batch already completed. A failed, cancelled or terminated batch
   * is always started again (the redrive case). @default false
   */
  redo?: boolean;
  /**
   * Who starts the run when nobody watches it start (a schedule, an S3 event): stored in the memo, so a run the
   * worker refuses tells the spec's team (src/workflows/refused.ts). @default - started by hand
   */
  trigger?: RunTrigger;
}

function visibility(spec: PipelineSpec, batch: Batch) {
  return {
    typedSearchAttributes: [
      { key: SearchAttributeKeys.pipeline, value: spec.name },
      { key: SearchAttributeKeys.batch, value: batch.id },
    ],
    memo: { pipeline: spec.name, batchId: batch.id },
  };
}

/**
 * Start options for csvPipeline. Validates the input first (throws a SpecValidationError naming path,
 * value and fix), and passes the validated input, defaults applied, so history shows exactly what ran.
 * A duplicated trigger while the batch runs attaches to the running run (USE_EXISTING); a completed
 * batch is not redone unless `redo` (starting it throws WorkflowExecutionAlreadyStartedError).
 */
export function csvPipelineStartOptions(
  input: PipelineInputRaw,
  { taskQueue = DEFAULT_TASK_QUEUE, redo = false, trigger }: StartRunOptions = {},
): WorkflowStartOptions<CsvPipelineWorkflow> {
  const parsed = parseOrExplain(PipelineInput, input, 'input');
  const shown = visibility(parsed.spec, parsed.batch);
  return {
    workflowId: pipelineWorkflowId(parsed.spec, parsed.batch),
    taskQueue,
    args: [parsed],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: redo ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
    staticSummary: `${parsed.spec.name}: batch ${parsed.batch.id}`,
    ...shown,
    memo: { ...shown.memo, ...(trigger ? { [TRIGGER_MEMO]: trigger } : {}) },
  };
}

/**
 * Start options for pipelineStep: one step instance, its own workflow id, always allowed to run again. `startedWith`
 * (the spec file as given) goes into the memo, where the failure notice finds it to name the exact command.
 */
export function pipelineStepStartOptions(
  input: PipelineStepInputRaw,
  {
    taskQueue = DEFAULT_TASK_QUEUE,
    startedWith,
  }: Omit<StartRunOptions, 'redo' | 'trigger'> & { startedWith?: StepStartedWith } = {},
): WorkflowStartOptions<PipelineStepWorkflow> {
  const parsed = parseOrExplain(PipelineStepInput, input, 'input');
  const shown = visibility(parsed.spec, parsed.batch);
  return {
    workflowId: stepWorkflowId(parsed.spec, parsed.batch, parsed.step, parsed.region),
    taskQueue,
    args: [parsed],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `${parsed.spec.name}: ${stepInstance(parsed.step, parsed.region)} of batch ${parsed.batch.id}`,
    ...shown,
    memo: { ...shown.memo, ...(startedWith ? { [STARTED_WITH_MEMO]: startedWith } : {}) },
  };
}

/** What a start of a batch did: started a run, attached to the running one, or found it completed. */
export type StartOutcome =
  { outcome: 'started' | 'attached'; workflowId: string; runId: string } | { outcome: 'completed'; workflowId: string };

/**
 * Starts csvPipeline for a batch under its business-key id, or attaches to the run already going
 * (USE_EXISTING); a completed batch is left alone unless `redo`. Shared by every starter.
 */
export async function startOrAttach(
  client: Client,
  input: PipelineInputRaw,
  options: { redo: boolean; taskQueue: string; trigger?: RunTrigger },
): Promise<StartOutcome> {
  const start = csvPipelineStartOptions(input, options);
  try {
    return await startOrFind(client, WorkflowType.pipeline, start);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { outcome: 'completed', workflowId: start.workflowId };
    throw err;
  }
}

/** Starts pipelineStep for one step instance, or attaches to the same step of the batch already running. */
export function startOrAttachStep(
  client: Client,
  input: PipelineStepInputRaw,
  options: { taskQueue: string; startedWith?: StepStartedWith },
): Promise<{ outcome: 'started' | 'attached'; workflowId: string; runId: string }> {
  return startOrFind(client, WorkflowType.step, pipelineStepStartOptions(input, options));
}

/** Starts a run with USE_EXISTING, and tells whether it started a new one or found one already running. */
async function startOrFind(
  client: Client,
  type: string,
  start: WorkflowStartOptions,
): Promise<{ outcome: 'started' | 'attached'; workflowId: string; runId: string }> {
  // A token only this start carries: the memo of the run we get back tells whether we started it or
  // attached to a run already going (the start call does not say).
  const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const handle = await client.workflow.start(type, { ...start, memo: { ...start.memo, startToken: token } });
  const described = await handle.describe();
  const outcome = described.memo?.startToken === token ? 'started' : 'attached';
  return { outcome, workflowId: handle.workflowId, runId: described.runId };
}

/**
 * Starts csvPipeline for a batch the starter itself finds unusable (an S3 folder whose name is no batch id),
 * unvalidated and marked with `trigger`, so the worker refuses it and tells the spec's team instead of the
 * starter dropping it with a log line. One run per batch folder: a redelivered event finds it (running, or
 * failed with its refusal) and starts nothing.
 */
export async function startRefusedRun(
  client: Client,
  input: { spec: PipelineSpec; batch: { id: string; source: { bucket: string; prefix: string } } },
  options: { taskQueue: string; trigger: RunTrigger },
): Promise<StartOutcome> {
  const workflowId = pipelineWorkflowId(input.spec, input.batch);
  try {
    const handle = await client.workflow.start(WorkflowType.pipeline, {
      workflowId,
      taskQueue: options.taskQueue,
      args: [input as unknown as PipelineInputRaw],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `${input.spec.name}: batch folder ${input.batch.id} (refused: not a batch id)`,
      memo: { pipeline: input.spec.name, [TRIGGER_MEMO]: options.trigger },
    });
    return { outcome: 'started', workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'completed', workflowId };
    throw err;
  }
}
