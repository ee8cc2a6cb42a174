/**
 * The worker's configuration, read from the environment once at start-up. A bad value stops the worker
 * at once with a message naming the variable, the value (secrets redacted) and the fix. `.env.example`
 * lists every variable.
 */
import { z } from 'zod';
import { codecFromEnv, type AesGcmCodec } from '../temporal/codec';
import { presentVariables, temporalSettings, type TemporalSettings } from '../temporal/connection';
import { DEFAULT_TEMPORAL_UI_URL } from '../temporal/run-links';
import { DEFAULT_TASK_QUEUE } from '../workflow-safe/pipeline';

/** Variables whose values are never echoed, not even in an error. */
const SECRET_VARIABLES = new Set(['SMTP_URL', 'GLUELINE_WEBHOOK_TOKEN', 'GLUELINE_CODEC_KEY']);

/**
 * Open runs whose workflow state the worker keeps in memory between tasks. A run evicted from the cache
 * replays its history (tens of events, milliseconds) when its next task comes, which for runs that spend
 * minutes to hours in AWS waits is far cheaper than holding them (bench P5).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;
/**
 * Activities running at once. Every open run in a Glue, crawler or statement wait holds one while it
 * heartbeats, so this bounds how many runs can wait at once; the rest queue on the task queue unpolled.
 */
