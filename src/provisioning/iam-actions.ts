/**
 * Which IAM actions each AWS operation glueline sends needs (the Service Authorization Reference's "API
 * operations" tables), and a check that a policy allows them. The IAM coverage test feeds it every operation
 * the worker's code sends; `glueline provision --print-iam` prints the policies it checks.
 */

/** An IAM policy document, as IAM takes it. */
export interface IamPolicy {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

export interface IamStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** KMS actions S3 needs on an SSE-KMS bucket's key to read an object (and to finish a multipart upload). */
const KMS_READ = ['kms:Decrypt'];
/** KMS actions S3 needs on an SSE-KMS bucket's key to write an object. */
const KMS_WRITE = ['kms:GenerateDataKey'];

/**
 * The IAM actions of each operation, `<SDK client>:<operation>` (the SDK command's name without `Command`).
 * S3's object operations carry the KMS actions an SSE-KMS bucket adds; the copy operations the tagging actions
 * a copy with its tags needs (CopyObject copies tags by default; the multipart path passes them on).
 */
export const ACTIONS_OF_OPERATION: Readonly<Record<string, readonly string[]>> = {
  's3:HeadObject': ['s3:GetObject', ...KMS_READ],
  's3:GetObject': ['s3:GetObject', ...KMS_READ],
  's3:PutObject': ['s3:PutObject', ...KMS_WRITE],
  's3:CopyObject': [
    's3:GetObject',
    's3:GetObjectTagging',
    's3:PutObject',
    's3:PutObjectTagging',
    ...KMS_READ,
    ...KMS_WRITE,
  ],
  's3:GetObjectTagging': ['s3:GetObjectTagging'],
  's3:CreateMultipartUpload': ['s3:PutObject', ...KMS_WRITE],
  // With a Tagging parameter (the multipart copy passes the source's tags on), S3 also asks for PutObjectTagging.
  's3:CreateMultipartUpload+Tagging': ['s3:PutObject', 's3:PutObjectTagging', ...KMS_WRITE],
  's3:PutObject+Tagging': ['s3:PutObject', 's3:PutObjectTagging', ...KMS_WRITE],
  's3:UploadPart': ['s3:PutObject', ...KMS_WRITE],
  's3:UploadPartCopy': ['s3:GetObject', 's3:PutObject', ...KMS_READ, ...KMS_WRITE],
  's3:CompleteMultipartUpload': ['s3:PutObject', ...KMS_READ],
  's3:AbortMultipartUpload': ['s3:AbortMultipartUpload'],
  // Without ListBucket, HEAD of a missing key answers 403 instead of 404.
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:DeleteObjects': ['s3:DeleteObject'],
  's3:GetBucketLocation': ['s3:GetBucketLocation'],
  's3:HeadBucket': ['s3:ListBucket'],
  's3:CreateBucket': ['s3:CreateBucket'],
  's3:GetPublicAccessBlock': ['s3:GetBucketPublicAccessBlock'],
  's3:PutPublicAccessBlock': ['s3:PutBucketPublicAccessBlock'],
  's3:GetBucketVersioning': ['s3:GetBucketVersioning'],
  's3:PutBucketVersioning': ['s3:PutBucketVersioning'],
  's3:GetBucketEncryption': ['s3:GetEncryptionConfiguration'],
  's3:PutBucketEncryption': ['s3:PutEncryptionConfiguration'],
  'glue:StartJobRun': ['glue:StartJobRun'],
  'glue:GetJobRun': ['glue:GetJobRun'],
  'glue:GetJobRuns': ['glue:GetJobRuns'],
  'glue:BatchStopJobRun': ['glue:BatchStopJobRun'],
  'glue:StartCrawler': ['glue:StartCrawler'],
  'glue:StopCrawler': ['glue:StopCrawler'],
  'glue:GetCrawler': ['glue:GetCrawler'],
  'glue:GetCrawlerMetrics': ['glue:GetCrawlerMetrics'],
  'glue:ListCrawls': ['glue:ListCrawls'],
  'glue:GetDatabase': ['glue:GetDatabase'],
  'glue:CreateDatabase': ['glue:CreateDatabase'],
  'glue:GetJob': ['glue:GetJob'],
  'glue:CreateJob': ['glue:CreateJob'],
  'glue:UpdateJob': ['glue:UpdateJob'],
  'glue:CreateCrawler': ['glue:CreateCrawler'],
  'glue:UpdateCrawler': ['glue:UpdateCrawler'],
  'redshift-data:ExecuteStatement': ['redshift-data:ExecuteStatement'],
  'redshift-data:BatchExecuteStatement': ['redshift-data:BatchExecuteStatement'],
  'redshift-data:DescribeStatement': ['redshift-data:DescribeStatement'],
  'redshift-data:GetStatementResult': ['redshift-data:GetStatementResult'],
  'redshift-data:CancelStatement': ['redshift-data:CancelStatement'],
  'sqs:ReceiveMessage': ['sqs:ReceiveMessage'],
  'sqs:DeleteMessage': ['sqs:DeleteMessage'],
  'sqs:ChangeMessageVisibility': ['sqs:ChangeMessageVisibility'],
  // Sent by a Lambda event source mapping as the function's role, not by glueline's code.
  'sqs:GetQueueAttributes': ['sqs:GetQueueAttributes'],
};

/**
 * The operations whose IAM actions depend on a Tagging parameter: the scan names them `<operation>+Tagging` when
 * the command's input has (or may have) one.
 */
export const TAGGING_OPERATIONS: ReadonlySet<string> = new Set(['s3:CreateMultipartUpload', 's3:PutObject']);

/** The IAM service prefix of each AWS SDK client package glueline uses. */
export const SERVICE_OF_PACKAGE: Readonly<Record<string, string>> = {
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-glue': 'glue',
  '@aws-sdk/client-redshift-data': 'redshift-data',
  '@aws-sdk/client-sqs': 'sqs',
};

/** The IAM actions the operations need; an operation missing from the table is an error naming it. */
export function actionsOf(operations: Iterable<string>): string[] {
  const actions = new Set<string>();
  for (const operation of operations) {
    const needed = ACTIONS_OF_OPERATION[operation];
    if (!needed) {
      throw new Error(
        `no IAM actions known for ${operation}: add it to ACTIONS_OF_OPERATION in src/provisioning/iam-actions.ts ` +
          '(the Service Authorization Reference lists the actions each operation needs) and to the policies',
      );
    }
    for (const action of needed) actions.add(action);
  }
  return [...actions].sort();
}

/** Whether an IAM action pattern (`s3:Get*`, `*`) matches an action; IAM compares actions case-insensitively. */
function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(action);
}

/** The actions no Allow statement of the policy names (on any resource). */
export function missingActions(policy: IamPolicy, actions: Iterable<string>): string[] {
  const allowed = policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action);
  return [...actions].filter((action) => !allowed.some((pattern) => actionMatches(pattern, action)));
}
