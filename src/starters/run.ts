/**
 * `glueline run`: starts csvPipeline for a spec and a batch (S3 keys, a prefix, or local files
 * uploaded first), with the business-key workflow id and the id policies of src/starters/start-options.ts.
 */
import { STEPS } from '../workflow-safe/run-input';
import { batchFromFlags, runOptionsFromFlags, writeBatchObjects } from './batch-flags';
import { humanIo, jsonOption, parseCommandArgs, withClient, type CommandIo } from './common';
import { loadSpec } from './spec-arg';
import { startPipeline } from './start-and-follow';

export const runUsage = `usage: glueline run --spec <file> --batch-id <id> (--prefix <p> | --key <k>... | --files <path>...) [options]

Starts csvPipeline for one batch: stage-raw, crawl-raw, transform, replicate-curated, then per region
crawl-curated and redshift-refresh. The spec and the batch are validated first; a bad value stops here
(exit 2) naming the field, the value and the fix, and nothing is started.

the batch (exactly one of):
  --prefix P            every object under prefix P (ending in /) of the source bucket
  --key K               an object key; repeat it, or list more keys after it
  --files PATH...       local CSV files: uploaded first to s3://<source bucket>/landing/<batch id>/<file name>
                        (each file read once), then used as the batch's keys
  (more than 1000 keys: they are written to s3://<raw bucket>/_glueline/key-lists/<spec>/<batch id>-<checksum>.json
  and the run's input names that object instead of every key)

options:
  --spec FILE           the pipeline spec, JSON or YAML (required)
  --batch-id ID         names the batch: the workflow id is csv-pipeline-<spec name>-<batch id> (required)
  --source-bucket B     where the batch's objects are (default: the primary region's raw bucket)
  --source-region R     the source bucket's region, when it is not the primary region
  --start-at STEP       skip every step before STEP
  --stop-after STEP     skip every step after STEP
  --skip STEP           skip STEP (repeatable)
  --rerun               run the batch again even when it already completed
  --wait                follow the run live, print a summary, exit 0 if it succeeded and 1 if not
  --json                print one JSON document on stdout instead (the other lines go to stderr):
                        {outcome, batchId, workflowId, runId, url} and, with --wait, {status, result,
                        failure, progress} once the run closed (no live view)
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
  'source-region': { type: 'string' },
  'start-at': { type: 'string' },
  'stop-after': { type: 'string' },
  skip: { type: 'string', multiple: true },
  rerun: { type: 'boolean', default: false },
  wait: { type: 'boolean', default: false },
  ...jsonOption,
} as const;

/** The `run` command. @returns the exit code. */
export async function runCommand(args: string[], stdio: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', args, options);
  if (values.help) {
    stdio.out(runUsage);
    return 0;
  }
  const io = humanIo(stdio, values.json);
  const spec = loadSpec(values.spec);
  const found = batchFromFlags(spec, values, positionals);
  const { batch } = found;
  const runOptions = runOptionsFromFlags(values);
  await writeBatchObjects(spec, found, io);
  return withClient((client, namespace) =>
    startPipeline(client, namespace, stdio, { spec, batch, ...(runOptions ? { options: runOptions } : {}) }, values),
  );
}