export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 1000;
/**
 * The most time between two heartbeats the worker sends for one running activity. A wait hears of a cancel only
 * in the server's answer to a heartbeat, so this bounds how long a cancel takes to reach the Glue run, crawl,
 * statement or copy it waits for (bench P7). Without it the SDK sends one at most every 0.8 × the heartbeat timeout,
 * capped at 60 s: with the 2-minute timeout a cancel could go unheard for a minute and a statement end meanwhile
 * (issue 22). Each running wait costs the server one heartbeat call per interval.
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;

const hostPort = /^(\[[0-9a-fA-F:]+\]|[\w.-]+):\d{1,5}$/;

const Env = z.object({
  GLUELINE_TASK_QUEUE: z
    .string()
    .regex(/^\S{1,200}$/, { error: 'is not a usable task queue name: use up to 200 characters, no spaces' })
    .default(DEFAULT_TASK_QUEUE),
  GLUELINE_AWS_ENDPOINT: z
    .url({
      protocol: /^https?$/,
      error: 'is not an http(s) URL: set it to the local stack (http://127.0.0.1:4566) or unset it for AWS',
    })
    .optional(),
  SMTP_URL: z
    .string({
      error: 'is required: set it to smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465',
    })
    .refine((v) => URL.canParse(v) && /^smtps?:$/.test(new URL(v).protocol) && new URL(v).hostname !== '', {
      error:
        'is not an smtp:// or smtps:// URL with a host: use smtp://user:password@host:587 or smtps://user:password@host:465',
    }),
  GLUELINE_WEBHOOK_TOKEN: z.string().min(1, { error: 'is empty: set the token or unset the variable' }).optional(),
  GLUELINE_FALLBACK_NOTIFY_EMAIL: z
    .string()
    .transform((v) => v.split(',').map((a) => a.trim()))
    .pipe(
      z.array(
        z.email({ error: 'is not a comma-separated list of email addresses: use, for example, data-ops@example.com' }),
      ),
    )
    .optional(),
  GLUELINE_FALLBACK_NOTIFY_FROM: z
    .email({ error: 'is not an email address: use, for example, glueline@example.com' })
    .optional(),
  GLUELINE_TEMPORAL_UI_URL: z
    .url({
      protocol: /^https?$/,
      error: `is not an http(s) URL: set it to the Temporal UI, such as ${DEFAULT_TEMPORAL_UI_URL}`,
    })
    .default(DEFAULT_TEMPORAL_UI_URL),
  GLUELINE_METRICS_BIND: z
    .string()
    .regex(hostPort, { error: 'is not host:port: use, for example, 0.0.0.0:9464, or unset it to turn metrics off' })
    .optional(),
  GLUELINE_SHUTDOWN_GRACE_SECONDS: z.coerce
    .number({ error: 'is not a number of seconds: use, for example, 30' })
    .int({ error: 'is not a whole number of seconds: use, for example, 30' })
    .min(0)
    .max(3600)
    .default(30),
  GLUELINE_MAX_CACHED_WORKFLOWS: z.coerce
    .number({ error: 'is not a number of workflows: use, for example, 100' })
    .int({ error: 'is not a whole number of workflows: use, for example, 100' })
    .min(0)
    .default(DEFAULT_MAX_CACHED_WORKFLOWS),
  GLUELINE_MAX_CONCURRENT_ACTIVITIES: z.coerce
    .number({ error: 'is not a number of activities: use, for example, 1000' })
    .int({ error: 'is not a whole number of activities: use, for example, 1000' })
    .min(1)
    .default(DEFAULT_MAX_CONCURRENT_ACTIVITIES),
  GLUELINE_HEARTBEAT_INTERVAL_MS: z.coerce
    .number({ error: 'is not a number of milliseconds: use, for example, 1000' })
    .int({ error: 'is not a whole number of milliseconds: use, for example, 1000' })
    .min(1_000, { error: 'is below 1000: the waits heartbeat once a second, so a shorter interval gains nothing' })
    .max(60_000, { error: 'is above 60000: a cancel would take minutes to reach AWS; use 1000 to 60000' })
    .default(DEFAULT_HEARTBEAT_INTERVAL_MS),
  GLUELINE_LOG_LEVEL: z
    .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], {
      error: 'is not a log level: use TRACE, DEBUG, INFO, WARN or ERROR',
    })
    .default('INFO'),
  GLUELINE_LOG_FORMAT: z
    .enum(['text', 'json'], {
      error: 'is not a log format: use text (the default) or json (one JSON object per line)',
    })
    .default('text'),
});

/** Everything the worker reads from its environment, validated. */
export interface WorkerConfig {
  /** @default 'glueline' */
  taskQueue: string;
  /** Where to reach Temporal: dev server, self-hosted or Temporal Cloud (TEMPORAL_* variables and profiles). */
  temporal: TemporalSettings;
  /** One endpoint for every AWS service (the local stack). @default - AWS's own endpoints */
  awsEndpoint?: string;
  /** The SMTP URL, credentials inside. A secret: never log it; log {@link smtpHost}. */
  smtpUrl: string;
  /** `host:port` of the SMTP server, safe to log. */
  smtpHost: string;
  /** Bearer token for the failure webhook. A secret. */
  webhookToken?: string;
  /**
   * Who is told of a run a schedule or an S3 event started that was refused before it started, when its spec
   * names nobody that can be read (GLUELINE_FALLBACK_NOTIFY_EMAIL, GLUELINE_FALLBACK_NOTIFY_FROM).
   * @default - nobody: such a refusal is only in the run's history and the worker's log
   */
  fallbackNotifyEmail?: { to: string[]; from: string };
  temporalUiUrl: string;
  /** Prometheus scrape endpoint, `host:port`. @default - no metrics endpoint */
  metricsBind?: string;
  /** How long running activities get to finish after SIGINT or SIGTERM before they are cancelled. */
  shutdownGraceMs: number;
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** GLUELINE_LOG_FORMAT: text lines, or one JSON object per line. @default 'text' */
  logFormat: 'text' | 'json';
  /** Encrypts every payload (GLUELINE_CODEC_KEY, GLUELINE_CODEC_KEY_ID). @default - payloads are plain JSON */
  codec?: AesGcmCodec;
  /** Workflow cache size (GLUELINE_MAX_CACHED_WORKFLOWS). @default {@link DEFAULT_MAX_CACHED_WORKFLOWS} */
  maxCachedWorkflows: number;
  /** Activity slots (GLUELINE_MAX_CONCURRENT_ACTIVITIES). @default {@link DEFAULT_MAX_CONCURRENT_ACTIVITIES} */
  maxConcurrentActivityTaskExecutions: number;
  /**
   * The most time between two heartbeats sent for one activity (GLUELINE_HEARTBEAT_INTERVAL_MS): how soon a
   * cancel reaches a running wait. @default {@link DEFAULT_HEARTBEAT_INTERVAL_MS}
   */
  heartbeatIntervalMs: number;
  /**
   * Every secret value the worker holds (SMTP password, webhook token, AWS secret key and session token,
   * Temporal API key), for the notify activities to scrub from anything they send.
   */
  secretsToRedact: string[];
}

