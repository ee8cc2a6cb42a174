/**
 * IAM coverage (issue #14 finding 6): every AWS operation a principal's code sends is allowed by the policy
 * `provision --print-iam` generates for it, and every action and resource of those policies is one the Service
 * Authorization Reference lists for it. The operations are found in the code itself (./aws-operation-scan.ts):
 * from each principal's entry file, every declaration it reaches, and in them every `new <Op>Command(...)` of an
 * AWS SDK client, mapped to IAM actions by ACTIONS_OF_OPERATION. A new command without a policy entry fails here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { iamPolicies, RUN_FILES_PREFIX, type PrincipalName } from '../../src/provisioning/iam';
import { KEY_LIST_BOUND } from '../../src/workflow-safe/key-list';
import { actionsOf, ACTIONS_OF_OPERATION, missingActions, type IamPolicy } from '../../src/provisioning/iam-actions';
import { IAM_REFERENCE, referenceProblems, resourceFits } from '../../src/provisioning/iam-reference';
import { batchFromFlags } from '../../src/starters/batch-flags';
import { provisionCommand } from '../../src/starters/provision';
import { loadSpecFile } from '../../src/starters/spec-file';
import { manifestKey, quarantineBatchPrefix } from '../../src/workflow-safe/layout';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { validationProblems } from '../../devstack/testkit/spec-problems';
import { operationsOfImportedModules, operationsReachableFrom } from './aws-operation-scan';

/**
 * The principal each process runs as, and the file it starts from. The operator's CLI is one principal for
 * every command under src/starters that calls AWS; `extra` are operations AWS sends as the principal (the
 * Lambda's event source mapping polls the queue as the function's role).
 */
const ENTRIES: { principal: PrincipalName; entry: string; extra?: string[] }[] = [
  { principal: 'worker', entry: 'worker.ts' },
  { principal: 'provisioner', entry: 'starters/provision.ts' },
  { principal: 's3EventConsumer', entry: 'starters/s3-events-command.ts' },
  { principal: 's3EventConsumer', entry: 'starters/s3-events.ts' },
  {
    principal: 's3EventLambda',
    entry: 'starters/s3-events-lambda.ts',
    extra: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
  },
  { principal: 'operator', entry: 'starters/run.ts' },
  { principal: 'operator', entry: 'starters/step.ts' },
  { principal: 'operator', entry: 'starters/batch-flags.ts' },
  { principal: 'operator', entry: 'starters/rejects.ts' },
  { principal: 'operator', entry: 'starters/query.ts' },
];

const specFile = path.resolve(__dirname, '../../specs/example-aws.yaml');
const spec = loadSpecFile(specFile);
const policies = iamPolicies(spec, { account: '123456789012' });
const WORKGROUP_ARN =
  'arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b5c1e2a-7d3f-4a9b-8c6e-1f2a3b4c5d6e';
const operationsOf = (e: (typeof ENTRIES)[number]) => [...operationsReachableFrom(e.entry), ...(e.extra ?? [])];

/** The policy with one action taken out of every statement (a statement left empty is dropped). */
function without(policy: IamPolicy, action: string): IamPolicy {
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({ ...s, Action: s.Action.filter((a) => a !== action) })).filter(
      (s) => s.Action.length > 0,
    ),
  };
}

