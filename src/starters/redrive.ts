/**
 * `glueline redrive <workflowId> --from <step>`: re-runs a failed batch from a step, under a
 * new run of the same business id, with the failed run's own input (read from its first history event).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { WorkflowType, type PipelineStepInput } from '../workflow-safe/pipeline';
import { batchFlags, startedWithOf } from '../workflow-safe/step-command';
import { stepCommandLine } from '../temporal/run-links';
import { STEPS, type PipelineInputRaw } from '../workflow-safe/run-input';
import { didYouMean } from '../workflow-safe/suggest';
import { humanIo, jsonOption, parseCommandArgs, UsageError, withClient, type CommandIo } from './common';
import { startPipeline } from './start-and-follow';

export const redriveUsage = `usage: glueline redrive <workflowId> --from <step> [--wait] [--json]

Re-runs a failed (or cancelled, terminated, timed-out) csvPipeline run from STEP: reads the run's input
(spec, batch, options) from its first history event and starts a new run of the same workflow id with
options.startAt = STEP. Steps after STEP that need earlier output find it themselves. Refuses a run that
is still running or that succeeded.

  --from STEP   one of ${STEPS.join(', ')} (required)
  --wait        follow the new run live; exit 0 if it succeeded, 1 if not
  --json        print one JSON document on stdout instead (the other lines go to stderr): {outcome, batchId,
                redrive: {runId, status, from}, workflowId, runId, url} and, with --wait, {status, result,
                failure, progress} once the new run closed (no live view)

the same with the temporal CLI:
  temporal workflow show --workflow-id <workflowId> --output json   (the first event's input, into redrive-input.json,
                                                                     with "options": {"startAt": "<step>"})
  temporal workflow start --type csvPipeline --task-queue glueline --workflow-id <workflowId> \\
    --id-reuse-policy AllowDuplicateFailedOnly --input-file redrive-input.json
`;

const options = { from: { type: 'string' }, wait: { type: 'boolean', default: false }, ...jsonOption } as const;

/** The `redrive` command. @returns the exit code. */
export async function redriveCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('redrive', args, options);
  if (values.help) {
    io.out(redriveUsage);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('redrive takes one workflow id: redrive <workflowId> --from <step>');
  const workflowId = positionals[0]!;
  const from = values.from;
  if (!from || !(STEPS as readonly string[]).includes(from))
    throw new UsageError(
      `--from ${from ?? '(missing)'}: name the step to start at, one of ${STEPS.join(', ')}${didYouMean(from ?? '', STEPS)}`,
    );
  return withClient(async (client, namespace) => {
    const handle = client.workflow.getHandle(workflowId);
    let d;
    try {
      d = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UsageError(`no workflow ${workflowId} in this namespace`);
      throw err;
    }
    if (d.type === WorkflowType.step)
      throw new UsageError(
        `${workflowId} is a ${d.type} run; redrive re-runs csvPipeline runs. Run the step again with: ` +
          (await stepCommandOf(client, workflowId, d.runId, d.memo)),
      );
    if (d.type !== WorkflowType.pipeline)
      throw new UsageError(`${workflowId} is a ${d.type} run; redrive re-runs csvPipeline runs`);
    if (d.status.name === 'RUNNING')
      throw new UsageError(
        `${workflowId} is still running (run ${d.runId}): nothing to redrive. Follow it: glueline follow ${workflowId}`,
      );
    if (d.status.name === 'COMPLETED')
      throw new UsageError(
        `${workflowId} succeeded (run ${d.runId}): nothing to redrive. To process the batch again: glueline run ... --rerun`,
      );
    const input = await firstInput<PipelineInputRaw>(client, workflowId, d.runId);
    humanIo(io, values.json).out(`redriving ${workflowId} (run ${d.runId}, ${d.status.name}) from ${from}`);
    return startPipeline(
      client,
      namespace,
      io,
      { ...input, options: { ...input.options, startAt: from as (typeof STEPS)[number] } },
      { rerun: false, wait: values.wait, json: values.json, redrive: { runId: d.runId, status: d.status.name, from } },
    );
  });
}

/** A run's input, from its first history event. */
async function firstInput<T>(client: Client, workflowId: string, runId: string): Promise<T> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`the first event of ${workflowId} run ${runId} holds no input`);
  return defaultPayloadConverter.fromPayload<T>(payload);
}

/** The `glueline step` command that runs a step run again: its input's batch, its memo's spec file. */
async function stepCommandOf(
  client: Client,
  workflowId: string,
  runId: string,
  memo: Record<string, unknown> | undefined,
): Promise<string> {
  const input = await firstInput<PipelineStepInput>(client, workflowId, runId);
  const startedWith = startedWithOf(memo);
  return stepCommandLine({
    batchId: input.batch.id,
    step: input.step,
    ...(input.region ? { region: input.region } : {}),
    ...(startedWith ? { startedWith } : {}),
    ...batchFlags(input.spec, input.batch),
  }).line;
}
