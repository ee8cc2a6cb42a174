/**
 * The pipeline spec: what one glueline pipeline runs (regions, buckets, crawlers, Glue job, Redshift
 * SQL, notifications, polling). It travels in the workflow input, so each run's history shows exactly
 * what it ran and a changed spec never alters runs in flight. Starters validate it before starting a
 * run; the workflow validates it again (this module is pure and deterministic, safe in workflow code).
 */
import { z } from 'zod';
import { partitionOf } from './aws-regions';
import { copyManifestKey } from './layout';
import { Freshness } from './spec-freshness';
import { Reconcile, Thresholds } from './spec-guards';
import {
  checkRefresh,
  refreshFields,
  labelledRefreshStatements,
  SQL_VARIABLES,
  SQL_VARIABLE_ERROR,
  sqlStatement,
  statementList,
  usesOnlySqlVariables,
} from './spec-refresh';
import {
  AUTO_COMMIT_AFTER_SQL_DESCRIPTION,
  AUTO_COMMIT_AFTER_SQL_EXAMPLES,
  AUTO_COMMIT_SQL_DESCRIPTION,
  AUTO_COMMIT_SQL_EXAMPLES,
  copyRegionProblems,
  refreshGroupProblems,
} from './refresh-rules';
import { glueName, identifier, PollPolicy, DEFAULT_POLLING, Column, RegionSpec, s3Prefix } from './spec-parts';
export { SQL_VARIABLES } from './spec-refresh';
import { checkUserTransform, userTransformFields } from './user-transform';

export {
  awsRegion,
  bucketName,
  Column,
  ColumnType,
  DEFAULT_POLLING,
  PollPolicy,
  RedshiftTarget,
  RegionSpec,
  s3Prefix,
} from './spec-parts';

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