describe('IAM coverage: each principal may send every operation its code sends', () => {
  for (const e of ENTRIES) {
    test(`${e.principal} (from src/${e.entry})`, () => {
      const operations = operationsOf(e);
      assert.ok(operations.length > 0, `found no AWS operation reachable from src/${e.entry}: the scan is broken`);
      const missing = missingActions(policies[e.principal].policy, actionsOf(operations));
      assert.deepEqual(
        missing,
        [],
        `${e.principal}'s policy lacks ${missing.join(', ')} (operations: ${operations.join(', ')})`,
      );
    });
  }

  test("every file under src/starters that sends AWS operations is some principal's entry", () => {
    const starters = fs.readdirSync(path.resolve(__dirname, '../../src/starters')).filter((f) => f.endsWith('.ts'));
    // cli.ts dispatches to every command: each command is checked on its own.
    const unassigned = starters
      .map((f) => `starters/${f}`)
      .filter((entry) => entry !== 'starters/cli.ts' && !ENTRIES.some((e) => e.entry === entry))
      .filter((entry) => operationsReachableFrom(entry).length > 0);
    assert.deepEqual(unassigned, [], 'give these commands a principal in ENTRIES (and a policy in iam.ts)');
    // The Temporal-only commands send nothing to AWS: the operator needs no permission for them.
    for (const command of ['redrive', 'status', 'list', 'schedule', 'health', 'freshness']) {
      assert.deepEqual(operationsReachableFrom(`starters/${command}.ts`), [], command);
    }
  });

  test("the worker's scan finds the operations the issue names, through the activities", () => {
    const operations = operationsReachableFrom('worker.ts');
    for (const op of [
      's3:CopyObject',
      's3:AbortMultipartUpload',
      's3:GetObjectTagging',
      'glue:ListCrawls',
      'glue:GetJobRuns',
      'redshift-data:CancelStatement',
    ]) {
      assert.ok(operations.includes(op), `${op} not found from src/worker.ts: ${operations.join(', ')}`);
    }
    assert.ok(!operations.some((op) => op.startsWith('sqs:')), 'the worker sends no SQS operation');
  });

  test('the scan goes by declaration: what a command never calls in a module it imports is left out', () => {
    // rejects imports src/aws/s3-objects.ts, which can also list, put and delete; rejects only reads.
    assert.deepEqual(operationsReachableFrom('starters/rejects.ts'), ['s3:GetObject']);
    for (const op of ['s3:DeleteObjects', 's3:PutObject', 's3:ListObjectsV2']) {
      assert.ok(operationsOfImportedModules('starters/rejects.ts').includes(op), op);
    }
    // query waits for its statement and never cancels it; the module it imports can.
    assert.ok(!operationsReachableFrom('starters/query.ts').includes('redshift-data:CancelStatement'));
    assert.ok(operationsOfImportedModules('starters/query.ts').includes('redshift-data:CancelStatement'));
    // The worker reaches every command of the modules it imports: the finer walk loses nothing there.
    const untagged = (ops: string[]) => [...new Set(ops.map((op) => op.replace(/\+Tagging$/, '')))].sort();
    assert.deepEqual(untagged(operationsReachableFrom('worker.ts')), operationsOfImportedModules('worker.ts'));
    // A command's Tagging parameter is seen: the copy's multipart upload passes tags, run --files' upload none.
    assert.ok(operationsReachableFrom('worker.ts').includes('s3:CreateMultipartUpload+Tagging'));
    assert.ok(operationsReachableFrom('starters/run.ts').includes('s3:CreateMultipartUpload'));
  });

  test("positive control: the check fails for any principal's policy with any one needed action removed", () => {
    for (const e of ENTRIES) {
      const needed = actionsOf(operationsOf(e));
      for (const action of needed) {
        const policy = without(policies[e.principal].policy, action);
        assert.deepEqual(missingActions(policy, needed), [action], `${e.principal} without ${action}`);
      }
    }
    const workerNeeds = actionsOf(operationsReachableFrom('worker.ts'));
    assert.ok(workerNeeds.includes('s3:ListBucket') && workerNeeds.includes('kms:Decrypt'));
  });

  test('an operation without an IAM mapping fails the check, naming it', () => {
    assert.throws(() => actionsOf(['s3:PutBucketPolicy']), /no IAM actions known for s3:PutBucketPolicy/);
  });
});

