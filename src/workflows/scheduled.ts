/**
 * `scheduledCsvPipeline`: what a Temporal Schedule starts. A schedule's action input is fixed when the
 * schedule is created, but every scheduled run needs a batch id of its own; this workflow derives it from
 * the time the run was scheduled for (`<batchIdPrefix>-<yyyymmddThhmmssZ>`, the same on a retry of the
 * same action) and runs csvPipeline as a child under the batch's business-key workflow id, so the batch is
 * followed, redriven and found in the UI like any other.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { executeChild, ParentClosePolicy, workflowInfo } from '@temporalio/workflow';
import {
  pipelineWorkflowId,
  SearchAttributeKeys,
  TRIGGER_MEMO,
  WorkflowType,
  type PipelineResult,
  type ScheduledPipelineInput,
} from '../workflow-safe/pipeline';
import type { PipelineInputRaw } from '../workflow-safe/run-input';

/** Set by the server on every run a schedule starts: the time the action was scheduled for. */
const scheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** `20261126T120000Z`: the scheduled time as it goes into a batch id. */
export const batchTimestamp = (date: Date): string =>
  date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

/** Runs csvPipeline for this scheduled run's batch; its result is the pipeline's. */
export async function scheduledCsvPipeline(input: ScheduledPipelineInput): Promise<PipelineResult> {
  const info = workflowInfo();
  // Triggered by hand (schedule trigger) the attribute is still set; a direct start falls back to its start time.
  const at = info.typedSearchAttributes.get(scheduledStartTime) ?? info.runStartTime;
  const batch = { id: `${input.batchIdPrefix}-${batchTimestamp(at)}`, source: input.source };
  // csvPipeline validates the spec; a spec too broken to have a name must still start it, so that it refuses the
  // run and tells someone (./refused) instead of failing this workflow's task over and over.
  const name = typeof input.spec?.name === 'string' ? input.spec.name : 'unreadable-spec';
  const pipelineInput = {
    spec: input.spec,
    batch,
    ...(input.options ? { options: input.options } : {}),
  } as PipelineInputRaw;
  return executeChild(WorkflowType.pipeline, {
    workflowId: pipelineWorkflowId({ name }, batch),
    args: [pipelineInput],
    // A completed batch is never redone; a failed one is redriven with glueline redrive.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    // Cancelling or terminating the scheduled run does not strand a batch half-way.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `${name}: batch ${batch.id} (scheduled)`,
    typedSearchAttributes: [
      { key: SearchAttributeKeys.pipeline, value: name },
      { key: SearchAttributeKeys.batch, value: batch.id },
    ],
    // The trigger tells csvPipeline that nobody watched this run start: a refusal is mailed (./refused).
    memo: { pipeline: name, batchId: batch.id, [TRIGGER_MEMO]: 'schedule' },
  });
}
