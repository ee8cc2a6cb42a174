/**
 * The pipeline spec: what one glueline pipeline runs (regions, buckets, crawlers, Glue job, Redshift
 * SQL, notifications, polling). It travels in the workflow input, so each run's history shows exactly
 * what it ran and a changed spec never alters runs in flight. Starters validate it before starting a
 * run; the workflow validates it again (this module is pure and deterministic, safe in workflow code).
 */
import { z } from 'zod';
import { copyManifestKey } from './layout';
import { Reconcile, Thresholds } from './spec-guards';
import { checkUserTransform, userTransformFields } from './user-transform';

export const bucketName = z
  .string()
  .regex(/^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    error:
      'is not a valid S3 bucket name: use 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
  });

export const awsRegion = z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, {
  error: 'is not an AWS region name: use a code such as us-east-1 or eu-west-1',
});

const glueName = z
  .string()
  .regex(/^[\w.-]{1,255}$/, { error: 'is not a valid Glue name: use 1-255 letters, digits, _ . and -' });

/** An S3 key prefix: empty, or ending in '/', never starting with '/' or holding a '..' segment. */
export const s3Prefix = z.string().regex(/^(?!\/)(?!(.*\/)?\.\.(\/|$))(.*\/)?$/, {
  error:
    "is not a usable S3 prefix: it must end with '/' (or be empty), must not start with '/' and must not hold a '..' segment",
});

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,126}$/, {
  error: 'is not a usable column name: use lowercase letters, digits and _ (Redshift and Glue fold names to lowercase)',
});

/** How long to wait between polls of a long-running AWS operation: capped exponential backoff. */
export const PollPolicy = z.strictObject({
  /** First wait after starting. */
  initialIntervalMs: z.number().int().min(100).max(3_600_000),
  /** The longest wait between two polls. */
  maxIntervalMs: z.number().int().min(100).max(3_600_000),
  /** Each wait is the previous one times this, capped at maxIntervalMs. */
  backoffCoefficient: z.number().min(1).max(10),
  /**
   * Glue job waits only: `'history'` reads the job's recent SUCCEEDED runs (one GetJobRuns call) and
   * polls every maxIntervalMs at most until the shortest of them is nearly over, then every
   * nearEndIntervalMs until the longest is over, then backs off.
   * @default - capped exponential backoff only
   */
  expectedDurationFrom: z.enum(['history']).optional(),
  /** The wait between polls near the expected end (with expectedDurationFrom). @default 5000 */
  nearEndIntervalMs: z.number().int().min(100).max(3_600_000).optional(),
});
export type PollPolicy = z.infer<typeof PollPolicy>;

/** Polling defaults, tuned to how long each AWS operation usually takes and to its API rate limits. */
export const DEFAULT_POLLING = {
  /** Glue job runs take minutes; GetJobRun is rate-limited per account. */
  glueJob: { initialIntervalMs: 15_000, maxIntervalMs: 60_000, backoffCoefficient: 1.5 },
  /** Crawls take a minute or more. */
  crawler: { initialIntervalMs: 10_000, maxIntervalMs: 30_000, backoffCoefficient: 1.5 },
  /** Refresh SQL takes seconds to minutes. */
  redshift: { initialIntervalMs: 1_000, maxIntervalMs: 15_000, backoffCoefficient: 2 },
} as const satisfies Record<string, PollPolicy>;

export const ColumnType = z
  .string()
  .regex(/^(string|int|bigint|double|boolean|date|timestamp|decimal\(\d{1,2},\d{1,2}\))$/, {
    error: 'is not a supported column type: use string, int, bigint, double, boolean, date, timestamp or decimal(p,s)',
  });

export const Column = z.strictObject({
  name: identifier,
  type: ColumnType,
  /** @default true */
  nullable: z.boolean().default(true),
});
export type Column = z.infer<typeof Column>;

/**
 * Where a region's Redshift refresh runs: a provisioned cluster (clusterIdentifier with dbUser or
 * secretArn) or a serverless workgroup (workgroupName). Credentials come from the worker, never from here.
 */