describe("the generated policies name the spec's resources and what the issue lists", () => {
  const statements = (p: PrincipalName) => policies[p].policy.Statement;
  const allows = (p: PrincipalName, action: string, resource?: string) =>
    statements(p).some((s) => s.Action.includes(action) && (resource === undefined || s.Resource.includes(resource)));

  test('worker: serverless credentials, the secret, ListBucket on destinations, KMS in every region', () => {
    assert.ok(
      allows(
        'worker',
        'redshift-serverless:GetCredentials',
        'arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*',
      ),
    );
    assert.ok(allows('worker', 'secretsmanager:GetSecretValue', spec.regions[1]!.redshift!.secretArn!));
    assert.ok(
      allows(
        'worker',
        'redshift-data:ExecuteStatement',
        'arn:aws:redshift:eu-west-1:123456789012:cluster:analytics-eu',
      ),
    );
    assert.ok(allows('worker', 's3:ListBucket', 'arn:aws:s3:::acme-orders-curated-euw1'));
    assert.ok(allows('worker', 'glue:StartJobRun', 'arn:aws:glue:us-east-1:123456789012:job/orders-to-parquet'));
    assert.ok(allows('worker', 'glue:ListCrawls', 'arn:aws:glue:eu-west-1:123456789012:crawler/orders-curated-euw1'));
    const kms = statements('worker').find((s) => s.Action.includes('kms:GenerateDataKey'))!;
    assert.deepEqual(kms.Resource, [
      'arn:aws:kms:us-east-1:123456789012:key/*',
      'arn:aws:kms:eu-west-1:123456789012:key/*',
    ]);
    assert.deepEqual(kms.Condition, {
      StringEquals: { 'kms:ViaService': ['s3.us-east-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'] },
    });
    // No statement-owner condition, which would deny another worker's session DescribeStatement/CancelStatement.
    assert.ok(!JSON.stringify(policies.worker.policy).includes('statement-owner'));
  });

  test('service roles: trust, the Glue job, crawlers, COPY and the SQS consumers', () => {
    assert.deepEqual(policies.glueJob.trustedServices, ['glue.amazonaws.com']);
    assert.ok(allows('glueJob', 's3:PutObject', 'arn:aws:s3:::acme-orders-curated-use1/orders/*'));
    assert.ok(allows('crawler', 'glue:BatchCreatePartition', 'arn:aws:glue:eu-west-1:123456789012:table/orders/*'));
    assert.ok(
      allows('redshiftCopy', 's3:GetObject', 'arn:aws:s3:::acme-orders-curated-euw1/_glueline/copy-manifests/*'),
    );
    assert.ok(allows('provisioner', 'iam:PassRole', 'arn:aws:iam::123456789012:role/glueline-glue'));
    assert.ok(allows('s3EventLambda', 'sqs:GetQueueAttributes'));
    // CreateLogGroup matches the group's ARN with and without CloudWatch Logs' `:*`; the streams' actions a stream.
    const logs = 'arn:aws:logs:us-east-1:123456789012:log-group:';
    const allowedOn = (p: PrincipalName, action: string, arn: string) =>
      statements(p).some((s) => s.Action.includes(action) && s.Resource.some((r) => matches(r, arn)));
    for (const [p, group] of [
      ['glueJob', '/aws-glue/jobs/output'],
      ['crawler', '/aws-glue/crawlers'],
      ['s3EventLambda', '/aws/lambda/glueline-s3-events'],
    ] as const) {
      assert.ok(allowedOn(p, 'logs:CreateLogGroup', `${logs}${group}`), `${p} ${group}`);
      assert.ok(allowedOn(p, 'logs:CreateLogGroup', `${logs}${group}:*`), `${p} ${group}:*`);
      assert.ok(allowedOn(p, 'logs:PutLogEvents', `${logs}${group}:log-stream:run-1`), `${p} ${group} stream`);
      assert.ok(!allowedOn(p, 'logs:PutLogEvents', `${logs}/other:log-stream:run-1`), `${p} /other`);
    }
    const queue = 'arn:aws:sqs:us-east-1:123456789012:orders-landing';
    assert.ok(iamPolicies(spec, { queueArn: queue }).s3EventConsumer.policy.Statement[0]!.Resource.includes(queue));
  });

  test('every action is written service:Action, and no statement is empty', () => {
    for (const [name, p] of Object.entries(policies)) {
      for (const s of p.policy.Statement) {
        assert.ok(s.Action.length > 0 && s.Resource.length > 0, `${name}.${s.Sid} is empty`);
        for (const a of s.Action) assert.match(a, /^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/, `${name}.${s.Sid}: ${a}`);
      }
    }
  });
});

