/**
 * Least-privilege IAM policies for every principal of a pipeline, generated from its spec (the buckets, job,
 * crawlers and Redshift targets it names): the worker, the provisioning identity, the Glue job and crawler
 * roles, the Redshift COPY role, the S3 event consumer and its Lambda form. `glueline provision --print-iam`
 * prints them; the IAM coverage test checks the worker's against every operation its code sends.
 */
import { partitionOf } from '../workflow-safe/aws-regions';
import { primaryRegion } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import type { IamPolicy, IamStatement } from './iam-actions';
import { SCRIPTS_PREFIX } from './job-script';

/** What the spec does not say: the account, the landing buckets and the S3 event queue. */
export interface IamOptions {
  /** The AWS account id. @default - the account of spec.provision.roleArn, else `*` */
  account?: string;
  /** Buckets batches are read from besides the primary raw bucket (`run --source-bucket`). @default [] */
  landingBuckets?: string[];
  /** The SQS queue S3 notifies (the S3 event consumer and Lambda). @default - any queue of the primary region */
  queueArn?: string;
}

/** One principal: who assumes it (a service role) and its policy. */
export interface PrincipalPolicy {
  /** What runs as it. */
  description: string;
  /** The service principals its trust policy names; absent for identities of your own (the worker's). */
  trustedServices?: string[];
  policy: IamPolicy;
}

export type PrincipalName =
  'worker' | 'provisioner' | 'glueJob' | 'crawler' | 'redshiftCopy' | 's3EventConsumer' | 's3EventLambda';

/** The Redshift Data API actions whose resource is a statement id, not an ARN ("*" in the reference). */
export const DATA_API_STATEMENT_ACTIONS = [
  'redshift-data:DescribeStatement',
  'redshift-data:GetStatementResult',
  'redshift-data:CancelStatement',
];

/** Glue catalog actions a crawler (and Spectrum's ADD PARTITION) needs on its database's tables. */
const CATALOG_WRITE = [
  'glue:GetDatabase',
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

const statement = (
  Sid: string,
  Action: string[],
  Resource: string[],
  Condition?: IamStatement['Condition'],
): IamStatement => ({ Sid, Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });

const document = (...statements: IamStatement[]): IamPolicy => ({ Version: '2012-10-17', Statement: statements });

const unique = (values: string[]) => [...new Set(values)];

/** ARN builders for one spec: its partition and account. */
function arns(spec: PipelineSpec, options: IamOptions) {
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
    logs: (region: string, group: string) => arn('logs', region, `log-group:${group}:*`),
    kmsKeys: (region: string) => arn('kms', region, 'key/*'),
    arn,
  };
}

/**
 * KMS for SSE-KMS buckets in every region: any key of the account, but only through S3 in those regions
 * (kms:ViaService), so the statement grants nothing outside S3's use of the bucket keys.
 */
function kmsViaS3(spec: PipelineSpec, a: ReturnType<typeof arns>, actions: string[], regions?: string[]): IamStatement {
  const inRegions = regions ?? spec.regions.map((r) => r.region);
  return statement('KmsForSseKmsBuckets', actions, inRegions.map(a.kmsKeys), {
    StringEquals: { 'kms:ViaService': inRegions.map((r) => `s3.${r}.amazonaws.com`) },
  });
}

