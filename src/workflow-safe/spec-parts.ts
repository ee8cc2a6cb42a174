/**
 * The building blocks of the pipeline spec (src/workflow-safe/spec.ts): names, regions, prefixes, columns,
 * polling and Redshift targets, each with the description the JSON Schema and docs/spec-reference.md show.
 */
import { z } from 'zod';
import { AWS_PARTITIONS, AWS_REGIONS } from './aws-regions';
import { didYouMean } from './suggest';

export const bucketName = z
  .string()
  .regex(/^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    error:
      'is not a valid S3 bucket name: use 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
  });

/** A region of an AWS partition (src/workflow-safe/aws-regions.ts), with the nearest one when misspelt. */
export const awsRegion = z
  .string()
  .refine((r) => AWS_REGIONS.includes(r), {
    error: (issue) =>
      `is not a region of an AWS partition (${AWS_PARTITIONS.map((p) => p.partition).join(', ')})` +
      (didYouMean(String(issue.input), AWS_REGIONS) || ': use a code such as us-east-1 or eu-west-1'),
  })
  .meta({ enum: [...AWS_REGIONS] });

export const glueName = z
  .string()
  .regex(/^[\w.-]{1,255}$/, { error: 'is not a valid Glue name: use 1-255 letters, digits, _ . and -' });

/** An S3 key prefix: empty, or ending in '/', never starting with '/' or holding a '..' segment. */
export const s3Prefix = z.string().regex(/^(?!\/)(?!(.*\/)?\.\.(\/|$))(.*\/)?$/, {
  error:
    "is not a usable S3 prefix: it must end with '/' (or be empty), must not start with '/' and must not hold a '..' segment",
});

export const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,126}$/, {
  error: 'is not a usable column name: use lowercase letters, digits and _ (Redshift and Glue fold names to lowercase)',
});

export { DEFAULT_POLLING, PollPolicy } from './polling';

export const ColumnType = z
  .string()
  .regex(/^(string|int|bigint|double|boolean|date|timestamp|decimal\(\d{1,2},\d{1,2}\))$/, {
    error: 'is not a supported column type: use string, int, bigint, double, boolean, date, timestamp or decimal(p,s)',
  });

export const Column = z.strictObject({
  name: identifier.describe('The column name, as in Parquet, the Glue catalog and Redshift.'),
  type: ColumnType.describe('string, int, bigint, double, boolean, date, timestamp or decimal(p,s).'),
  nullable: z.boolean().default(true).describe('false: a row with no value here is quarantined.'),
});
export type Column = z.infer<typeof Column>;

/**
 * Where a region's Redshift refresh runs: a provisioned cluster (clusterIdentifier with dbUser or
 * secretArn) or a serverless workgroup (workgroupName). Credentials come from the worker, never from here.
 */
export const RedshiftTarget = z
  .strictObject({
    clusterIdentifier: z.string().min(1).optional().describe('A provisioned cluster (with dbUser or secretArn).'),
    workgroupName: z
      .string()
      .regex(/^[a-z0-9-]{3,64}$/, {
        error:
          'is not a Redshift Serverless workgroup name: use 3-64 lowercase letters, digits and hyphens, as the ' +
          'workgroup is named in AWS (its ARN goes in workgroupArn)',
      })
      .optional()
      .describe('A Redshift Serverless workgroup, by name.'),
    workgroupArn: z
      .string()
      .regex(
        /^arn:aws[\w-]*:redshift-serverless:[a-z0-9-]+:\d{12}:workgroup\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        { error: 'is not a workgroup ARN (arn:aws:redshift-serverless:<region>:<account>:workgroup/<workgroup id>)' },
      )
      .optional()
      .meta({
        description:
          "The workgroup's ARN, for IAM only: provision --print-iam names it instead of every workgroup of the " +
          'account (the ARN carries the workgroup id, not its name). From: aws redshift-serverless get-workgroup ' +
          '--workgroup-name <name> --query workgroup.workgroupArn.',
        examples: ['arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b5c1e2a-7d3f-4a9b-8c6e-1f2a3b4c5d6e'],
      }),
    database: z.string().min(1).describe('The database the refresh SQL runs in.'),
    dbUser: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Database user for temporary credentials (provisioned clusters).', examples: ['glueline'] }),
    secretArn: z
      .string()
      .regex(/^arn:aws[\w-]*:secretsmanager:/, { error: 'is not a Secrets Manager ARN' })
      .optional()
      .describe('ARN of a Secrets Manager secret holding the database credentials. The ARN is not a secret.'),
  })
  .superRefine((t, ctx) => {
    if ((t.clusterIdentifier === undefined) === (t.workgroupName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs exactly one of clusterIdentifier (provisioned) or workgroupName (serverless)',
      });
    }
    if (t.workgroupArn !== undefined && t.workgroupName === undefined) {
      ctx.addIssue({ code: 'custom', path: ['workgroupArn'], message: 'goes with workgroupName (serverless)' });
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

/** One region the pipeline serves. The first region in `regions` is the primary. */
export const RegionSpec = z
  .strictObject({
    region: awsRegion.describe("The AWS region code; all of a pipeline's regions are in one partition."),
    rawBucket: bucketName.describe(
      "Holds the batch's CSVs (always in the primary; in the others when raw.stageToAllRegions).",
    ),
    curatedBucket: bucketName.describe(
      'Holds the Parquet output: written by the Glue job in the primary, copied and verified in the others.',
    ),
    glueDatabase: glueName.describe("The Glue catalog database the region's crawlers write to."),
    curatedCrawler: glueName.describe('Crawls the curated Parquet in this region.'),
    redshift: RedshiftTarget.optional().describe(
      'Where the refresh SQL runs in this region: a provisioned cluster (clusterIdentifier with dbUser or ' +
        'secretArn) or a serverless workgroup (workgroupName). Left out: no Redshift refresh in this region.',
    ),
  })
  .superRefine((r, ctx) => {
    const arnRegion = r.redshift?.workgroupArn?.split(':')[3];
    if (arnRegion !== undefined && arnRegion !== r.region) {
      ctx.addIssue({
        code: 'custom',
        path: ['redshift', 'workgroupArn'],
        message: `names region ${arnRegion}, not ${r.region}: give the ARN of the workgroup in ${r.region}`,
      });
    }
  });
export type RegionSpec = z.infer<typeof RegionSpec>;