describe('provision --print-iam', () => {
  const specFile = path.resolve(__dirname, '../../specs/example-aws.yaml');
  const printed = async (...args: string[]) => {
    const out: string[] = [];
    const code = await provisionCommand(['--spec', specFile, '--print-iam', ...args], {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      isTTY: false,
    });
    return { code, json: JSON.parse(out.join('\n')) as Record<string, { trustPolicy?: unknown; policy: IamPolicy }> };
  };

  test('prints every principal as JSON, without AWS, with the flags in the ARNs', async () => {
    const { code, json } = await printed('--account', '210987654321', '--landing-bucket', 'acme-landing');
    assert.equal(code, 0);
    assert.deepEqual(Object.keys(json).sort(), Object.keys(policies).sort());
    assert.ok(json.glueJob!.trustPolicy && !json.worker!.trustPolicy);
    assert.ok(json.operator!.policy.Statement.some((s) => s.Sid === 'UploadRunFiles'));
    const notes = (json.worker as { notes?: string[] }).notes ?? [];
    assert.match(notes.join('\n'), /\(workgroup\/\*\).*get-workgroup/);
    const text = JSON.stringify(json.worker!.policy);
    assert.ok(text.includes('arn:aws:glue:us-east-1:210987654321:job/orders-to-parquet'), text);
    assert.ok(text.includes('arn:aws:s3:::acme-landing/*'), text);
  });

  test('spec validation: a workgroupArn is a workgroup ARN of its own region, beside workgroupName', () => {
    const withArn = (arn: string, redshift: object = spec.regions[0]!.redshift!) => {
      const copy = structuredClone(spec) as unknown as { regions: { redshift?: object }[] };
      copy.regions[0]!.redshift = { ...redshift, workgroupArn: arn };
      return validationProblems(copy);
    };
    assert.deepEqual(withArn(WORKGROUP_ARN), []);
    assert.match(
      withArn(WORKGROUP_ARN.replace('us-east-1', 'eu-west-1')).join(),
      /names region eu-west-1, not us-east-1/,
    );
    assert.match(
      withArn(WORKGROUP_ARN.replace(/workgroup\/.*/, 'workgroup/analytics')).join(),
      /is not a workgroup ARN/,
    );
    assert.match(
      withArn(WORKGROUP_ARN, { clusterIdentifier: 'c', database: 'dev', dbUser: 'u' }).join(),
      /workgroupArn.*goes with workgroupName/,
    );
  });

  test('refuses an account that is not 12 digits, naming the flag', async () => {
    await assert.rejects(printed('--account', 'acme'), /--account acme is not an AWS account id/);
  });
});

