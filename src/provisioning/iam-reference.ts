/**
 * The IAM actions glueline's policies may name, as the Service Authorization Reference lists them
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
 * with the resource types each action takes, and a check of a policy against them: an action that is not in the
 * list (a typo, an API operation's name where the action's differs, such as s3:GetBucketEncryption for
 * s3:GetEncryptionConfiguration) and a resource that is not of a type the action takes (s3:ListBucket on an
 * object ARN, kms:Decrypt on an alias) are both reported. Only the actions glueline uses are here: adding one
 * to a policy means looking it up on its service's page and adding it below.
 */
import type { IamPolicy } from './iam-actions';

/** One service's page of the reference: its resource types (ARN templates) and the actions checked there. */
interface ServiceReference {
  /** The reference page the names and resource types were read from. */
  page: string;
  /** Resource type → its ARN template, `${Variable}` as the reference writes it. */
  resourceTypes: Record<string, string>;
  /** Action (without the prefix) → the resource types it takes; [] when the reference lists none ("*"). */
  actions: Record<string, string[]>;
}

const PAGE = 'https://docs.aws.amazon.com/service-authorization/latest/reference/';

/** The reference, per service prefix. */
export const IAM_REFERENCE: Readonly<Record<string, ServiceReference>> = {
  s3: {
    page: `${PAGE}list_amazons3.html`,
    resourceTypes: {
      bucket: 'arn:${Partition}:s3:::${BucketName}',
      object: 'arn:${Partition}:s3:::${BucketName}/${ObjectName}',
    },
    actions: {
      AbortMultipartUpload: ['object'],
      CreateBucket: ['bucket'],
      DeleteObject: ['object'],
      GetBucketLocation: ['bucket'],
      GetBucketPublicAccessBlock: ['bucket'],
      GetBucketVersioning: ['bucket'],
      GetEncryptionConfiguration: ['bucket'],
      GetObject: ['object'],
      GetObjectTagging: ['object'],
      ListBucket: ['bucket'],
      PutBucketPublicAccessBlock: ['bucket'],
      PutBucketVersioning: ['bucket'],
      PutEncryptionConfiguration: ['bucket'],
      PutObject: ['object'],
      PutObjectTagging: ['object'],
    },
  },
  kms: {
    page: `${PAGE}list_awskeymanagementservice.html`,
    resourceTypes: {
      key: 'arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}',
      alias: 'arn:${Partition}:kms:${Region}:${Account}:alias/${Alias}',
    },
    actions: { Decrypt: ['key'], GenerateDataKey: ['key'] },
  },
  sqs: {
    page: `${PAGE}list_amazonsqs.html`,
    resourceTypes: { queue: 'arn:${Partition}:sqs:${Region}:${Account}:${QueueName}' },
    actions: {
      ChangeMessageVisibility: ['queue'],
      DeleteMessage: ['queue'],
      GetQueueAttributes: ['queue'],
      ReceiveMessage: ['queue'],
    },
  },
  logs: {
    page: `${PAGE}list_amazoncloudwatchlogs.html`,
    resourceTypes: {
      'log-group': 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}',
      'log-stream': 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}',
    },
    actions: { CreateLogGroup: ['log-group'], CreateLogStream: ['log-group'], PutLogEvents: ['log-stream'] },
  },
  cloudwatch: {
    page: `${PAGE}list_amazoncloudwatch.html`,
    resourceTypes: {},
    actions: { PutMetricData: [] },
  },
  glue: {
    page: `${PAGE}list_awsglue.html`,
    resourceTypes: {
      catalog: 'arn:${Partition}:glue:${Region}:${Account}:catalog',
      database: 'arn:${Partition}:glue:${Region}:${Account}:database/${DatabaseName}',
      table: 'arn:${Partition}:glue:${Region}:${Account}:table/${DatabaseName}/${TableName}',
      crawler: 'arn:${Partition}:glue:${Region}:${Account}:crawler/${CrawlerName}',
      job: 'arn:${Partition}:glue:${Region}:${Account}:job/${JobName}',
    },
    actions: {
      BatchCreatePartition: ['catalog', 'database', 'table'],
      BatchGetPartition: ['catalog', 'database', 'table'],
      BatchStopJobRun: ['job'],
      BatchUpdatePartition: ['catalog', 'database', 'table'],
      CreateCrawler: ['crawler'],
      CreateDatabase: ['catalog', 'database'],
      CreateJob: ['job'],
      CreatePartition: ['catalog', 'database', 'table'],
      CreateTable: ['catalog', 'database', 'table'],
      GetCrawler: ['crawler'],
      GetCrawlerMetrics: [],
      GetDatabase: ['catalog', 'database'],
      GetJob: ['job'],
      GetJobRun: ['job'],
      GetJobRuns: ['job'],
      GetPartition: ['catalog', 'database', 'table'],
      GetPartitions: ['catalog', 'database', 'table'],
      GetTable: ['catalog', 'database', 'table'],
      GetTables: ['catalog', 'database', 'table'],
      ListCrawls: ['crawler'],
      StartCrawler: ['crawler'],
      StartJobRun: ['job'],
      StopCrawler: ['crawler'],
      UpdateCrawler: ['crawler'],
      UpdateJob: ['job'],
      UpdatePartition: ['catalog', 'database', 'table'],
      UpdateTable: ['catalog', 'database', 'table'],
    },
  },
  'redshift-data': {
    page: `${PAGE}list_amazonredshiftdataapi.html`,
    resourceTypes: {
      cluster: 'arn:${Partition}:redshift:${Region}:${Account}:cluster:${ClusterName}',
      workgroup: 'arn:${Partition}:redshift-serverless:${Region}:${Account}:workgroup/${WorkgroupId}',
    },
    actions: {
      BatchExecuteStatement: ['cluster', 'workgroup'],
      ExecuteStatement: ['cluster', 'workgroup'],
      // The statement actions take a statement id, not an ARN: the reference lists no resource type.
      CancelStatement: [],
      DescribeStatement: [],
      GetStatementResult: [],
    },
  },
  'redshift-serverless': {
    page: `${PAGE}list_amazonredshiftserverless.html`,
    resourceTypes: {
      workgroup: 'arn:${Partition}:redshift-serverless:${Region}:${Account}:workgroup/${WorkgroupId}',
    },
    actions: { GetCredentials: ['workgroup'] },
  },
  redshift: {
    page: `${PAGE}list_amazonredshift.html`,
    resourceTypes: {
      dbname: 'arn:${Partition}:redshift:${Region}:${Account}:dbname:${ClusterName}/${DbName}',
      dbuser: 'arn:${Partition}:redshift:${Region}:${Account}:dbuser:${ClusterName}/${DbUser}',
      dbgroup: 'arn:${Partition}:redshift:${Region}:${Account}:dbgroup:${ClusterName}/${DbGroup}',
    },
    actions: { GetClusterCredentials: ['dbuser', 'dbname', 'dbgroup'] },
  },
  secretsmanager: {
    page: `${PAGE}list_awssecretsmanager.html`,
    resourceTypes: { Secret: 'arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}' },
    actions: { GetSecretValue: ['Secret'] },
  },
  iam: {
    page: `${PAGE}list_awsidentityandaccessmanagementiam.html`,
    resourceTypes: { role: 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}' },
    actions: { PassRole: ['role'] },
  },
};

