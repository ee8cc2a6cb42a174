/**
 * The pieces the IAM policies are built from: statements, the spec's ARNs, KMS through S3, and the Redshift
 * Data API's target and credentials (shared by the worker and the operator's `glueline query`).
 */
import { partitionOf } from '../workflow-safe/aws-regions';
import { primaryRegion } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import type { IamPolicy, IamStatement } from './iam-actions';

/** What the spec does not say: the account, the landing buckets and the S3 event queue. */
export interface IamOptions {
  /** The AWS account id. @default - the account of spec.provision.roleArn, else `*` */
  account?: string;
  /** Buckets batches are read from besides the primary raw bucket (`run --source-bucket`). @default [] */
  landingBuckets?: string[];
  /** The SQS queue S3 notifies (the S3 event consumer and Lambda). @default - any queue of the primary region */
  queueArn?: string;
}

/** The Redshift Data API actions whose resource is a statement id, not an ARN ("*" in the reference). */
export const DATA_API_STATEMENT_ACTIONS = [
  'redshift-data:DescribeStatement',
  'redshift-data:GetStatementResult',
  'redshift-data:CancelStatement',
];

/**
 * Glue catalog actions a crawler (and Spectrum's ADD PARTITION) needs on its database's tables, besides
 * glue:GetDatabase (which takes the catalog and database, not a table: its own statement).
 */
export const CATALOG_WRITE = [
  'glue:GetTable',
  'glue:GetTables',
  'glue:CreateTable',
  'glue:UpdateTable',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:BatchGetPartition',
  'glue:CreatePartition',
  'glue:BatchCreatePartition',
  'glue:UpdatePartition',
  'glue:BatchUpdatePartition',
];

export const statement = (
  Sid: string,
  Action: string[],
  Resource: string[],
  Condition?: IamStatement['Condition'],
): IamStatement => ({ Sid, Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });

export const document = (...statements: IamStatement[]): IamPolicy => ({
  Version: '2012-10-17',
  Statement: statements,
});

export const unique = (values: string[]) => [...new Set(values)];

/** ARN builders for one spec: its partition and account. */
export function arns(spec: PipelineSpec, options: IamOptions) {
  const partition = partitionOf(primaryRegion(spec).region) ?? 'aws';
  const account = options.account ?? spec.provision.roleArn?.split(':')[4] ?? '*';
  const arn = (service: string, region: string, resource: string) =>
    `arn:${partition}:${service}:${region}:${account}:${resource}`;
  return {
    partition,
    account,
    bucket: (name: string) => `arn:${partition}:s3:::${name}`,
    objects: (name: string, prefix = '') => `arn:${partition}:s3:::${name}/${prefix}*`,
    glue: (region: string, resource: string) => arn('glue', region, resource),
    kmsKeys: (region: string) => arn('kms', region, 'key/*'),
    arn,
  };
}

/**
 * KMS for SSE-KMS buckets in every region: any key of the account, but only through S3 in those regions
 * (kms:ViaService), so the statement grants nothing outside S3's use of the bucket keys.
 */
export function kmsViaS3(
  spec: PipelineSpec,
  a: ReturnType<typeof arns>,
  actions: string[],
  regions?: string[],
): IamStatement {
  const inRegions = regions ?? spec.regions.map((r) => r.region);
  return statement('KmsForSseKmsBuckets', actions, inRegions.map(a.kmsKeys), {
    StringEquals: { 'kms:ViaService': inRegions.map((r) => `s3.${r}.amazonaws.com`) },
  });
}

/**
 * CloudWatch Logs for some log groups (a name may end in `*`). CreateLogGroup names the group twice: as the
 * Service Authorization Reference's log-group template has it (`log-group:<name>`) and in the `:*` form the
 * CloudWatch Logs API reference says policies use, so IAM matches whichever the service authorizes against
 * (AWSGlueServiceRole's `...:/aws-glue/*` matches both too). The streams' actions take the reference's
 * log-stream (`log-group:<name>:log-stream:<stream>`), which `<name>:*` covers.
 */
export function logsStatements(
  sid: string,
  a: ReturnType<typeof arns>,
  groups: { region: string; group: string }[],
): IamStatement[] {
  const group = (g: { region: string; group: string }) => a.arn('logs', g.region, `log-group:${g.group}`);
  return [
    statement(`${sid}Groups`, ['logs:CreateLogGroup'], unique(groups.flatMap((g) => [group(g), `${group(g)}:*`]))),
    statement(
      `${sid}Streams`,
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      unique(groups.map((g) => `${group(g)}:*`)),
    ),
  ];
}