/** Thrown by {@link loadConfig}: one line per bad variable, naming it, its value (secrets redacted) and the fix. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`the worker's environment is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The host and port of an SMTP URL, without the credentials. */
export function smtpHostOf(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  return `${url.hostname}:${url.port || (url.protocol === 'smtps:' ? '465' : '587')}`;
}

function shown(name: string, value: string | undefined): string {
  if (value === undefined) return '';
  if (!SECRET_VARIABLES.has(name)) return ` ${JSON.stringify(value)}`;
  return ' (value hidden: it holds a secret)';
}

/** Reads and validates the worker's configuration from `env`, or throws a {@link ConfigError}. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const present = presentVariables(env);
  const problems: string[] = [];
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      problems.push(`${name}:${shown(name, present[name])} ${issue.message}`);
    }
  }
  let temporal: TemporalSettings | undefined;
  try {
    temporal = temporalSettings(present);
  } catch (err) {
    problems.push(
      `TEMPORAL_* / TEMPORAL_CONFIG_FILE: ${(err as Error).message}: fix the Temporal profile or the TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS* variables`,
    );
  }
  let codec: AesGcmCodec | undefined;
  try {
    codec = codecFromEnv(present);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (!parsed.success || !temporal || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    taskQueue: e.GLUELINE_TASK_QUEUE,
    temporal,
    ...(e.GLUELINE_AWS_ENDPOINT ? { awsEndpoint: e.GLUELINE_AWS_ENDPOINT } : {}),
    smtpUrl: e.SMTP_URL,
    smtpHost: smtpHostOf(e.SMTP_URL),
    ...(e.GLUELINE_WEBHOOK_TOKEN ? { webhookToken: e.GLUELINE_WEBHOOK_TOKEN } : {}),
    ...(e.GLUELINE_FALLBACK_NOTIFY_EMAIL
      ? {
          fallbackNotifyEmail: {
            to: e.GLUELINE_FALLBACK_NOTIFY_EMAIL,
            from: e.GLUELINE_FALLBACK_NOTIFY_FROM ?? e.GLUELINE_FALLBACK_NOTIFY_EMAIL[0]!,
          },
        }
      : {}),
    temporalUiUrl: e.GLUELINE_TEMPORAL_UI_URL.replace(/\/+$/, ''),
    ...(e.GLUELINE_METRICS_BIND ? { metricsBind: e.GLUELINE_METRICS_BIND } : {}),
    shutdownGraceMs: e.GLUELINE_SHUTDOWN_GRACE_SECONDS * 1000,
    logLevel: e.GLUELINE_LOG_LEVEL,
    logFormat: e.GLUELINE_LOG_FORMAT,
    ...(codec ? { codec } : {}),
    maxCachedWorkflows: e.GLUELINE_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivityTaskExecutions: e.GLUELINE_MAX_CONCURRENT_ACTIVITIES,
    heartbeatIntervalMs: e.GLUELINE_HEARTBEAT_INTERVAL_MS,
    secretsToRedact: [
      decodeURIComponent(new URL(e.SMTP_URL).password),
      e.GLUELINE_WEBHOOK_TOKEN,
      present.AWS_SECRET_ACCESS_KEY,
      present.AWS_SESSION_TOKEN,
      present.TEMPORAL_API_KEY,
      present.GLUELINE_CODEC_KEY,
    ].filter((v): v is string => v !== undefined && v !== ''),
  };
}