export const PipelineSpec = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,39}$/, {
        error: 'is not a usable pipeline name: use 1-40 lowercase letters, digits and -, starting with a letter',
      })
      .describe('Names the pipeline in workflow ids, search attributes, emails and the manifest key.'),
    description: z.string().optional().describe('What the pipeline is for, in words; shown nowhere else.'),
    regions: z
      .array(RegionSpec)
      .min(1, { error: 'must list at least one region (the first is the primary)' })
      .describe('The regions served; the first is the primary, where the raw data lands and the Glue job runs.'),
    raw: z
      .strictObject({
        prefix: s3Prefix.default('raw/').describe('Batches are staged under `<prefix>batch_id=<id>/`.'),
        crawler: glueName.describe('Crawls the raw bucket in the primary region.'),
        stageToAllRegions: z
          .boolean()
          .default(false)
          .describe("Also stage the CSVs in every other region's raw bucket."),
      })
      .describe("Where a batch's CSVs are staged in the primary region, and the crawler of them."),
    transform: z
      .strictObject({
        jobName: glueName.describe('The Glue job (in the primary region) that turns the CSVs into Parquet.'),
        arguments: z
          .record(
            z.string().regex(/^--[\w-]+$/, { error: "is not a Glue argument name: start it with '--'" }),
            z.string(),
          )
          .default({})
          .describe('Extra job arguments, passed as given (`--key: value`).'),
        csv: z
          .strictObject({
            delimiter: z.string().length(1).default(',').describe('The field separator: one character.'),
            quote: z.string().length(1).default('"').describe('The quote character: one character.'),
          })
          .default({ delimiter: ',', quote: '"' })
          .describe('How the CSVs are written.'),
        columns: z
          .array(Column)
          .min(1)
          .optional()
          .describe('The schema applied to the CSVs. Left out: Spark infers names and types from the data.'),
        partitionBy: identifier
          .optional()
          .describe('A declared column to partition the Parquet output by (for example a date). Left out: none.'),
        curatedPrefix: s3Prefix
          .refine((p) => p !== '', { error: 'must not be empty: the curated data needs a folder of its own' })
          .describe('Parquet lands under `<curatedPrefix>batch_id=<id>/`.'),
        quarantinePrefix: s3Prefix
          .default('quarantine/')
          .describe('Rows that cannot be parsed land under `<quarantinePrefix>batch_id=<id>/`, with the reason.'),
        timeoutMinutes: z.number().int().min(1).max(10_080).default(120).describe("Glue's own job-run timeout."),
        ...userTransformFields(Column),
      })
      .describe('The Glue job that turns the CSVs into Parquet, and the CSV schema.'),
    redshift: z
      .strictObject({
        sql: statementList
          .optional()
          .describe(
            'The refresh statements (a statement, or `{ sqlFile }` for the statements of a file), run in one ' +
              'transaction in every region that has a Redshift target. ' +
              `${SQL_VARIABLES.map((v) => `\${${v}}`).join(', ')} are replaced with the run's values. Load the ` +
              "batch with `COPY ... FROM '${copy_manifest_uri}' ... MANIFEST`: it names exactly this run's Parquet " +
              'in the region, where `${curated_uri}` would also load whatever an earlier run left under the prefix. ' +
              'Left out: `table` generates the refresh.',
          ),
        ...refreshFields,
        autoCommitSql: z
          .array(sqlStatement)
          .optional()
          .meta({ description: AUTO_COMMIT_SQL_DESCRIPTION, examples: AUTO_COMMIT_SQL_EXAMPLES }),
        autoCommitAfterSql: z
          .array(sqlStatement)
          .optional()
          .meta({ description: AUTO_COMMIT_AFTER_SQL_DESCRIPTION, examples: AUTO_COMMIT_AFTER_SQL_EXAMPLES }),
        reconcile: Reconcile.refine((r) => !r || !('sql' in r) || usesOnlySqlVariables(r.sql), {
          ...SQL_VARIABLE_ERROR,
          path: ['sql'],
        })
          .optional()
          .describe("After the refresh, how the batch's rows are counted in each region (docs/guards.md)."),
      })
      .optional()
      .describe('The Redshift refresh. Left out: no SQL runs.'),
    notify: z
      .strictObject({
        email: z
          .strictObject({
            to: z
              .array(z.email({ error: 'is not an email address' }))
              .min(1)
              .describe('Who gets the failure email.'),
            from: z.email({ error: 'is not an email address' }).describe('The sender (verified in SES on AWS).'),
          })
          .optional()
          .describe("One email per failure, with the step, AWS's error and the run's link."),
        webhook: z
          .strictObject({
            url: z
              .url({ protocol: /^https?$/, error: 'is not an http(s) URL' })
              .refine((u) => !/\/\/[^/]*@/.test(u), {
                error: 'must not carry credentials: set GLUELINE_WEBHOOK_TOKEN on the worker instead',
              })
              .meta({
                description: 'Where the JSON POST goes: http(s), without credentials.',
                examples: ['https://hooks.example.com/glueline'],
              }),
          })
          .optional()
          .describe("A JSON POST on failure. A token comes from the worker's GLUELINE_WEBHOOK_TOKEN, never from here."),
        retryWindowMinutes: z
          .number()
          .int()
          .min(1)
          .max(10_080)
          .default(360)
          .describe(
            'How long a failure notice keeps being retried (per channel) while the mail server or the webhook is ' +
              'down. The failed run stays open, its progress already `failed`, until its notice is out or this ends.',
          ),
      })
      .refine((n) => n.email !== undefined || n.webhook !== undefined, {
        error: 'needs at least one channel (email or webhook): failures must reach the team',
      })
      .describe('Who hears of a failure: email, webhook or both (at least one).'),
    provision: z
      .strictObject({
        roleArn: z
          .string()
          .regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, { error: 'is not an IAM role ARN' })
          .optional()
          .describe(
            'The IAM role the Glue job and the crawlers run as (provisioning does not create IAM roles). Left ' +
              'out: the `--role` flag of `provision`, required for anything it has to create.',
          ),
        bucketVersioning: z.boolean().default(false).describe('Turn on S3 versioning on every raw and curated bucket.'),
        glueVersion: z
          .enum(['4.0', '5.0'], { error: 'is not a Glue version the job script supports: use 4.0 or 5.0' })
          .default('5.0')
          .describe("The Glue job's GlueVersion."),
        workerType: z
          .enum(['G.1X', 'G.2X', 'G.4X', 'G.8X'], {
            error: (issue) =>
              issue.input === 'G.025X'
                ? 'G.025X is for Glue streaming jobs only, and the transform is a Spark ETL job (CreateJob refuses it): ' +
                  'use G.1X or larger'
                : 'is not a Glue worker type',
          })
          .default('G.1X')
          .describe("The Glue job's WorkerType (G.025X is for streaming jobs, which the transform is not)."),
        numberOfWorkers: z.number().int().min(2).max(1000).default(2).describe("The Glue job's NumberOfWorkers."),
      })
      .default({ bucketVersioning: false, glueVersion: '5.0', workerType: 'G.1X', numberOfWorkers: 2 })
      .describe('What `provision` sets up beyond the names above.'),
    thresholds: Thresholds.optional().describe(
      'Limits on rejected rows, rows in and files per batch, each failing the run or warning (docs/guards.md).',
    ),
    freshness: Freshness.optional()
      .describe(
        'When a batch is expected: a watch run by Temporal notifies when a window passes without one (docs/guards.md).',
      )
      .meta({ examples: [{ by: '07:00', timeZone: 'Europe/Berlin' }] }),
    copy: z
      .strictObject({
        concurrency: z.number().int().min(1).max(64).default(8).describe('Objects copied at once.'),
      })
      .default({ concurrency: 8 })
      .describe('How replicate-curated (and stage-raw) copy objects.'),
    timeouts: z
      .strictObject({
        heartbeatSeconds: z
          .number()
          .int()
          .min(10)
          .max(3600)
          .default(120)
          .describe('Heartbeat timeout of the long waits (copies, crawls, the Glue job run, statements).'),
        awsCallSeconds: z
          .number()
          .int()
          .min(10)
          .max(3600)
          .default(120)
          .describe('Start-to-close timeout of one attempt of a short AWS call.'),
      })
      .default({ heartbeatSeconds: 120, awsCallSeconds: 120 })
      .describe(
        'How soon an activity whose worker died is noticed and retried on another worker. Shorter means faster ' +
          'recovery, but every wait must heartbeat (and every short call end) within it, throttling included.',
      ),
    polling: z
      .strictObject({
        glueJob: PollPolicy.default(DEFAULT_POLLING.glueJob).describe('Waits for the Glue job run.'),
        crawler: PollPolicy.default(DEFAULT_POLLING.crawler).describe('Waits for the crawls.'),
        redshift: PollPolicy.default(DEFAULT_POLLING.redshift).describe('Waits for the refresh statements.'),
      })
      .default(DEFAULT_POLLING)
      .describe('How often each long AWS operation is polled: capped exponential backoff.'),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    const primary = spec.regions[0]!;
    spec.regions.forEach((r, i) => {
      const [partition, primaryPartition] = [partitionOf(r.region), partitionOf(primary.region)];
      if (partition && primaryPartition && partition !== primaryPartition) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', i, 'region'],
          message:
            `is in the ${partition} partition and the primary (${primary.region}) in ${primaryPartition}: a ` +
            "pipeline's regions share one partition (credentials, ARNs and S3 copies do not cross partitions)",
        });
      }
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
    if (spec.redshift) {
      checkRefresh(spec.redshift, spec.transform, (path, message) =>
        ctx.addIssue({ code: 'custom', path: ['redshift', ...path], message }),
      );
    }
    const transaction = labelledRefreshStatements(spec);
    if (transaction.length > DATA_API_LIMITS.statements) {
      ctx.addIssue({
        code: 'custom',
        path: ['redshift', 'sql'],
        message:
          `has ${transaction.length} statements; the Redshift Data API's BatchExecuteStatement takes at most ` +
          `${DATA_API_LIMITS.statements}: combine statements, or move them into a stored procedure`,
      });
    }
    const targets = spec.regions.filter((r) => r.redshift);
    // Reported once per statement, for the region where it comes out longest.
    const longestOf = (sql: string) =>
      targets
        .map((region) => {
          const vars = longestSqlVariables(spec, region);
          const filled = sql.replace(/\$\{(\w+)\}/g, (text, name: string) => vars[name as keyof typeof vars] ?? text);
          return { region: region.region, bytes: new TextEncoder().encode(filled).length };
        })
        .sort((a, b) => b.bytes - a.bytes)[0];
    const groups = {
      autoCommitSql: spec.redshift?.autoCommitSql,
      autoCommitAfterSql: spec.redshift?.autoCommitAfterSql,
    };
    const refreshProblems = [
      ...refreshGroupProblems(transaction, groups, longestOf, DATA_API_LIMITS.statementBytes),
      ...copyRegionProblems(spec, transaction, groups),
    ];
    for (const { path, message } of refreshProblems) {
      ctx.addIssue({ code: 'custom', path, message });
    }
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
