/**
 * How a run is started, for every starter (CLI, S3 events, schedules, the demo): the business-key
 * workflow id, the id policies that make triggers idempotent, search attributes and memo. Client-side
 * only; no workflow code.
 */
import type { WorkflowStartOptions } from '@temporalio/client';
import {
  DEFAULT_TASK_QUEUE,
  pipelineWorkflowId,
  PipelineStepInput,
  SearchAttributeKeys,
  stepInstance,
  stepWorkflowId,
  type CsvPipelineWorkflow,
  type PipelineStepWorkflow,
  type PipelineStepInputRaw,
} from '../workflow-safe/pipeline';
import {
  parseOrExplain,
  PipelineInput,
  type Batch,
  type PipelineInputRaw,
  type PipelineSpec,
} from '../workflow-safe/spec';

export interface StartRunOptions {
  /** @default 'glueline' */
  taskQueue?: string;
  /**
   * Start a new run even when this batch already completed. A failed, cancelled or terminated batch
   * is always started again (the redrive case). @default false
   */
  redo?: boolean;
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
  { taskQueue = DEFAULT_TASK_QUEUE, redo = false }: StartRunOptions = {},
): WorkflowStartOptions<CsvPipelineWorkflow> {
  const parsed = parseOrExplain(PipelineInput, input, 'input');
  return {
    workflowId: pipelineWorkflowId(parsed.spec, parsed.batch),
    taskQueue,
    args: [parsed],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: redo ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
    staticSummary: `${parsed.spec.name}: batch ${parsed.batch.id}`,
    ...visibility(parsed.spec, parsed.batch),
  };
}

/** Start options for pipelineStep: one step instance, its own workflow id, always allowed to run again. */
export function pipelineStepStartOptions(
  input: PipelineStepInputRaw,
  { taskQueue = DEFAULT_TASK_QUEUE }: Omit<StartRunOptions, 'redo'> = {},
): WorkflowStartOptions<PipelineStepWorkflow> {
  const parsed = parseOrExplain(PipelineStepInput, input, 'input');
  return {
    workflowId: stepWorkflowId(parsed.spec, parsed.batch, parsed.step, parsed.region),
    taskQueue,
    args: [parsed],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `${parsed.spec.name}: ${stepInstance(parsed.step, parsed.region)} of batch ${parsed.batch.id}`,
    ...visibility(parsed.spec, parsed.batch),
  };
}
