/** `glueline s3-events`: the S3 event trigger as a long-running SQS consumer. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseCommandArgs, taskQueue, UsageError, withClient, type CommandIo } from './common';
import { consumeS3Events } from './s3-events';
import { loadSpec } from './spec-arg';

export const s3EventsUsage = `usage: glueline s3-events --spec <file> --queue-url <url> [options]

Consumes S3 ObjectCreated events from an SQS queue (S3 event notifications, the same through SNS, or
EventBridge "Object Created" events) and starts csvPipeline once per batch. A batch is a folder right under
the landing prefix of the source bucket: s3://<bucket>/landing/<batch id>/<files>. The run starts once no
event for the batch arrived for the quiet period, with batch {id: <batch id>, source: {prefix: landing/<batch id>/}}.
Duplicate and replayed events map to the same workflow id: they attach to the running run or find the batch
completed, and never start a second run. A message is deleted only once its batch has been started.
A folder whose name is not a usable batch id is started at once for the worker to refuse: the spec's notify
address (or the worker's GLUELINE_FALLBACK_NOTIFY_EMAIL) hears of it, once per folder.

  --spec FILE          the pipeline spec (required)
  --queue-url URL      the SQS queue S3 notifies (required)
  --region R           the queue's region (default: the spec's primary region)
  --source-bucket B    the bucket whose events count (default: the primary raw bucket)
  --source-region R    its region, for event records that do not give one (awsRegion; default: the primary)
  --landing-prefix P   batches are the folders right under P (default landing/)
  --quiet SECONDS      start a batch once it has been quiet this long (default 30)
  --until-idle         stop once the queue is empty and no batch waits (default: run until SIGINT/SIGTERM)

The same code runs as an AWS Lambda handler (src/starters/s3-events-lambda.ts, with the SQS event source's
batching window as the quiet period).

each batch is started as with the temporal CLI:
  temporal workflow start --type csvPipeline --task-queue glueline --workflow-id csv-pipeline-<spec name>-<batch id> \\
    --id-conflict-policy UseExisting --id-reuse-policy AllowDuplicateFailedOnly --input-file input.json
`;

const options = {
  spec: { type: 'string' },
  'queue-url': { type: 'string' },
  region: { type: 'string' },
  'source-bucket': { type: 'string' },
  'source-region': { type: 'string' },
  'landing-prefix': { type: 'string' },
  quiet: { type: 'string' },
  'until-idle': { type: 'boolean', default: false },
} as const;

/** The `s3-events` command. @returns the exit code. */
export async function s3EventsCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('s3-events', args, options);
  if (values.help) {
    io.out(s3EventsUsage);
    return 0;
  }
  const spec = loadSpec(values.spec);
  if (!values['queue-url'])
    throw new UsageError('--queue-url is required: the SQS queue that S3 sends ObjectCreated events to');
  const quiet = values.quiet === undefined ? 30 : Number(values.quiet);
  if (!Number.isFinite(quiet) || quiet < 0)
    throw new UsageError(`--quiet ${values.quiet} is not a number of seconds, e.g. --quiet 30`);
  const landingPrefix = values['landing-prefix'] ?? 'landing/';
  if (!/^(?!\/)(.+\/)$/.test(landingPrefix))
    throw new UsageError(`--landing-prefix ${landingPrefix} must end with / and not start with /`);
  const endpoint = process.env.GLUELINE_AWS_ENDPOINT;
  const sqs = new SQSClient({ region: values.region ?? spec.regions[0]!.region, ...(endpoint ? { endpoint } : {}) });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await withClient(async (client) => {
      io.out(`consuming S3 events from ${values['queue-url']} for spec ${spec.name} (quiet period ${quiet}s)`);
      await consumeS3Events({
        sqs,
        queueUrl: values['queue-url']!,
        client,
        taskQueue: taskQueue(),
        spec,
        ...(values['source-bucket'] ? { sourceBucket: values['source-bucket'] } : {}),
        ...(values['source-region'] ? { sourceRegion: values['source-region'] } : {}),
        landingPrefix,
        quietMs: quiet * 1000,
        stopWhenIdle: values['until-idle'],
        signal: stop.signal,
        log: io.out,
      }).catch((err: Error) => {
        if (!stop.signal.aborted) throw err;
      });
      return 0;
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    sqs.destroy();
  }
}
