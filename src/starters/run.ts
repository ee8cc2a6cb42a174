/**
 * `npm run glueline -- run`: starts csvPipeline for a spec and a batch (S3 keys, a prefix, or local files
 * uploaded first), with the business-key workflow id and the id policies of src/starters/start-options.ts.
 */
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { primaryRegion } from '../workflow-safe/layout';
import { WorkflowType, type CsvPipelineWorkflow } from '../workflow-safe/pipeline';
import {
  Batch,
  parseOrExplain,
  RunOptions,
  STEPS,
  type PipelineInputRaw,
  type PipelineSpec,
} from '../workflow-safe/spec';
import { csvPipelineStartOptions } from './start-options';
import { uploadFiles } from '../aws/upload';
import {
  asUsageError,
  awsClients,
  parseCommandArgs,
  runLink,
  taskQueue,
  UsageError,
  withClient,
  type CommandIo,
} from './common';
import { watchRun } from './live-view';
import { loadSpec } from './spec-arg';

export const runUsage = `usage: npm run glueline -- run --spec <file> --batch-id <id> (--prefix <p> | --key <k>... | --files <path>...) [options]

Starts csvPipeline for one batch: stage-raw, crawl-raw, transform, replicate-curated, then per region
crawl-curated and redshift-refresh. The spec and the batch are validated first; a bad value stops here
(exit 2) naming the field, the value and the fix, and nothing is started.

the batch (exactly one of):
  --prefix P            every object under prefix P (ending in /) of the source bucket
  --key K               an object key; repeat it, or list more keys after it
  --files PATH...       local CSV files: uploaded first to s3://<source bucket>/landing/<batch id>/<file name>
                        (each file read once), then used as the batch's keys

options:
  --spec FILE           the pipeline spec, JSON or YAML (required)
  --batch-id ID         names the batch: the workflow id is csv-pipeline-<spec name>-<batch id> (required)
  --source-bucket B     where the batch's objects are (default: the primary region's raw bucket)
  --start-at STEP       skip every step before STEP
  --stop-after STEP     skip every step after STEP
  --skip STEP           skip STEP (repeatable)
  --rerun               run the batch again even when it already completed
  --wait                follow the run live, print a summary, exit 0 if it succeeded and 1 if not
                        steps: ${STEPS.join(', ')}

A second start of a batch that is running attaches to the running run (and says so); a batch that
completed is not redone unless --rerun; a failed one is started again (see also redrive).
Temporal: GLUELINE_TASK_QUEUE (default glueline) and TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_PROFILE...; AWS (for --files): the credential chain, GLUELINE_AWS_ENDPOINT for a local stack.

the same with the temporal CLI (input.json: {"spec": <the spec as JSON>, "batch": {"id": "<batch id>",
"source": {"bucket": "<bucket>", "prefix": "<p>"}}, "options": {"startAt": "<step>"}}):
  temporal workflow start --type csvPipeline --task-queue glueline \\
    --workflow-id csv-pipeline-<spec name>-<batch id> \\
    --id-conflict-policy UseExisting --id-reuse-policy AllowDuplicateFailedOnly \\
    --search-attribute 'GluelinePipeline="<spec name>"' --search-attribute 'GluelineBatch="<batch id>"' \\
    --input-file input.json
  (--rerun: --id-reuse-policy AllowDuplicate; --wait: temporal workflow result --workflow-id <id>)
`;

const options = {
  spec: { type: 'string' },
  'batch-id': { type: 'string' },
  prefix: { type: 'string' },
  key: { type: 'string', multiple: true },
  files: { type: 'string', multiple: true },
  'source-bucket': { type: 'string' },
  'start-at': { type: 'string' },
  'stop-after': { type: 'string' },
  skip: { type: 'string', multiple: true },
  rerun: { type: 'boolean', default: false },
  wait: { type: 'boolean', default: false },
} as const;

