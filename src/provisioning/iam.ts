/**
 * Least-privilege IAM policies for every principal of a pipeline, generated from its spec (the buckets, job,
 * crawlers and Redshift targets it names): the worker, the provisioning identity, the Glue job and crawler
 * roles, the Redshift COPY role, the S3 event consumer and its Lambda form. `glueline provision --print-iam`
 * prints them; the IAM coverage test checks the worker's against every operation its code sends.
 */
import { primaryRegion } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import { KEY_LISTS_PREFIX } from '../workflow-safe/key-list';
import type { IamPolicy } from './iam-actions';
import {
  arns,
  catalogStatements,
  DATA_API_STATEMENT_ACTIONS,
  document,
  kmsViaS3,
  logsStatements,
  redshiftNotes,
  redshiftStatements,
  statement,
  unique,
  type IamOptions,
} from './iam-parts';
import { SCRIPTS_PREFIX } from './job-script';

export type { IamOptions } from './iam-parts';

/**
 * Where `run --files` puts local files in the source bucket: landing/<batch id>/<file name>
 * (src/starters/batch-flags.ts; the IAM test checks the key it makes against this policy).
 */
export const RUN_FILES_PREFIX = 'landing/';

/** One principal: who assumes it (a service role) and its policy. */
export interface PrincipalPolicy {
  /** What runs as it. */
  description: string;
  /** The service principals its trust policy names; absent for identities of your own (the worker's). */
  trustedServices?: string[];
  policy: IamPolicy;
  /** What the policy could not narrow from the spec, and how to narrow it (printed beside the policy). */
  notes?: string[];
}

export type PrincipalName =
  'worker' | 'operator' | 'provisioner' | 'glueJob' | 'crawler' | 'redshiftCopy' | 's3EventConsumer' | 's3EventLambda';

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
    ...redshiftStatements(spec, a, DATA_API_STATEMENT_ACTIONS),
  ];
  return document(...statements.filter((s) => s.Resource.length > 0));
}

/**
 * The operator's CLI: `run --files` uploads, `run`/`step` key lists (the Temporal calls of run, step, redrive, status and list need no
 * AWS permission), `rejects` reads the manifest and quarantine files, `query` runs SQL through the Data API.
 */
function operatorPolicy(spec: PipelineSpec, options: IamOptions, a: ReturnType<typeof arns>): IamPolicy {
  const primary = primaryRegion(spec);
  const sources = unique([primary.rawBucket, ...(options.landingBuckets ?? [])]);
  return document(
    // PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
    statement(
      'UploadRunFiles',
      ['s3:PutObject', 's3:AbortMultipartUpload'],
      sources.map((b) => a.objects(b, RUN_FILES_PREFIX)),
    ),
    // run/step with more keys than KEY_LIST_BOUND write the list there (the worker reads it with its raw-bucket read).
    statement('WriteKeyLists', ['s3:PutObject'], [a.objects(primary.rawBucket, KEY_LISTS_PREFIX)]),
    // Without ListBucket, GET of a batch's missing manifest answers 403, not 404 (NoSuchKey), and rejects cannot
    // say "no manifest yet".
    statement('ListCuratedForRejects', ['s3:ListBucket'], [a.bucket(primary.curatedBucket)]),
    statement(
      'ReadRejects',
      ['s3:GetObject'],
      [
        a.objects(primary.curatedBucket, '_glueline/manifests/'),
        a.objects(primary.curatedBucket, spec.transform.quarantinePrefix),
      ],
    ),
    // Uploads to an SSE-KMS bucket need GenerateDataKey, and Decrypt to complete a multipart upload.
    kmsViaS3(spec, a, ['kms:Decrypt', 'kms:GenerateDataKey']),
    // No CancelStatement: query waits for its statement and never cancels it.
    ...redshiftStatements(spec, a, ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult']),
  );
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
    statement('GlueCrawlers', ['glue:GetCrawler', 'glue:UpdateCrawler'], crawlers),
    // CreateCrawler takes no resource type (the Service Authorization Reference): on a crawler ARN it is denied.
    statement('CreateGlueCrawlers', ['glue:CreateCrawler'], ['*']),
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
    ...logsStatements('JobLog', a, [{ region: p.region, group: '/aws-glue/*' }]),
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
    ...catalogStatements('Catalog', a, crawled),
    ...logsStatements(
      'CrawlerLog',
      a,
      crawled.map((c) => ({ region: c.region, group: '/aws-glue/crawlers' })),
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
    ...catalogStatements(
      'Spectrum',
      a,
      regions.map((r) => ({ region: r.region, database: r.glueDatabase })),
    ),
  );
}

/** Every principal's policy for the spec. */
export function iamPolicies(spec: PipelineSpec, options: IamOptions = {}): Record<PrincipalName, PrincipalPolicy> {
  const a = arns(spec, options);
  const queue = options.queueArn ?? a.arn('sqs', primaryRegion(spec).region, '*');
  const consumer = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'];
  const glueTrust = ['glue.amazonaws.com'];
  return {
    worker: {
      description: 'the glueline worker (npm run worker)',
      policy: workerPolicy(spec, options, a),
      ...redshiftNotes(spec),
    },
    operator: {
      description: 'who runs the CLI: run --files (uploads), rejects, query',
      policy: operatorPolicy(spec, options, a),
      ...redshiftNotes(spec),
    },
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
        // The event source mapping polls and deletes as the function's role (the code itself sends nothing).
        statement('SqsEventSource', ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], [queue]),
        ...logsStatements('LambdaLog', a, [{ region: primaryRegion(spec).region, group: '/aws/lambda/*' }]),
      ),
    },
  };
}