describe('the policies against the Service Authorization Reference (src/provisioning/iam-reference.ts)', () => {
  const withRedshiftVariants = [
    ['example-aws.yaml', spec],
    ['a cluster with dbUser and a workgroup ARN', redshiftVariant()],
  ] as const;
  for (const [what, s] of withRedshiftVariants) {
    test(`every action is listed and every resource is of a type its action takes (${what})`, () => {
      for (const [name, p] of Object.entries(iamPolicies(s, { account: '123456789012' }))) {
        assert.deepEqual(referenceProblems(name, p.policy), [], name);
      }
    });
  }

  test('every action an operation maps to is listed', () => {
    const actions = [...new Set(Object.values(ACTIONS_OF_OPERATION).flat())];
    const policy: IamPolicy = { Version: '2012-10-17', Statement: [] };
    const unlisted = actions.filter((action) => {
      const [service, name] = action.split(':') as [string, string];
      return !IAM_REFERENCE[service]?.actions[name];
    });
    assert.deepEqual(unlisted, []);
    assert.deepEqual(referenceProblems('empty', policy), []);
  });

  test('positive control: a misspelt action, an API name for an action and a wrong resource type fail', () => {
    const check = (Action: string[], Resource: string[]) =>
      referenceProblems('p', { Version: '2012-10-17', Statement: [{ Sid: 'S', Effect: 'Allow', Action, Resource }] });
    const bucket = 'arn:aws:s3:::acme-orders-raw-use1';
    const objects = 'arn:aws:s3:::acme-orders-raw-use1/raw/*';
    assert.deepEqual(check(['s3:ListBucket'], [bucket]), []);
    assert.deepEqual(check(['s3:GetObject'], [objects]), []);
    assert.match(check(['s3:GetBucketEncryption'], [bucket]).join(), /s3:GetBucketEncryption is not in the reference/);
    assert.match(check(['s3:GetObjects'], [objects]).join(), /not in the reference list/);
    assert.match(check(['kms:GenerateDataKeys'], ['*']).join(), /list_awskeymanagementservice/);
    assert.match(check(['s3:ListBucket'], [objects]).join(), /s3:ListBucket on .*raw\/\*: the action takes bucket/);
    assert.match(check(['s3:GetObject'], [bucket]).join(), /the action takes object/);
    assert.match(check(['kms:Decrypt'], ['arn:aws:kms:us-east-1:123456789012:alias/aws/s3']).join(), /takes key/);
    assert.match(check(['sqs:ReceiveMessage'], ['*']).join(), /takes queue/);
    assert.match(check(['redshift-data:DescribeStatement'], [bucket]).join(), /"\*" only/);
    assert.match(
      check(['logs:PutLogEvents'], ['arn:aws:logs:us-east-1:1:log-group:/aws-glue/jobs']).join(),
      /log-stream/,
    );
    assert.match(
      check(['glue:GetDatabase'], ['arn:aws:glue:us-east-1:123456789012:table/orders/*']).join(),
      /takes database .* or rootcatalog/,
    );
    // A type the reference marks required must be named by some statement allowing the action.
    const tables = 'arn:aws:glue:us-east-1:123456789012:table/orders/*';
    const database = 'arn:aws:glue:us-east-1:123456789012:database/orders';
    assert.match(
      check(['glue:GetTable'], [database, tables]).join(),
      /glue:GetTable needs a resource of type rootcatalog \(arn:\$\{Partition\}:glue:\$\{Region\}:\$\{Account\}:catalog\)/,
    );
    assert.deepEqual(check(['glue:GetTable'], [database, tables, 'arn:aws:glue:us-east-1:123456789012:catalog']), []);
    assert.match(
      check(['glue:CreateCrawler'], ['arn:aws:glue:us-east-1:123456789012:crawler/raw']).join(),
      /glue:CreateCrawler on .*crawler\/raw: the action takes "\*" only/,
    );
    // A condition key an action does not take: the statement would never match.
    const viaS3 = { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } };
    const key = 'arn:aws:kms:us-east-1:123456789012:key/*';
    const withCondition = (Action: string[], Resource: string[]) =>
      referenceProblems('p', {
        Version: '2012-10-17',
        Statement: [{ Sid: 'S', Effect: 'Allow', Action, Resource, Condition: viaS3 }],
      });
    assert.deepEqual(withCondition(['kms:Decrypt', 'kms:GenerateDataKey'], [key]), []);
    assert.match(
      withCondition(['s3:GetObject'], [objects]).join(),
      /s3:GetObject does not take the condition key kms:ViaService/,
    );
    assert.match(
      check(['redshift-serverless:GetCredentials'], ['arn:aws:redshift:us-east-1:123456789012:cluster:a']).join(),
      /takes workgroup/,
    );
  });

  test('resource patterns against ARN templates', () => {
    const object = 'arn:${Partition}:s3:::${BucketName}/${ObjectName}';
    const bucket = 'arn:${Partition}:s3:::${BucketName}';
    assert.ok(resourceFits('arn:aws:s3:::b/landing/*', object));
    assert.ok(!resourceFits('arn:aws:s3:::b/landing/*', bucket));
    assert.ok(resourceFits('arn:aws:s3:::b*', bucket) && resourceFits('arn:aws:s3:::b*', object));
    assert.ok(!resourceFits('arn:aws:s3:::b', object));
    const stream = IAM_REFERENCE.logs!.resourceTypes['log-stream']!;
    assert.ok(resourceFits('arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/*:*', stream));
    assert.ok(!resourceFits('arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/jobs', stream));
  });
});

/** The example spec with a provisioned cluster on temporary credentials and a serverless workgroup's ARN. */
function redshiftVariant(): PipelineSpec {
  const copy = structuredClone(spec);
  copy.regions[0]!.redshift = { ...copy.regions[0]!.redshift!, workgroupArn: WORKGROUP_ARN };
  copy.regions[1]!.redshift = { clusterIdentifier: 'analytics-eu', database: 'dev', dbUser: 'glueline' };
  return copy;
}

