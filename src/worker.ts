/**
 * `glueline worker` (`npm run worker` in a checkout): the glueline worker. Reads its configuration from the
 * environment and `.env` once (see .env.example), builds AWS clients (default credential chain) and the mailer, and polls the task queue
 * for csvPipeline and pipelineStep until SIGINT or SIGTERM, then shuts down gracefully: it stops polling
 * and gives running activities GLUELINE_SHUTDOWN_GRACE_SECONDS to finish, except AWS waits, which end their
 * attempt at once and resume on another worker from AWS's state (bench P6).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import nodemailer from 'nodemailer';
import { createActivities } from './activities';
import { createAwsClients } from './aws/clients';
import { loadDotEnv } from './env-file';
import { TemporalConnectError } from './temporal/connection';
import { ConfigError, loadConfig, type WorkerConfig } from './worker/config';
import { redactingInterceptors, redactingLogFunction } from './worker/redaction';
import { WORKFLOW_PRELOAD_MODULES } from './worker/workflow-bundle';

type TunedOptions =
  | 'maxCachedWorkflows'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxHeartbeatThrottleInterval'
  | 'defaultHeartbeatThrottleInterval';

/**
 * The worker options the configuration tunes: the workflow cache and the activity slots (bench P5), and how often
 * heartbeats go out, which is how soon a cancel reaches a running wait (bench P7).
 */
export function tuningOptions(
  config: Pick<WorkerConfig, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'heartbeatIntervalMs'>,
): Pick<WorkerOptions, TunedOptions> {
  return {
    maxCachedWorkflows: config.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivityTaskExecutions,
    // Both: the first caps the SDK's 0.8 × heartbeat timeout, the second serves activities without a timeout.
    maxHeartbeatThrottleInterval: config.heartbeatIntervalMs,
    defaultHeartbeatThrottleInterval: config.heartbeatIntervalMs,
  };
}

/** Starts the worker and resolves once it has shut down. */
export async function runWorker(config: WorkerConfig): Promise<void> {
  Runtime.install({
    // Every line redacted of the worker's secrets, whatever an AWS error or a key brought into it.
    logger: new DefaultLogger(
      config.logLevel,
      redactingLogFunction(config.secretsToRedact, config.logFormat === 'json'),
    ),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    ...(config.metricsBind
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.metricsBind } } } }
      : {}),
  });
  const log = Runtime.instance().logger;
  const { namespace, connectionOptions } = config.temporal;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions);
  } catch (err) {
    throw new TemporalConnectError(config.temporal, err);
  }
  // nodemailer keeps the credentials inside the transport; only the host is ever logged.
  const mailer = nodemailer.createTransport(config.smtpUrl);
  // The Runtime shuts the worker down on these signals; AWS waits hand over to the next worker at once.
  const shutdown = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => shutdown.abort());
  try {
    const deps = {
      aws: createAwsClients(config.awsEndpoint ? { endpoint: config.awsEndpoint } : {}),
      mailer,
      ...(config.webhookToken ? { webhookToken: config.webhookToken } : {}),
      ...(config.fallbackNotifyEmail ? { fallbackNotifyEmail: config.fallbackNotifyEmail } : {}),
      secretsToRedact: config.secretsToRedact,
      temporalUiUrl: config.temporalUiUrl,
      namespace,
      taskQueue: config.taskQueue,
      workerShutdown: shutdown.signal,
    };
    const activities = createActivities(deps);
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue: config.taskQueue,
      workflowsPath: require.resolve('./workflows'),
      // The spec's schemas once per worker, not once per cached run (src/workflow-safe/preload.ts).
      bundlerOptions: { preloadModules: WORKFLOW_PRELOAD_MODULES },
      activities,
      shutdownGraceTime: config.shutdownGraceMs,
      // Failures and results go into histories: redacted of the worker's secrets first.
      interceptors: redactingInterceptors(config.secretsToRedact),
      ...(config.codec ? { dataConverter: { payloadCodecs: [config.codec] } } : {}),
      ...tuningOptions(config),
    });
    log.info('glueline worker started', {
      temporal: `${connectionOptions.address}/${namespace}`,
      taskQueue: config.taskQueue,
      aws: config.awsEndpoint ?? 'AWS endpoints, default credential chain',
      smtp: config.smtpHost,
      webhookToken: config.webhookToken ? 'set' : 'not set',
      fallbackNotifyEmail: config.fallbackNotifyEmail?.to.join(', ') ?? 'not set',
      metrics: config.metricsBind ? `http://${config.metricsBind}/metrics` : 'off',
      payloads: config.codec ? `encrypted with key ${config.codec.keyId}` : 'plain JSON',
      heartbeatIntervalMs: config.heartbeatIntervalMs,
    });
    await worker.run();
    log.info('glueline worker stopped');
  } finally {
    mailer.close();
    await connection.close();
  }
}

/**
 * The worker process: `.env` (when present), the configuration, then {@link runWorker} until a signal.
 * Errors are one line that says what to fix (the stack with GLUELINE_DEBUG set). @returns the exit code:
 * 0 after a clean shutdown, 2 for a bad setting, 1 for any other error
 */
export async function workerMain(): Promise<number> {
  let config: WorkerConfig;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (err) {
    console.error(`worker: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
    return 2;
  }
  try {
    await runWorker(config);
    return 0;
  } catch (err) {
    console.error(
      `worker: ${process.env.GLUELINE_DEBUG ? ((err as Error).stack ?? String(err)) : (err as Error).message}`,
    );
    return 1;
  }
}

if (require.main === module) {
  // After a failed start the Temporal runtime may keep the process alive; an error ends it at once.
  void workerMain().then((code) => (code === 0 ? (process.exitCode = 0) : process.exit(code)));
}