/** A template's token: a character, or a variable (any characters but `forbidden`). */
type TemplateToken = string | { forbidden: string };
/** A policy resource's token: a character, or ANY for `*`. */
const ANY = null;
type ResourceToken = string | typeof ANY;

/**
 * Which characters a template variable cannot hold: ARN fields stop at `:`, names also at `/`. A log group's
 * name is open: the ARN CloudWatch Logs gives a log group ends in `:*`, and policies name it so.
 */
function forbiddenIn(variable: string): string {
  if (['ObjectName', 'RoleNameWithPath', 'SecretId', 'LogGroupName'].includes(variable)) return '';
  return ':/';
}

const templateTokens = (template: string): TemplateToken[] =>
  template
    .split(/(\$\{\w+\})/)
    .flatMap((part): TemplateToken[] =>
      part.startsWith('${') ? [{ forbidden: forbiddenIn(part.slice(2, -1)) }] : [...part],
    );

// `?` (one character) is read as `*`: the check may accept more than IAM would match, never refuse less.
const resourceTokens = (resource: string): ResourceToken[] =>
  [...resource].map((char) => (char === '*' || char === '?' ? ANY : char));

/** Whether some ARN matches both the policy's resource pattern and the type's template (a memoised walk). */
function overlaps(resource: ResourceToken[], template: TemplateToken[]): boolean {
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = i * (template.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, false);
    const r = resource[i];
    const t = template[j];
    let result: boolean;
    if (i === resource.length && j === template.length) result = true;
    else if (i < resource.length && r === ANY) result = at(i + 1, j) || (j < template.length && at(i, j + 1));
    else if (j < template.length && typeof t === 'object')
      result = at(i, j + 1) || (typeof r === 'string' && !t.forbidden.includes(r) && at(i + 1, j));
    else result = typeof r === 'string' && r === t && at(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

/** Whether `resource` (a policy's Resource entry) can name a resource of the type `template` describes. */
export function resourceFits(resource: string, template: string): boolean {
  return overlaps(resourceTokens(resource), templateTokens(template));
}

/**
 * What is wrong with a policy against the reference: each action not listed for its service, and each resource
 * of a statement that is not of a type its action takes (`*` only where the action takes none). Empty when
 * the policy is right.
 */
export function referenceProblems(name: string, policy: IamPolicy): string[] {
  const problems: string[] = [];
  for (const s of policy.Statement) {
    for (const action of s.Action) {
      const [service, actionName] = action.split(':') as [string, string];
      const reference = IAM_REFERENCE[service];
      const types = reference?.actions[actionName];
      if (!reference || !types) {
        problems.push(
          `${name}.${s.Sid}: ${action} is not in the reference list (src/provisioning/iam-reference.ts); ` +
            `look it up on ${reference?.page ?? "the service's Service Authorization Reference page"}`,
        );
        continue;
      }
      for (const resource of s.Resource) {
        const fits =
          types.length === 0
            ? resource === '*'
            : resource !== '*' && types.some((type) => resourceFits(resource, reference.resourceTypes[type]!));
        if (!fits) {
          problems.push(
            `${name}.${s.Sid}: ${action} on ${resource}: the action takes ` +
              (types.length ? types.map((t) => `${t} (${reference.resourceTypes[t]})`).join(' or ') : '"*" only') +
              ` (${reference.page})`,
          );
        }
      }
    }
  }
  return problems;
}