/** The batch the flags name, validated; local files are returned for upload. */
export function batchFromFlags(
  spec: PipelineSpec,
  values: { 'batch-id'?: string; prefix?: string; key?: string[]; files?: string[]; 'source-bucket'?: string },
  positionals: string[],
): { batch: Batch; uploads: { path: string; key: string }[] } {
  if (!values['batch-id']) throw new UsageError('--batch-id is required: name the batch, e.g. --batch-id 2026-11-26');
  const chosen = (['prefix', 'key', 'files'] as const).filter((f) => values[f] !== undefined);
  if (chosen.length !== 1)
    throw new UsageError(
      `name the batch's data with exactly one of --prefix, --key and --files (got ${chosen.length ? chosen.map((c) => `--${c}`).join(', ') : 'none'})`,
    );
  if (positionals.length && chosen[0] === 'prefix')
    throw new UsageError(`unexpected argument(s) ${positionals.join(' ')}: --prefix takes one prefix`);
  const bucket = values['source-bucket'] ?? primaryRegion(spec).rawBucket;
  const batchId = values['batch-id'];
  let uploads: { path: string; key: string }[] = [];
  let source: Record<string, unknown>;
  if (values.prefix !== undefined) source = { bucket, prefix: values.prefix };
  else if (values.key) source = { bucket, keys: [...values.key, ...positionals] };
  else {
    const files = [...values.files!, ...positionals];
    uploads = files.map((f) => ({ path: f, key: `landing/${batchId}/${path.basename(f)}` }));
    const names = new Set(uploads.map((u) => u.key));
    if (names.size !== uploads.length)
      throw new UsageError('--files: two files have the same name; each file lands as landing/<batch id>/<file name>');
    source = { bucket, keys: uploads.map((u) => u.key) };
  }
  let batch: Batch;
  try {
    batch = parseOrExplain(Batch, { id: batchId, source }, 'batch');
  } catch (err) {
    asUsageError(err);
  }
  return { batch, uploads };
}

/** --start-at, --stop-after and --skip, validated. */
export function runOptionsFromFlags(values: {
  'start-at'?: string;
  'stop-after'?: string;
  skip?: string[];
}): RunOptions | undefined {
  const raw = {
    ...(values['start-at'] ? { startAt: values['start-at'] } : {}),
    ...(values['stop-after'] ? { stopAfter: values['stop-after'] } : {}),
    ...(values.skip ? { skip: values.skip } : {}),
  };
  if (Object.keys(raw).length === 0) return undefined;
  try {
    return parseOrExplain(RunOptions, raw, 'options');
  } catch (err) {
    asUsageError(err);
  }
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
  options: { redo: boolean; taskQueue: string },
): Promise<StartOutcome> {
  const start = csvPipelineStartOptions(input, options);
  // A token only this start carries: the memo of the run we get back tells whether we started it or
  // attached to a run already going (the start call does not say).
  const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  try {
    const handle = await client.workflow.start<CsvPipelineWorkflow>(WorkflowType.pipeline, {
      ...start,
      memo: { ...start.memo, startToken: token },
    });
    const described = await handle.describe();
    const outcome = described.memo?.startToken === token ? 'started' : 'attached';
    return { outcome, workflowId: handle.workflowId, runId: described.runId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { outcome: 'completed', workflowId: start.workflowId };
    throw err;
  }
}

/** Starts the run (or attaches to the running one); with `wait`, follows it. @returns the exit code. */
export async function startPipeline(
  client: Client,
  namespace: string,
  io: CommandIo,
  input: PipelineInputRaw,
  flags: { rerun: boolean; wait: boolean },
): Promise<number> {
  let started: StartOutcome;
  try {
    started = await startOrAttach(client, input, { redo: flags.rerun, taskQueue: taskQueue() });
  } catch (err) {
    asUsageError(err);
  }
  const { workflowId } = started;
  if (started.outcome === 'completed') {
    io.out(
      `batch ${input.batch.id} already completed (workflow ${workflowId}); nothing started. ` +
        `Run it again with --rerun, or look at it with: npm run glueline -- status ${workflowId}`,
    );
    return 0;
  }
  io.out(
    started.outcome === 'attached'
      ? `batch ${input.batch.id} is already running: attached to workflow ${workflowId} run ${started.runId}`
      : `started workflow ${workflowId} run ${started.runId}`,
  );
  io.out(`  ${runLink(namespace, workflowId, started.runId)}`);
  if (!flags.wait) {
    io.out(`  follow it: npm run glueline -- follow ${workflowId}`);
    return 0;
  }
  return watchRun(client.workflow.getHandle(workflowId, started.runId), io);
}

/** The `run` command. @returns the exit code. */
export async function runCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', args, options);
  if (values.help) {
    io.out(runUsage);
    return 0;
  }
  const spec = loadSpec(values.spec);
  const { batch, uploads } = batchFromFlags(spec, values, positionals);
  const runOptions = runOptionsFromFlags(values);
  if (uploads.length) {
    const region = primaryRegion(spec).region;
    io.out(`uploading ${uploads.length} file(s) to s3://${batch.source.bucket}/landing/${batch.id}/`);
    const aws = awsClients();
    const results = await uploadFiles(aws, uploads, [{ region, bucket: batch.source.bucket }]);
    io.out(`  uploaded ${results.reduce((n, r) => n + r.bytes, 0)} bytes`);
  }
  return withClient((client, namespace) =>
    startPipeline(client, namespace, io, { spec, batch, ...(runOptions ? { options: runOptions } : {}) }, values),
  );
}
