/**
 * The local stack's AWS gateway: every AWS SDK client of glueline points here. It serves the
 * Redshift Data API, Glue job and crawler runs, and the Glue definition updates moto lacks; it
 * injects faults, counts requests, and forwards everything else to moto unchanged. The control API
 * lives under /_gateway (README.md, "The AWS gateway").
 */
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLocalSparkRunner, runsScript } from '../local-spark';
import { createControl } from './control';
import { RequestCounter } from './counts';
import { FaultRules } from './faults';
import { Holds } from './holds';
import { glueService } from './glue';
import { GlueCrawlers } from './glue-crawlers';
import { GlueDefinitions } from './glue-definitions';
import { GlueJobRuns } from './glue-job-runs';
import { delayedSuccessRunner, type JobRunner } from './job-runner';
import { Moto } from './moto';
import { RedshiftData } from './redshift-data';
import { RedshiftDatabases } from './redshift-databases';
import { RedshiftTargets } from './redshift-targets';
import { createRouter } from './router';
import { S3BucketRegions } from './s3-regions';
import { S3Etags } from './s3-etags';
import { TimeScale } from './time-scale';

const host = '127.0.0.1';
const port = Number(process.env.GATEWAY_PORT ?? 4566);
const upstream = new URL(process.env.GATEWAY_UPSTREAM ?? 'http://127.0.0.1:5000');
const dataDir = path.resolve(process.env.GATEWAY_DATA_DIR ?? '.devstack/gateway');
const idleCloseMs = process.env.GATEWAY_REDSHIFT_IDLE_CLOSE_MS
  ? Number(process.env.GATEWAY_REDSHIFT_IDLE_CLOSE_MS)
  : undefined;
const resultPageRows = process.env.GATEWAY_RESULT_PAGE_ROWS ? Number(process.env.GATEWAY_RESULT_PAGE_ROWS) : undefined;

/**
 * The local stack's default: glueline's own job script runs on local Spark against moto's S3 (not
 * through the gateway, so fault rules never hit the runner's own calls); any other job succeeds after
 * GATEWAY_JOB_RUN_MS (1000) without running anything, except a script of the user's own (transform.script),
 * which fails saying so.
 */
function localJobRunner(): JobRunner {
  const spark = createLocalSparkRunner({ s3Endpoint: upstream.href, workRoot: path.join(dataDir, 'glue-runs') });
  const instant = delayedSuccessRunner(Number(process.env.GATEWAY_JOB_RUN_MS ?? 1000));
  return (run) => {
    if (runsScript(run.job)) return spark(run);
    // A script of the user's own (transform.script, where provision puts it) must not pass for having run.
    const script = run.job.Command?.ScriptLocation ?? '';
    if (script.includes(`/_glueline/scripts/${run.jobName}/`)) {
      return Promise.resolve({
        state: 'FAILED' as const,
        errorMessage:
          `job ${run.jobName} runs a script of your own (${script}, transform.script): the local stack runs only ` +
          "glueline's job script (glueline_job.py); run it on AWS Glue, or put your logic in transform.module",
      });
    }
    return instant(run);
  };
}

/**
 * Runs a Glue job when no outcome is scripted for it: the `jobRunner` export of the module that
 * GATEWAY_JOB_RUNNER names, or else {@link localJobRunner}.
 */
async function loadJobRunner(): Promise<JobRunner> {
  const file = process.env.GATEWAY_JOB_RUNNER;
  if (!file) return localJobRunner();
  const loaded = (await import(pathToFileURL(path.resolve(file)).href)) as RunnerModule & { default?: RunnerModule };
  const jobRunner = loaded.jobRunner ?? loaded.default?.jobRunner;
  if (typeof jobRunner !== 'function') {
    throw new Error(
      `GATEWAY_JOB_RUNNER=${file} has no \`export const jobRunner: JobRunner\` (devstack/gateway/job-runner.ts)`,
    );
  }
  return jobRunner;
}

interface RunnerModule {
  jobRunner?: JobRunner;
}

async function main() {
  const jobRunner = await loadJobRunner();
  const moto = new Moto(upstream);
  const timeScale = new TimeScale();
  const counter = new RequestCounter();
  const faults = new FaultRules();
  const holds = new Holds();
  const jobRuns = new GlueJobRuns(moto, timeScale, jobRunner);
  const crawlers = new GlueCrawlers(moto, timeScale);
  const databases = new RedshiftDatabases({ dataDir: path.join(dataDir, 'redshift'), motoUrl: upstream, idleCloseMs });
  const targets = new RedshiftTargets({ file: path.join(dataDir, 'redshift', 'serverless.json'), motoUrl: upstream });

  const server = http.createServer(
    createRouter({
      upstream,
      counter,
      faults,
      holds,
      services: {
        glue: glueService(jobRuns, crawlers, new GlueDefinitions(moto, crawlers)),
        'redshift-data': new RedshiftData(databases, targets, { resultPageRows }),
        'redshift-serverless': targets,
      },
      control: createControl({ counter, faults, holds, timeScale, jobRuns, crawlers, databases }),
      s3Etags: new S3Etags(moto, timeScale),
      s3Regions: new S3BucketRegions(moto),
    }),
  );

  server.listen(port, host, () => console.log(`gateway: http://${host}:${port} -> ${upstream.href}`));

  async function shutdown() {
    server.close();
    server.closeAllConnections();
    // Closing PGlite checkpoints each database, so its folder opens cleanly on the next start.
    await databases.closeAll().catch((err: unknown) => console.error('gateway: closing databases failed:', err));
    process.exit(0);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown());
}

main().catch((err: unknown) => {
  console.error('gateway: could not start:', err);
  process.exit(1);
});