export const RedshiftTarget = z
  .strictObject({
    clusterIdentifier: z.string().min(1).optional(),
    workgroupName: z.string().min(1).optional(),
    database: z.string().min(1),
    /** Database user for temporary credentials (provisioned clusters). */
    dbUser: z.string().min(1).optional(),
    /** ARN of a Secrets Manager secret holding the database credentials. The ARN is not a secret. */
    secretArn: z
      .string()
      .regex(/^arn:aws[\w-]*:secretsmanager:/, { error: 'is not a Secrets Manager ARN' })
      .optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.clusterIdentifier === undefined) === (t.workgroupName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs exactly one of clusterIdentifier (provisioned) or workgroupName (serverless)',
      });
    }
    if (t.clusterIdentifier !== undefined && t.dbUser === undefined && t.secretArn === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dbUser'],
        message: 'a provisioned cluster needs dbUser (temporary credentials) or secretArn',
      });
    }
  });
export type RedshiftTarget = z.infer<typeof RedshiftTarget>;

/** What `${name}` may stand for in spec.redshift.sql; src/workflow-safe/layout.ts fills them in per region. */
export const SQL_VARIABLES = [
  'batch_id',
  'region',
  'curated_uri',
  'copy_manifest_uri',
  'curated_bucket',
  'curated_prefix',
  'glue_database',
] as const;

const usesOnlySqlVariables = (sql: string) =>
  [...sql.matchAll(/\$\{(\w+)\}/g)].every((m) => (SQL_VARIABLES as readonly string[]).includes(m[1]!));
const SQL_VARIABLE_ERROR = {
  error: `uses a \${name} that is not a variable: use ${SQL_VARIABLES.map((v) => `\${${v}}`).join(', ')}`,
};

/**
 * The Redshift Data API's limits: BatchExecuteStatement takes at most 40 statements, and every
 * statement (ExecuteStatement's Sql, each of BatchExecuteStatement's Sqls) at most 100 KB.
 */
export const DATA_API_LIMITS = { statements: 40, statementBytes: 100 * 1024 } as const;

/**
 * The longest a `${name}` can become in a run, for the size check: a batch id is at most 63
 * characters, so `${batch_id}` (and the batch in `${curated_prefix}`, `${curated_uri}` and
 * `${copy_manifest_uri}`) is counted at that length.
 */
function longestSqlVariables(spec: { name: string; transform: { curatedPrefix: string } }, region: RegionSpec) {
  const batchId = 'x'.repeat(63);
  const prefix = `${spec.transform.curatedPrefix}batch_id=${batchId}/`;
  return {
    batch_id: batchId,
    region: region.region,
    curated_bucket: region.curatedBucket,
    curated_prefix: prefix,
    curated_uri: `s3://${region.curatedBucket}/${prefix}`,
    copy_manifest_uri: `s3://${region.curatedBucket}/${copyManifestKey(spec, { id: batchId })}`,
    glue_database: region.glueDatabase,
  } satisfies Record<(typeof SQL_VARIABLES)[number], string>;
}

/** One region the pipeline serves. The first region in `regions` is the primary. */
export const RegionSpec = z.strictObject({
  region: awsRegion,
  /** Holds the batch's CSVs (always in the primary; in the others when raw.stageToAllRegions). */
  rawBucket: bucketName,
  /** Holds the Parquet output: written by the Glue job in the primary, copied and verified in the others. */
  curatedBucket: bucketName,
  /** The Glue catalog database the region's crawlers write to. */
  glueDatabase: glueName,
  /** Crawls the curated Parquet in this region. */
  curatedCrawler: glueName,
  /** Where the refresh SQL runs in this region. @default - no Redshift refresh in this region */
  redshift: RedshiftTarget.optional(),
});
export type RegionSpec = z.infer<typeof RegionSpec>;

