/**
 * P5's worker process: configured like `src/worker.ts` (loadConfig and its tuning options, from the
 * environment), with instant activities except the Glue job: StartJobRun and the real waitForGlueJobRun, so
 * a parked run heartbeats and polls the gateway as in production. Prints its memory once a second:
 * `p5 memory {"openWaits":…,"rss":…,"heapUsed":…,"external":…}`.
 */
import { StartJobRunCommand } from '@aws-sdk/client-glue';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createGlueActivities } from '../src/activities/glue';
import { createAwsClients } from '../src/aws/clients';
import { loadConfig } from '../src/worker/config';
import { tuningOptions } from '../src/worker';
import { instantActivities } from './instant-activities';

async function main(): Promise<void> {
  const config = loadConfig();
  const { namespace, connectionOptions } = config.temporal;
  const connection = await NativeConnection.connect(connectionOptions);
  const aws = createAwsClients({ endpoint: config.awsEndpoint });
  const glue = createGlueActivities({
    aws,
    mailer: { sendMail: () => Promise.reject(new Error('no mailer in benchmarks')) },
    temporalUiUrl: config.temporalUiUrl,
    namespace,
    taskQueue: config.taskQueue,
  });
  let openWaits = 0;
  const activities = instantActivities();
  // No run-tag scan: a thousand runs of one job would make every start page through all of them.
  activities.startGlueJobRun = async (input) => {
    const out = await aws.glue(input.region).send(new StartJobRunCommand({ JobName: input.jobName }));
    return { jobRunId: out.JobRunId!, reused: false };
  };
  activities.waitForGlueJobRun = async (input) => {
    openWaits++;
    try {
      return await glue.waitForGlueJobRun(input);
    } finally {
      openWaits--;
    }
  };
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: process.env.P5_WORKFLOW_BUNDLE! },
    activities,
    ...tuningOptions(config),
  });
  setInterval(() => {
    const { rss, heapUsed, external } = process.memoryUsage();
    console.log(`p5 memory ${JSON.stringify({ openWaits, rss, heapUsed, external })}`);
  }, 1_000).unref();
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
