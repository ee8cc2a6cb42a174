/**
 * The IAM actions glueline's policies may name, as the Service Authorization Reference lists them
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
 * with the resource types each action takes and the condition keys the policies use, and a check of a policy
 * against them: an action that is not in the list (a typo, an API operation's name where the action's differs,
 * such as s3:GetBucketEncryption for s3:GetEncryptionConfiguration), a resource that is not of a type the action
 * takes (s3:ListBucket on an object ARN, kms:Decrypt on an alias, any ARN for an action that takes none), a
 * required resource type no resource names (glue:GetTable without the catalog), and a condition key the action
 * does not take (a Condition on a key the request lacks never matches) are all reported. Only what glueline uses
 * is here. Every entry is compared with ./iam-reference-extract.json, read off the reference pages by
 * scripts/iam-reference-extract.ts (test/unit/iam-reference.test.ts): a new action goes in both.
 */
import type { IamPolicy, IamStatement } from './iam-actions';

/** One service's page of the reference: its resource types (ARN templates) and the actions checked there. */
interface ServiceReference {
  /** The reference page the names and resource types were read from. */
  page: string;
  /** Resource type → its ARN template, `${Variable}` as the reference writes it. */
  resourceTypes: Record<string, string>;
  /**
   * Action (without the prefix) → the resource types it takes, `*` marking a required one as the reference does
   * (every required type, and those of the optional ones glueline names); [] when the reference lists none ("*").
   */
  actions: Record<string, string[]>;
  /** Condition key → the actions of this page that take it: only the keys glueline's policies use. */
  conditionKeys?: Record<string, string[]>;
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
      CreateBucket: ['bucket*'],
      DeleteObject: ['object'],
      GetBucketLocation: ['bucket'],
      GetBucketPublicAccessBlock: ['bucket*'],
      GetBucketVersioning: ['bucket*'],
      GetEncryptionConfiguration: ['bucket*'],
      GetObject: ['object'],
      GetObjectTagging: ['object'],
      ListBucket: ['bucket'],
      PutBucketPublicAccessBlock: ['bucket*'],
      PutBucketVersioning: ['bucket*'],
      PutEncryptionConfiguration: ['bucket*'],
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
    actions: { Decrypt: ['key*'], GenerateDataKey: ['key*'] },
    conditionKeys: { 'kms:ViaService': ['Decrypt', 'GenerateDataKey'] },
  },
  sqs: {
    page: `${PAGE}list_amazonsqs.html`,
    resourceTypes: { queue: 'arn:${Partition}:sqs:${Region}:${Account}:${QueueName}' },
    actions: {
      ChangeMessageVisibility: ['queue*'],
      DeleteMessage: ['queue*'],
      GetQueueAttributes: ['queue*'],
      ReceiveMessage: ['queue*'],
    },
  },
  logs: {
    page: `${PAGE}list_amazoncloudwatchlogs.html`,
    resourceTypes: {
      'log-group': 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}',
      'log-stream': 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}',
    },
    actions: { CreateLogGroup: ['log-group*'], CreateLogStream: ['log-stream*'], PutLogEvents: ['log-stream*'] },
  },
  cloudwatch: {
    page: `${PAGE}list_amazoncloudwatch.html`,
    resourceTypes: {},
    actions: { PutMetricData: [] },
    conditionKeys: { 'cloudwatch:namespace': ['PutMetricData'] },
  },
  glue: {
    page: `${PAGE}list_awsglue.html`,
    resourceTypes: {
      // The account's default catalog; `catalog` is a named catalog (catalog/${CatalogName}), which glueline never uses.
      rootcatalog: 'arn:${Partition}:glue:${Region}:${Account}:catalog',
      database: 'arn:${Partition}:glue:${Region}:${Account}:database/${DatabaseName}',
      table: 'arn:${Partition}:glue:${Region}:${Account}:table/${DatabaseName}/${TableName}',
      crawler: 'arn:${Partition}:glue:${Region}:${Account}:crawler/${CrawlerName}',
      job: 'arn:${Partition}:glue:${Region}:${Account}:job/${JobName}',
    },
    actions: {
      BatchCreatePartition: ['database*', 'rootcatalog*', 'table*'],
      BatchGetPartition: ['database*', 'rootcatalog*', 'table*'],
      BatchStopJobRun: ['job*'],
      BatchUpdatePartition: ['database*', 'rootcatalog*', 'table*'],
      // Takes no resource type: a crawler cannot be named before it exists.
      CreateCrawler: [],
      CreateDatabase: ['database*', 'rootcatalog*'],
      CreateJob: ['job*'],
      CreatePartition: ['database*', 'rootcatalog*', 'table*'],
      CreateTable: ['database*', 'rootcatalog*', 'table*'],
      GetCrawler: ['crawler*'],
      GetCrawlerMetrics: [],
      GetDatabase: ['database*', 'rootcatalog*'],
      GetJob: ['job*'],
      GetJobRun: ['job*'],
      GetJobRuns: ['job*'],
      GetPartition: ['database*', 'rootcatalog*', 'table*'],
      GetPartitions: ['database*', 'rootcatalog*', 'table*'],
      GetTable: ['database*', 'rootcatalog*', 'table*'],
      GetTables: ['database*', 'rootcatalog*', 'table*'],
      ListCrawls: ['crawler*'],
      StartCrawler: ['crawler*'],
      StartJobRun: ['job*'],
      StopCrawler: ['crawler*'],
      UpdateCrawler: ['crawler*'],
      UpdateJob: ['job*'],
      UpdatePartition: ['database*', 'rootcatalog*', 'table*'],
      UpdateTable: ['database*', 'rootcatalog*', 'table*'],
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
    actions: { GetCredentials: ['workgroup*'] },
  },
  redshift: {
    page: `${PAGE}list_amazonredshift.html`,
    resourceTypes: {
      dbname: 'arn:${Partition}:redshift:${Region}:${Account}:dbname:${ClusterName}/${DbName}',
      dbuser: 'arn:${Partition}:redshift:${Region}:${Account}:dbuser:${ClusterName}/${DbUser}',
    },
    actions: { GetClusterCredentials: ['dbuser*', 'dbname'] },
  },
  secretsmanager: {
    page: `${PAGE}list_awssecretsmanager.html`,
    resourceTypes: { Secret: 'arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}' },
    actions: { GetSecretValue: ['Secret*'] },
  },
  iam: {
    page: `${PAGE}list_awsidentityandaccessmanagementiam.html`,
    resourceTypes: { role: 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}' },
    actions: { PassRole: ['role*'] },
    conditionKeys: { 'iam:PassedToService': ['PassRole'] },
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

/** An action's resource types without the required marks, and the required ones. */
export function typesOf(types: readonly string[]): { all: string[]; required: string[] } {
  return {
    all: types.map((t) => t.replace(/\*$/, '')),
    required: types.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1)),
  };
}