/** The Glue catalog statements for some regions' databases: GetDatabase, then the tables' actions. */
export function catalogStatements(
  sid: string,
  a: ReturnType<typeof arns>,
  databases: { region: string; database: string }[],
): IamStatement[] {
  const where = (d: { region: string; database: string }) => [
    a.glue(d.region, 'catalog'),
    a.glue(d.region, `database/${d.database}`),
  ];
  return [
    statement(`${sid}Databases`, ['glue:GetDatabase'], unique(databases.flatMap(where))),
    statement(
      `${sid}Tables`,
      CATALOG_WRITE,
      unique(databases.flatMap((d) => [...where(d), a.glue(d.region, `table/${d.database}/*`)])),
    ),
  ];
}

type Target = { region: string; target: NonNullable<PipelineSpec['regions'][number]['redshift']> };

/**
 * A serverless target's workgroup ARN: the spec's workgroupArn, else any workgroup of the region's account. The
 * Data API and GetCredentials authorize against workgroup/<workgroup id> (a UUID, not the name), and no
 * condition key narrows them by name, so without the ARN this is as tight as the reference allows.
 */
const workgroupArn = (a: ReturnType<typeof arns>, { region, target }: Target) =>
  target.workgroupArn ?? a.arn('redshift-serverless', region, 'workgroup/*');

const redshiftTargets = (spec: PipelineSpec): Target[] =>
  spec.regions.flatMap((r) => (r.redshift ? [{ region: r.region, target: r.redshift }] : []));

/** The printed notes of a policy with the Data API: how to narrow a `workgroup/*` the spec left open. */
export function redshiftNotes(spec: PipelineSpec): { notes?: string[] } {
  const notes = spec.regions.flatMap((r) =>
    r.redshift?.workgroupName && !r.redshift.workgroupArn
      ? [
          `${r.region}: the Data API and redshift-serverless:GetCredentials authorize against the workgroup's ARN, ` +
            `which carries its id, not its name (${r.redshift.workgroupName}), so this policy names every workgroup ` +
            `of the account in ${r.region} (workgroup/*). To name only it, set the region's redshift.workgroupArn ` +
            `to the output of: aws redshift-serverless get-workgroup --region ${r.region} --workgroup-name ` +
            `${r.redshift.workgroupName} --query workgroup.workgroupArn --output text`,
        ]
      : [],
  );
  return notes.length ? { notes } : {};
}

/**
 * The Data API on each region's target, and the credentials it takes for it. `statementActions`: which of
 * DescribeStatement, GetStatementResult and CancelStatement the principal sends.
 */
export function redshiftStatements(
  spec: PipelineSpec,
  a: ReturnType<typeof arns>,
  statementActions: string[],
): IamStatement[] {
  const targets = redshiftTargets(spec);
  if (targets.length === 0) return [];
  const where = targets.map((t) =>
    t.target.workgroupName ? workgroupArn(a, t) : a.arn('redshift', t.region, `cluster:${t.target.clusterIdentifier}`),
  );
  const statements = [
    statement('DataApiRun', ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], unique(where)),
    // No statement-owner condition: another worker's role session must describe and cancel a run's statement.
    statement('DataApiStatements', statementActions, ['*']),
  ];
  const serverless = targets.filter((t) => t.target.workgroupName && !t.target.secretArn);
  if (serverless.length) {
    statements.push(
      statement(
        'ServerlessCredentials',
        ['redshift-serverless:GetCredentials'],
        unique(serverless.map((t) => workgroupArn(a, t))),
      ),
    );
  }
  const dbUsers = targets.filter((t) => t.target.clusterIdentifier && t.target.dbUser && !t.target.secretArn);
  if (dbUsers.length) {
    statements.push(
      statement(
        'ClusterCredentials',
        ['redshift:GetClusterCredentials'],
        dbUsers.flatMap(({ region, target }) => [
          a.arn('redshift', region, `dbuser:${target.clusterIdentifier}/${target.dbUser}`),
          a.arn('redshift', region, `dbname:${target.clusterIdentifier}/${target.database}`),
        ]),
      ),
    );
  }
  const secrets = unique(targets.flatMap((t) => (t.target.secretArn ? [t.target.secretArn] : [])));
  if (secrets.length) statements.push(statement('DatabaseSecrets', ['secretsmanager:GetSecretValue'], secrets));
  return statements;
}
