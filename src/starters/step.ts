/** `glueline step`: runs one step instance alone through the pipelineStep workflow. */
import path from 'node:path';
import { stepInstance } from '../workflow-safe/pipeline';
import type { StepStartedWith } from '../workflow-safe/step-command';
import { STEPS } from '../workflow-safe/run-input';
import { pipelineStepStartOptions, startOrAttachStep } from './start-options';
import {
  asUsageError,
  humanIo,
  jsonOption,
  parseCommandArgs,
  runLink,
  taskQueue,
  UsageError,
  withClient,
  type CommandIo,
} from './common';
import { reportStart } from './start-and-follow';
import { noWorkerMessage, workerPolls } from './worker-check';
import { batchFromFlags } from './batch-flags';
import { loadSpec } from './spec-arg';

export const stepUsage = `usage: glueline step --spec <file> --batch-id <id> --step <step> [--region R] (--prefix <p> | --key <k>...) [--wait] [--json]

Runs exactly one step instance of a batch through the pipelineStep workflow: the same code, activity
options and history as in csvPipeline. A step that needs an earlier step's output (replicate-curated
needs the Glue manifest) finds it from that step's earlier run. Bad input exits 2 before anything starts.

  --spec FILE        the pipeline spec, JSON or YAML (required)
  --batch-id ID      the batch (required)
  --step STEP        one of ${STEPS.join(', ')} (required)
  --region R         required for crawl-curated and redshift-refresh (they run per region); not allowed otherwise
  --prefix P | --key K...   the batch's source objects, as for run (default bucket: the primary raw bucket)
  --source-bucket B  where the batch's objects are
  --source-region R  the source bucket's region, when it is not the primary region
  --wait             follow the run live; exit 0 if the step succeeded, 1 if not
  --json             print one JSON document on stdout instead (the other lines go to stderr): {outcome,
                     batchId, step, workflowId, runId, url} and, with --wait, {status, result, failure,
                     progress} once the run closed (no live view)

The workflow id is pipeline-step-<spec name>-<batch id>-<step>[@<region>]; a step already running is attached to.
The run's memo keeps --spec as given (and the directory, for a relative path): a failed step's email then names
this same command, runnable as written.

the same with the temporal CLI (input.json: {"spec": ..., "batch": ..., "step": "<step>", "region": "<region>"}):
  temporal workflow start --type pipelineStep --task-queue glueline \\
    --workflow-id pipeline-step-<spec name>-<batch id>-<step>@<region> \\
    --id-conflict-policy UseExisting --id-reuse-policy AllowDuplicate \\
    --search-attribute 'GluelinePipeline="<spec name>"' --search-attribute 'GluelineBatch="<batch id>"' \\
    --input-file input.json
`;

const options = {
  spec: { type: 'string' },
  'batch-id': { type: 'string' },
  step: { type: 'string' },
  region: { type: 'string' },
  prefix: { type: 'string' },
  key: { type: 'string', multiple: true },
  'source-bucket': { type: 'string' },
  'source-region': { type: 'string' },
  wait: { type: 'boolean', default: false },
  ...jsonOption,
} as const;

/**
 * The spec file as given, and the directory a relative one is relative to: what the failure notice's command needs
 * to run the step again as it was started (the memo holds it; paths are not secrets).
 */
function startedWith(specFile: string): StepStartedWith {
  return path.isAbsolute(specFile) ? { specFile } : { specFile, directory: process.cwd() };
}

/** The `step` command. @returns the exit code. */
export async function stepCommand(args: string[], stdio: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('step', args, options);
  if (values.help) {
    stdio.out(stepUsage);
    return 0;
  }
  const io = humanIo(stdio, values.json);
  const spec = loadSpec(values.spec);
  if (!values.step) throw new UsageError(`--step is required: name the step to run, one of ${STEPS.join(', ')}`);
  const { batch } = batchFromFlags(spec, values, positionals);
  const input = {
    spec,
    batch,
    step: values.step as (typeof STEPS)[number],
    ...(values.region ? { region: values.region } : {}),
  };
  try {
    pipelineStepStartOptions(input);
  } catch (err) {
    asUsageError(err, { 'input.step': '--step', 'input.region': '--region' });
  }
  return withClient(async (client, namespace) => {
    if (values.wait && !(await workerPolls(client, namespace, taskQueue()))) {
      io.err(`${noWorkerMessage(taskQueue(), namespace)}; nothing was started`);
      return 1;
    }
    const started = await startOrAttachStep(client, input, {
      taskQueue: taskQueue(),
      startedWith: startedWith(values.spec!),
    });
    const document = {
      outcome: started.outcome,
      batchId: batch.id,
      step: stepInstance(input.step, input.region),
      workflowId: started.workflowId,
      runId: started.runId,
      url: runLink(namespace, started.workflowId, started.runId),
    };
    return reportStart(client, namespace, stdio, document, { wait: values.wait, json: values.json });
  });
}