/** The statement's problems with one action it names: its resources, and its condition keys. */
function actionProblems(where: string, s: IamStatement, action: string): string[] {
  const [service, actionName] = action.split(':') as [string, string];
  const reference = IAM_REFERENCE[service];
  const types = reference?.actions[actionName];
  if (!reference || !types) {
    return [
      `${where}: ${action} is not in the reference list (src/provisioning/iam-reference.ts); ` +
        `look it up on ${reference?.page ?? "the service's Service Authorization Reference page"}`,
    ];
  }
  const { all } = typesOf(types);
  const problems: string[] = [];
  for (const resource of s.Resource) {
    const fits =
      all.length === 0
        ? resource === '*'
        : resource !== '*' && all.some((type) => resourceFits(resource, reference.resourceTypes[type]!));
    if (!fits) {
      problems.push(
        `${where}: ${action} on ${resource}: the action takes ` +
          (all.length ? all.map((t) => `${t} (${reference.resourceTypes[t]})`).join(' or ') : '"*" only') +
          ` (${reference.page})`,
      );
    }
  }
  // Global keys (aws:...) apply to every action; a service's keys only to the actions its page lists them for.
  const keys = Object.values(s.Condition ?? {}).flatMap((byKey) => Object.keys(byKey));
  for (const key of keys.filter((k) => !k.startsWith('aws:'))) {
    if (!reference.conditionKeys?.[key]?.includes(actionName)) {
      problems.push(
        `${where}: ${action} does not take the condition key ${key} (${reference.page}), so the statement ` +
          'never matches it: move the action to a statement without the condition',
      );
    }
  }
  return problems;
}

/**
 * What is wrong with a policy against the reference: each action not listed for its service, each resource of
 * a statement that is not of a type its action takes (`*` only where the action takes none), each condition key
 * an action of its statement does not take, and each required resource type of an action that no statement
 * allowing the action names. Empty when the policy is right.
 */
export function referenceProblems(name: string, policy: IamPolicy): string[] {
  const problems = policy.Statement.flatMap((s) => s.Action.flatMap((a) => actionProblems(`${name}.${s.Sid}`, s, a)));
  const resourcesOf = new Map<string, string[]>();
  for (const s of policy.Statement) {
    for (const action of s.Action) resourcesOf.set(action, [...(resourcesOf.get(action) ?? []), ...s.Resource]);
  }
  for (const [action, resources] of resourcesOf) {
    const [service, actionName] = action.split(':') as [string, string];
    const reference = IAM_REFERENCE[service];
    const types = reference?.actions[actionName];
    if (!reference || !types) continue;
    for (const type of typesOf(types).required) {
      const template = reference.resourceTypes[type]!;
      if (!resources.some((r) => r !== '*' && resourceFits(r, template))) {
        problems.push(
          `${name}: ${action} needs a resource of type ${type} (${template}), which the reference marks ` +
            `required, and no statement allowing it names one (${reference.page})`,
        );
      }
    }
  }
  return problems;
}
