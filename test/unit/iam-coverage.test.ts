/**
 * IAM coverage (issue #14 finding 6): every AWS operation a principal's code sends is allowed by the policy
 * `provision --print-iam` generates for it. The operations are found in the code itself: from each principal's
 * entry file, every module it imports (transitively, in src/), and in them every `new <Op>Command(...)` of an
 * AWS SDK client, mapped to IAM actions by ACTIONS_OF_OPERATION. A new command without a policy entry fails here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { iamPolicies, type PrincipalName } from '../../src/provisioning/iam';
import { actionsOf, missingActions, SERVICE_OF_PACKAGE, type IamPolicy } from '../../src/provisioning/iam-actions';
import { provisionCommand } from '../../src/starters/provision';
import { loadSpecFile } from '../../src/starters/spec-file';

const SRC = path.resolve(__dirname, '../../src');

/** The module file a relative import names, or undefined for a package. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${from}: cannot resolve import '${specifier}'`);
}

/** `<service>:<Operation>` for every `new <Op>Command(...)` of an AWS SDK client in the file, and its imports. */
function scan(file: string): { operations: string[]; imports: string[] } {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const commandService = new Map<string, string>();
  const imports: string[] = [];
  const operations: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const specifier = (node.moduleSpecifier as ts.StringLiteral).text;
      const resolved = resolveImport(file, specifier);
      if (resolved) imports.push(resolved);
      const service = SERVICE_OF_PACKAGE[specifier];
      const bindings = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : undefined;
      if (service && bindings && ts.isNamedImports(bindings)) {
        for (const b of bindings.elements) commandService.set(b.name.text, service);
      }
      if (specifier.startsWith('@aws-sdk/client-') && !service) {
        throw new Error(`${file}: ${specifier} has no IAM service prefix in SERVICE_OF_PACKAGE`);
      }
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text.endsWith('Command')) {
      const service = commandService.get(node.expression.text);
      if (service) operations.push(`${service}:${node.expression.text.replace(/Command$/, '')}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { operations, imports };
}

/** Every AWS operation the code reachable from `entry` (within src/) sends. */
export function operationsReachableFrom(entry: string): string[] {
  const seen = new Set<string>();
  const operations = new Set<string>();
  const queue = [path.join(SRC, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file) || !file.startsWith(SRC)) continue;
    seen.add(file);
    const found = scan(file);
    found.operations.forEach((op) => operations.add(op));
    queue.push(...found.imports);
  }
  return [...operations].sort();
}

/** The principals whose code is in this repository, and the file their process starts from. */
const ENTRIES: [PrincipalName, string][] = [
  ['worker', 'worker.ts'],
  ['provisioner', 'starters/provision.ts'],
  ['s3EventConsumer', 'starters/s3-events-command.ts'],
  ['s3EventLambda', 'starters/s3-events-lambda.ts'],
];

const spec = loadSpecFile(path.resolve(__dirname, '../../specs/example-aws.yaml'));
const policies = iamPolicies(spec, { account: '123456789012' });

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
  for (const [principal, entry] of ENTRIES) {
    test(`${principal} (from src/${entry})`, () => {
      const operations = operationsReachableFrom(entry);
      assert.ok(operations.length > 0, `found no AWS operation reachable from src/${entry}: the scan is broken`);
      const missing = missingActions(policies[principal].policy, actionsOf(operations));
      assert.deepEqual(
        missing,
        [],
        `${principal}'s policy lacks ${missing.join(', ')} (operations: ${operations.join(', ')})`,
      );
    });
  }

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

  test('positive control: the check fails for a worker policy with any one needed action removed', () => {
    const needed = actionsOf(operationsReachableFrom('worker.ts'));
    assert.ok(needed.includes('s3:ListBucket') && needed.includes('kms:Decrypt'));
    for (const action of needed) {
      assert.deepEqual(missingActions(without(policies.worker.policy, action), needed), [action], action);
    }
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
    const text = JSON.stringify(json.worker!.policy);
    assert.ok(text.includes('arn:aws:glue:us-east-1:210987654321:job/orders-to-parquet'), text);
    assert.ok(text.includes('arn:aws:s3:::acme-landing/*'), text);
  });

  test('refuses an account that is not 12 digits, naming the flag', async () => {
    await assert.rejects(printed('--account', 'acme'), /--account acme is not an AWS account id/);
  });
});