/** The worker: copies, crawls, job runs, the Data API and the notification records. */
function workerPolicy(spec: PipelineSpec, options: IamOptions, a: ReturnType<typeof arns>): IamPolicy {
  const raw = spec.regions.map((r) => r.rawBucket);
  const curated = spec.regions.map((r) => r.curatedBucket);
  const landing = unique([...(options.landingBuckets ?? [])]).filter((b) => !raw.includes(b));
  const primary = primaryRegion(spec);
  const curatedObjects = curated.flatMap((b) => [
    a.objects(b, spec.transform.curatedPrefix),
    a.objects(b, spec.transform.quarantinePrefix),
    a.objects(b, '_glueline/'),
  ]);
  const rawObjects = raw.map((b) => a.objects(b, spec.raw.prefix));
  const statements = [
    // ListBucket on every bucket: HEAD of a not-yet-copied object is 403, not 404, without it.
    statement(
      'ListAndLocateBuckets',
      ['s3:ListBucket', 's3:GetBucketLocation'],
      unique([...landing, ...raw, ...curated]).map(a.bucket),
    ),
    statement(
      'ReadBatchSources',
      ['s3:GetObject', 's3:GetObjectTagging'],
      [...landing.map((b) => a.objects(b)), ...raw.map((b) => a.objects(b))],
    ),
    statement(
      'WriteRawAndCurated',
      [
        's3:GetObject',
        's3:GetObjectTagging',
        's3:PutObject',
        's3:PutObjectTagging',
        's3:AbortMultipartUpload',
        's3:DeleteObject',
      ],
      [...rawObjects, ...curatedObjects],
    ),
    kmsViaS3(spec, a, ['kms:Decrypt', 'kms:GenerateDataKey']),
    statement(
      'GlueJobRuns',
      ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun'],
      [a.glue(primary.region, `job/${spec.transform.jobName}`)],
    ),
    statement(
      'GlueCrawls',
      ['glue:StartCrawler', 'glue:StopCrawler', 'glue:GetCrawler', 'glue:ListCrawls'],
      [
        a.glue(primary.region, `crawler/${spec.raw.crawler}`),
        ...spec.regions.map((r) => a.glue(r.region, `crawler/${r.curatedCrawler}`)),
      ],
    ),
    // GetCrawlerMetrics takes no resource type in the Service Authorization Reference.
    statement('GlueCrawlerMetrics', ['glue:GetCrawlerMetrics'], ['*']),
    ...redshiftStatements(spec, a),
  ];
  return document(...statements.filter((s) => s.Resource.length > 0));
}