/** Whether an IAM resource pattern matches an ARN (`*` any characters). */
const matches = (pattern: string, arn: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(arn);

describe("the operator's CLI policy", () => {
  const operator = policies.operator.policy.Statement;
  const allowed = (action: string, arn: string) =>
    operator.some((s) => s.Action.includes(action) && s.Resource.some((r) => matches(r, arn)));

  test('run --key over the bound may write its key-list object where batch-flags puts it', () => {
    const keys = Array.from({ length: KEY_LIST_BOUND + 1 }, (_, i) => `in/${i}.csv`);
    const { keyList } = batchFromFlags(spec, { 'batch-id': '2026-11-30', key: keys }, []);
    assert.ok(keyList);
    assert.ok(allowed('s3:PutObject', `arn:aws:s3:::${keyList.bucket}/${keyList.key}`));
    assert.ok(!allowed('s3:PutObject', `arn:aws:s3:::${keyList.bucket}/_glueline/manifests/x.json`));
  });

  test('run --files may upload to where batch-flags puts the files, and nowhere else in the bucket', () => {
    const { batch, uploads } = batchFromFlags(spec, { 'batch-id': '2026-11-30', files: ['/tmp/orders.csv'] }, []);
    const key = `arn:aws:s3:::${batch.source.bucket}/${uploads[0]!.key}`;
    assert.ok(uploads[0]!.key.startsWith(RUN_FILES_PREFIX), uploads[0]!.key);
    assert.ok(allowed('s3:PutObject', key) && allowed('s3:AbortMultipartUpload', key), key);
    assert.ok(!allowed('s3:PutObject', `arn:aws:s3:::${batch.source.bucket}/raw/batch_id=1/a.csv`));
    const landing = iamPolicies(spec, { account: '123456789012', landingBuckets: ['acme-landing'] }).operator;
    assert.ok(landing.policy.Statement.some((s) => s.Resource.includes('arn:aws:s3:::acme-landing/landing/*')));
  });

  test('rejects may read the manifest and the quarantine files of a batch, and write nothing', () => {
    const batch = { id: '2026-11-30', source: { bucket: 'b', prefix: 'p/' } };
    const curated = `arn:aws:s3:::${spec.regions[0]!.curatedBucket}`;
    assert.ok(allowed('s3:GetObject', `${curated}/${manifestKey(spec, batch)}`));
    // A missing manifest must answer 404 (NoSuchKey) for rejects to say "no manifest yet", not 403.
    assert.ok(allowed('s3:ListBucket', curated));
    assert.ok(allowed('s3:GetObject', `${curated}/${quarantineBatchPrefix(spec, batch)}part-0.json`));
    assert.ok(!allowed('s3:GetObject', `${curated}/${spec.transform.curatedPrefix}batch_id=1/part-0.parquet`));
    assert.ok(!operator.some((s) => s.Action.some((a) => /Delete|^glue:|CancelStatement/.test(a))));
  });

  test("query may run SQL on each region's target and read its results, with the target's credentials", () => {
    assert.ok(
      allowed('redshift-data:ExecuteStatement', 'arn:aws:redshift:eu-west-1:123456789012:cluster:analytics-eu'),
    );
    assert.ok(allowed('redshift-data:GetStatementResult', '*'));
    assert.ok(allowed('secretsmanager:GetSecretValue', spec.regions[1]!.redshift!.secretArn!));
    assert.ok(allowed('redshift-serverless:GetCredentials', WORKGROUP_ARN), 'workgroup/* without the ARN');
  });
});

describe('Redshift targets in the policies', () => {
  const statementsOf = (s: PipelineSpec, p: PrincipalName, sid: string) =>
    iamPolicies(s, { account: '123456789012' })[p].policy.Statement.find((st) => st.Sid === sid)!;

  test("serverless without workgroupArn: the region's workgroup/*, and a note saying how to narrow it", () => {
    for (const p of ['worker', 'operator'] as const) {
      assert.deepEqual(statementsOf(spec, p, 'ServerlessCredentials').Resource, [
        'arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*',
      ]);
      const notes = policies[p].notes ?? [];
      assert.equal(notes.length, 1, p);
      assert.match(notes[0]!, /us-east-1: .*workgroup\/\*.*redshift\.workgroupArn/);
      assert.match(notes[0]!, /aws redshift-serverless get-workgroup --region us-east-1 --workgroup-name analytics/);
    }
  });

  test('serverless with workgroupArn: exactly that ARN, no note; a cluster on dbUser: its dbuser and dbname', () => {
    const variant = redshiftVariant();
    for (const p of ['worker', 'operator'] as const) {
      assert.deepEqual(statementsOf(variant, p, 'ServerlessCredentials').Resource, [WORKGROUP_ARN]);
      assert.deepEqual(statementsOf(variant, p, 'DataApiRun').Resource, [
        WORKGROUP_ARN,
        'arn:aws:redshift:eu-west-1:123456789012:cluster:analytics-eu',
      ]);
      assert.deepEqual(statementsOf(variant, p, 'ClusterCredentials').Resource, [
        'arn:aws:redshift:eu-west-1:123456789012:dbuser:analytics-eu/glueline',
        'arn:aws:redshift:eu-west-1:123456789012:dbname:analytics-eu/dev',
      ]);
      assert.equal(iamPolicies(variant)[p].notes, undefined);
    }
  });
});