export const PipelineSpec = z
  .strictObject({
    /** Names the pipeline in workflow ids, search attributes and emails. */
    name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, {
      error: 'is not a usable pipeline name: use 1-40 lowercase letters, digits and -, starting with a letter',
    }),
    description: z.string().optional(),
    /** The regions served; the first is the primary, where the raw data lands and the Glue job runs. */
    regions: z.array(RegionSpec).min(1, { error: 'must list at least one region (the first is the primary)' }),
    raw: z.strictObject({
      /** Batches are staged under `<prefix>batch_id=<id>/`. @default 'raw/' */
      prefix: s3Prefix.default('raw/'),
      /** Crawls the raw bucket in the primary region. */
      crawler: glueName,
      /** Also stage the CSVs in every other region's raw bucket. @default false */
      stageToAllRegions: z.boolean().default(false),
    }),
    transform: z.strictObject({
      /** The Glue job (in the primary region) that turns the CSVs into Parquet. */
      jobName: glueName,
      /** Extra job arguments, passed as given (`--key: value`). @default {} */
      arguments: z
        .record(
          z.string().regex(/^--[\w-]+$/, { error: "is not a Glue argument name: start it with '--'" }),
          z.string(),
        )
        .default({}),
      csv: z
        .strictObject({
          /** @default ',' */
          delimiter: z.string().length(1).default(','),
          /** @default '"' */
          quote: z.string().length(1).default('"'),
        })
        .default({ delimiter: ',', quote: '"' }),
      /** The schema applied to the CSVs. @default - inferred by Spark from the data */
      columns: z.array(Column).min(1).optional(),
      /** A column to partition the Parquet output by (for example a date). @default - not partitioned */
      partitionBy: identifier.optional(),
      /** Parquet lands under `<curatedPrefix>batch_id=<id>/`. */
      curatedPrefix: s3Prefix.refine((p) => p !== '', {
        error: 'must not be empty: the curated data needs a folder of its own',
      }),
      /** Rows that cannot be parsed land under `<quarantinePrefix>batch_id=<id>/`, with the reason. @default 'quarantine/' */
      quarantinePrefix: s3Prefix.default('quarantine/'),
      /** Glue's own job-run timeout. @default 120 */
      timeoutMinutes: z.number().int().min(1).max(10_080).default(120),
      ...userTransformFields(Column),
    }),
    redshift: z
      .strictObject({
        /**
         * The refresh statements, run in one transaction in every region that has a Redshift target.
         * `${batch_id}`, `${region}`, `${curated_uri}`, `${copy_manifest_uri}`, `${curated_bucket}`,
         * `${curated_prefix}` and `${glue_database}` are replaced with the run's values before they are sent.
         * Load the batch with `COPY ... FROM '${copy_manifest_uri}' ... MANIFEST`: it names exactly the
         * Parquet of the Glue job's manifest in the region, where `${curated_uri}` would also load whatever an
         * earlier run left under the prefix.
         */
        sql: z.array(z.string().min(1).refine(usesOnlySqlVariables, SQL_VARIABLE_ERROR)).min(1),
        /** Counts the batch's rows in each region after the refresh (spec-guards.ts). */
        reconcile: Reconcile.refine((r) => !r || !('sql' in r) || usesOnlySqlVariables(r.sql), {
          ...SQL_VARIABLE_ERROR,
          path: ['sql'],
        }).optional(),
      })
      .optional(),
    notify: z
      .strictObject({
        email: z
          .strictObject({
            to: z.array(z.email({ error: 'is not an email address' })).min(1),
            from: z.email({ error: 'is not an email address' }),
          })
          .optional(),
        /** A JSON POST on failure. A token, if needed, comes from the worker's GLUELINE_WEBHOOK_TOKEN, never from here. */
        webhook: z
          .strictObject({
            url: z.url({ protocol: /^https?$/, error: 'is not an http(s) URL' }).refine((u) => !/\/\/[^/]*@/.test(u), {
              error: 'must not carry credentials: set GLUELINE_WEBHOOK_TOKEN on the worker instead',
            }),
          })
          .optional(),
        /**
         * How long a failure notice keeps being retried (per channel) while the mail server or the webhook is
         * down. The failed run stays open, its progress already `failed`, until its notice is out or this ends.
         * @default 360 (6 hours)
         */
        retryWindowMinutes: z.number().int().min(1).max(10_080).default(360),
      })
      .refine((n) => n.email !== undefined || n.webhook !== undefined, {
        error: 'needs at least one channel (email or webhook): failures must reach the team',
      }),
    /** What `npm run provision` sets up beyond the names above. @default - the defaults of each field */
    provision: z
      .strictObject({
        /**
         * The IAM role the Glue job and the crawlers run as. Provisioning does not create IAM roles.
         * @default - the `--role` flag of `npm run provision`; required for anything it has to create
         */
        roleArn: z
          .string()
          .regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, { error: 'is not an IAM role ARN' })
          .optional(),
        /** Turn on S3 versioning on every raw and curated bucket. @default false */
        bucketVersioning: z.boolean().default(false),
        /** @default '5.0' */
        glueVersion: z
          .enum(['4.0', '5.0'], { error: 'is not a Glue version the job script supports: use 4.0 or 5.0' })
          .default('5.0'),
        /** @default 'G.1X' */
        workerType: z
          .enum(['G.025X', 'G.1X', 'G.2X', 'G.4X', 'G.8X'], { error: 'is not a Glue worker type' })
          .default('G.1X'),
        /** @default 2 */
        numberOfWorkers: z.number().int().min(2).max(1000).default(2),
      })
      .default({ bucketVersioning: false, glueVersion: '5.0', workerType: 'G.1X', numberOfWorkers: 2 }),
    /** Limits on rejected rows, rows in and files per batch, each failing or warning (spec-guards.ts). */
    thresholds: Thresholds.optional(),
    copy: z
      .strictObject({
        /** Objects copied at once. @default 8 */
        concurrency: z.number().int().min(1).max(64).default(8),
      })
      .default({ concurrency: 8 }),
    /**
     * How soon an activity whose worker died is noticed and retried on another worker. Shorter means faster
     * recovery, but every wait must heartbeat (and every short call end) within it, throttling included.
     * @default - 120 seconds each
     */
    timeouts: z
      .strictObject({
        /** Heartbeat timeout of the long waits (copies, crawls, the Glue job run, statements). @default 120 */
        heartbeatSeconds: z.number().int().min(10).max(3600).default(120),
        /** Start-to-close timeout of one attempt of a short AWS call. @default 120 */
        awsCallSeconds: z.number().int().min(10).max(3600).default(120),
      })
      .default({ heartbeatSeconds: 120, awsCallSeconds: 120 }),
    polling: z
      .strictObject({
        glueJob: PollPolicy.default(DEFAULT_POLLING.glueJob),
        crawler: PollPolicy.default(DEFAULT_POLLING.crawler),
        redshift: PollPolicy.default(DEFAULT_POLLING.redshift),
      })
      .default(DEFAULT_POLLING),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.regions.forEach((r, i) => {
      if (seen.has(r.region)) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', i, 'region'],
          message: 'is listed twice: list each region once',
        });
      }
      seen.add(r.region);
    });
    checkUserTransform(spec.transform, (path, message) =>
      ctx.addIssue({ code: 'custom', path: ['transform', ...path], message }),
    );
    // A transform of yours without declared addedColumns may add the partition column itself.
    const freeForm = spec.transform.module !== undefined && spec.transform.addedColumns === undefined;
    const columns = freeForm ? undefined : spec.transform.columns?.concat(spec.transform.addedColumns ?? []);
    if (spec.transform.partitionBy && columns && !columns.some((c) => c.name === spec.transform.partitionBy)) {
      ctx.addIssue({
        code: 'custom',
        path: ['transform', 'partitionBy'],
        message: `is not one of the declared columns (${columns.map((c) => c.name).join(', ')})`,
      });
    }
    const sqls = spec.redshift?.sql ?? [];
    if (sqls.length > DATA_API_LIMITS.statements) {
      ctx.addIssue({
        code: 'custom',
        path: ['redshift', 'sql'],
        message:
          `has ${sqls.length} statements; the Redshift Data API's BatchExecuteStatement takes at most ` +
          `${DATA_API_LIMITS.statements}: combine statements, or move them into a stored procedure`,
      });
    }
    const targets = spec.regions.filter((r) => r.redshift);
    sqls.forEach((sql, i) => {
      // Reported once per statement, for the region where it comes out longest.
      const sizes = targets.map((region) => {
        const vars = longestSqlVariables(spec, region);
        const filled = sql.replace(/\$\{(\w+)\}/g, (text, name: string) => vars[name as keyof typeof vars] ?? text);
        return { region: region.region, bytes: new TextEncoder().encode(filled).length };
      });
      const longest = sizes.sort((a, b) => b.bytes - a.bytes)[0];
      if (longest && longest.bytes > DATA_API_LIMITS.statementBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['redshift', 'sql', i],
          message:
            `is ${longest.bytes} bytes in ${longest.region} with its variables filled in (a batch id of 63 ` +
            `characters); the Redshift Data API takes at most ${DATA_API_LIMITS.statementBytes} bytes (100 KB) ` +
            `per statement: split it, or move it into a stored procedure`,
        });
      }
    });
    if (spec.redshift && !spec.regions.some((r) => r.redshift)) {
      ctx.addIssue({
        code: 'custom',
        path: ['redshift'],
        message: 'has SQL but no region has a redshift target: add regions[].redshift or remove redshift',
      });
    }
  });

/** A spec as written in a file (defaults not yet applied). */
export type PipelineSpecInput = z.input<typeof PipelineSpec>;
/** A validated spec, with every default applied. */
export type PipelineSpec = z.output<typeof PipelineSpec>;