/** The Data API on each region's target, and the credentials it takes for it. */
function redshiftStatements(spec: PipelineSpec, a: ReturnType<typeof arns>): IamStatement[] {
  const targets = spec.regions.flatMap((r) => (r.redshift ? [{ region: r.region, target: r.redshift }] : []));
  if (targets.length === 0) return [];
  // A workgroup's ARN carries its id, not its name, which the spec does not know: any workgroup of the region.
  const where = targets.map(({ region, target }) =>
    target.workgroupName
      ? a.arn('redshift-serverless', region, 'workgroup/*')
      : a.arn('redshift', region, `cluster:${target.clusterIdentifier}`),
  );
  const statements = [
    statement('DataApiRun', ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], unique(where)),
    // No statement-owner condition: another worker's role session must describe and cancel a run's statement.
    statement('DataApiStatements', DATA_API_STATEMENT_ACTIONS, ['*']),
  ];
  const serverless = targets.filter((t) => t.target.workgroupName && !t.target.secretArn);
  if (serverless.length) {
    statements.push(
      statement(
        'ServerlessCredentials',
        ['redshift-serverless:GetCredentials'],
        unique(serverless.map((t) => a.arn('redshift-serverless', t.region, 'workgroup/*'))),
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

/** Who runs `provision --aws --yes`: bucket settings, the job script, Glue definitions, passing the role. */
function provisionerPolicy(spec: PipelineSpec, a: ReturnType<typeof arns>): IamPolicy {
  const primary = primaryRegion(spec);
  const buckets = spec.regions.flatMap((r) => [r.rawBucket, r.curatedBucket]).map(a.bucket);
  const crawlers = [
    a.glue(primary.region, `crawler/${spec.raw.crawler}`),
    ...spec.regions.map((r) => a.glue(r.region, `crawler/${r.curatedCrawler}`)),
  ];
  const databases = unique(
    spec.regions.flatMap((r) => [a.glue(r.region, 'catalog'), a.glue(r.region, `database/${r.glueDatabase}`)]),
  );
  const role = spec.provision.roleArn ?? `arn:${a.partition}:iam::${a.account}:role/*`;
  return document(
    statement(
      'Buckets',
      [
        's3:CreateBucket',
        's3:ListBucket',
        's3:GetBucketLocation',
        's3:GetBucketPublicAccessBlock',
        's3:PutBucketPublicAccessBlock',
        's3:GetBucketVersioning',
        's3:PutBucketVersioning',
        's3:GetEncryptionConfiguration',
        's3:PutEncryptionConfiguration',
      ],
      buckets,
    ),
    statement('JobScript', ['s3:GetObject', 's3:PutObject'], [a.objects(primary.curatedBucket, SCRIPTS_PREFIX)]),
    kmsViaS3(spec, a, ['kms:Decrypt', 'kms:GenerateDataKey'], [primary.region]),
    statement('GlueDatabases', ['glue:GetDatabase', 'glue:CreateDatabase'], databases),
    statement(
      'GlueJob',
      ['glue:GetJob', 'glue:CreateJob', 'glue:UpdateJob'],
      [a.glue(primary.region, `job/${spec.transform.jobName}`)],
    ),
    statement('GlueCrawlers', ['glue:GetCrawler', 'glue:CreateCrawler', 'glue:UpdateCrawler'], crawlers),
    statement('PassTheGlueRole', ['iam:PassRole'], [role], {
      StringEquals: { 'iam:PassedToService': 'glue.amazonaws.com' },
    }),
  );
}

/** The Glue job's role: read the raw CSVs and its script, write Parquet, quarantine and the manifest. */
function glueJobPolicy(spec: PipelineSpec, a: ReturnType<typeof arns>): IamPolicy {
  const p = primaryRegion(spec);
  const written = [
    spec.transform.curatedPrefix,
    spec.transform.quarantinePrefix,
    '_glueline/manifests/',
    '_glueline/tmp/',
  ];
  return document(
    statement(
      'ListBuckets',
      ['s3:ListBucket', 's3:GetBucketLocation'],
      [a.bucket(p.rawBucket), a.bucket(p.curatedBucket)],
    ),
    statement(
      'ReadCsvAndScripts',
      ['s3:GetObject'],
      [a.objects(p.rawBucket, spec.raw.prefix), a.objects(p.curatedBucket, SCRIPTS_PREFIX)],
    ),
    statement(
      'WriteOutput',
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      written.map((prefix) => a.objects(p.curatedBucket, prefix)),
    ),
    kmsViaS3(spec, a, ['kms:Decrypt', 'kms:GenerateDataKey'], [p.region]),
    // The job asks Glue for its own runs before it touches output, so a second live run of a batch stops.
    statement('OwnJobRuns', ['glue:GetJobRuns'], [a.glue(p.region, `job/${spec.transform.jobName}`)]),
    statement(
      'JobLogs',
      ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      [a.logs(p.region, '/aws-glue/*')],
    ),
    statement('JobMetrics', ['cloudwatch:PutMetricData'], ['*'], {
      StringEquals: { 'cloudwatch:namespace': 'Glue' },
    }),
  );
}

/** The crawlers' role: read what they crawl and keep each region's database's tables and partitions. */
function crawlerPolicy(spec: PipelineSpec, a: ReturnType<typeof arns>): IamPolicy {
  const p = primaryRegion(spec);
  const crawled = [
    { region: p.region, bucket: p.rawBucket, prefix: spec.raw.prefix, database: p.glueDatabase },
    ...spec.regions.map((r) => ({
      region: r.region,
      bucket: r.curatedBucket,
      prefix: spec.transform.curatedPrefix,
      database: r.glueDatabase,
    })),
  ];
  return document(
    statement('ListCrawledBuckets', ['s3:ListBucket'], unique(crawled.map((c) => a.bucket(c.bucket)))),
    statement('ReadCrawledObjects', ['s3:GetObject'], unique(crawled.map((c) => a.objects(c.bucket, c.prefix)))),
    kmsViaS3(spec, a, ['kms:Decrypt']),
    statement(
      'CatalogTables',
      CATALOG_WRITE,
      unique(
        crawled.flatMap((c) => [
          a.glue(c.region, 'catalog'),
          a.glue(c.region, `database/${c.database}`),
          a.glue(c.region, `table/${c.database}/*`),
        ]),
      ),
    ),
    statement(
      'CrawlerLogs',
      ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      unique(crawled.map((c) => a.logs(c.region, '/aws-glue/crawlers'))),
    ),
  );
}

/** The default IAM role of each Redshift target: COPY from the curated replica, Spectrum's catalog. */
function redshiftCopyPolicy(spec: PipelineSpec, a: ReturnType<typeof arns>): IamPolicy {
  const regions = spec.regions.filter((r) => r.redshift);
  return document(
    statement(
      'ListCurated',
      ['s3:ListBucket', 's3:GetBucketLocation'],
      regions.map((r) => a.bucket(r.curatedBucket)),
    ),
    statement(
      'ReadCuratedAndManifests',
      ['s3:GetObject'],
      regions.flatMap((r) => [
        a.objects(r.curatedBucket, spec.transform.curatedPrefix),
        a.objects(r.curatedBucket, '_glueline/copy-manifests/'),
      ]),
    ),
    kmsViaS3(
      spec,
      a,
      ['kms:Decrypt'],
      regions.map((r) => r.region),
    ),
    statement(
      'SpectrumCatalog',
      CATALOG_WRITE,
      unique(
        regions.flatMap((r) => [
          a.glue(r.region, 'catalog'),
          a.glue(r.region, `database/${r.glueDatabase}`),
          a.glue(r.region, `table/${r.glueDatabase}/*`),
        ]),
      ),
    ),
  );
}

/** Every principal's policy for the spec. */
export function iamPolicies(spec: PipelineSpec, options: IamOptions = {}): Record<PrincipalName, PrincipalPolicy> {
  const a = arns(spec, options);
  const queue = options.queueArn ?? a.arn('sqs', primaryRegion(spec).region, '*');
  const consumer = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'];
  const lambdaLogs = a.logs(primaryRegion(spec).region, '/aws/lambda/*');
  const glueTrust = ['glue.amazonaws.com'];
  return {
    worker: { description: 'the glueline worker (npm run worker)', policy: workerPolicy(spec, options, a) },
    provisioner: { description: 'whoever runs provision --aws --yes', policy: provisionerPolicy(spec, a) },
    glueJob: {
      description: `the Glue job ${spec.transform.jobName} (spec.provision.roleArn)`,
      trustedServices: glueTrust,
      policy: glueJobPolicy(spec, a),
    },
    crawler: {
      description: 'the raw and curated crawlers (spec.provision.roleArn; one role may hold this and glueJob)',
      trustedServices: glueTrust,
      policy: crawlerPolicy(spec, a),
    },
    redshiftCopy: {
      description: "each Redshift target's default IAM role (COPY ... IAM_ROLE default, Spectrum)",
      trustedServices: ['redshift.amazonaws.com', 'redshift-serverless.amazonaws.com'],
      policy: redshiftCopyPolicy(spec, a),
    },
    s3EventConsumer: {
      description: 'glueline s3-events (the SQS consumer)',
      policy: document(statement('ConsumeS3Events', consumer, [queue])),
    },
    s3EventLambda: {
      description: "the S3 event Lambda's execution role (SQS event source)",
      trustedServices: ['lambda.amazonaws.com'],
      policy: document(
        // The event source mapping polls as the function's role: it needs GetQueueAttributes too.
        statement('SqsEventSource', [...consumer, 'sqs:GetQueueAttributes'], [queue]),
        statement('LambdaLogs', ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], [lambdaLogs]),
      ),
    },
  };
}
