/**
 * src/provisioning/iam-reference.ts against the Service Authorization Reference itself: every action, resource
 * type (and whether it is required), ARN template and condition key it names is compared with
 * src/provisioning/iam-reference-extract.json, which scripts/iam-reference-extract.ts read off the reference's
 * pages (its `source` says which copy and when). The check the policies go through (referenceProblems) is only
 * as right as iam-reference.ts; this is what keeps that file from being written from memory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { EXTRACT_FILE, readPage, type IamReferenceExtract } from '../../scripts/iam-reference-extract';
import { iamPolicies } from '../../src/provisioning/iam';
import { ACTIONS_OF_OPERATION } from '../../src/provisioning/iam-actions';
import { IAM_REFERENCE, typesOf } from '../../src/provisioning/iam-reference';
import { loadSpecFile } from '../../src/starters/spec-file';

const extract = JSON.parse(fs.readFileSync(path.join(repoRoot, EXTRACT_FILE), 'utf8')) as IamReferenceExtract;
type Reference = typeof IAM_REFERENCE;

/** What `reference` says that the extract does not, one line each. */
function differences(reference: Reference, data: IamReferenceExtract): string[] {
  const out: string[] = [];
  const stale = `(or ${EXTRACT_FILE} is stale: run scripts/iam-reference-extract.ts)`;
  for (const [prefix, ref] of Object.entries(reference)) {
    const page = data.services[prefix];
    if (!page) {
      out.push(`${prefix}: no page in the extract ${stale}`);
      continue;
    }
    if (page.page !== ref.page) out.push(`${prefix}: page ${ref.page}, the extract's ${page.page}`);
    for (const [type, arn] of Object.entries(ref.resourceTypes)) {
      if (page.resourceTypes[type] !== arn) {
        out.push(
          `${prefix} resource type ${type}: ${arn}, the reference's ${page.resourceTypes[type] ?? 'none in the extract'}`,
        );
      }
    }
    for (const [action, types] of Object.entries(ref.actions)) {
      const real = page.actions[action];
      if (!real) {
        out.push(`${prefix}:${action} is not in the extract ${stale}`);
        continue;
      }
      const missingRequired = real.resourceTypes.filter((t) => t.endsWith('*') && !types.includes(t));
      const notTheReferences = types.filter((t) => !real.resourceTypes.includes(t));
      if (
        missingRequired.length ||
        notTheReferences.length ||
        (types.length === 0) !== (real.resourceTypes.length === 0)
      ) {
        out.push(`${prefix}:${action} takes [${types.join(', ')}], the reference [${real.resourceTypes.join(', ')}]`);
      }
      for (const type of typesOf(types).all) {
        if (!(type in ref.resourceTypes)) out.push(`${prefix}:${action}: resource type ${type} has no ARN template`);
      }
    }
    for (const [key, actions] of Object.entries(ref.conditionKeys ?? {})) {
      for (const action of actions) {
        if (!page.actions[action]?.conditionKeys.includes(key)) {
          out.push(`${prefix}:${action} does not take the condition key ${key} in the reference ${stale}`);
        }
      }
    }
  }
  for (const [prefix, page] of Object.entries(data.services)) {
    for (const action of Object.keys(page.actions)) {
      if (!reference[prefix]?.actions[action]) out.push(`${prefix}:${action} is in the extract only ${stale}`);
    }
  }
  return out;
}

/**
 * The actions whose reference entry links to the API page of an operation glueline sends (ListBucket links to
 * ListObjectsV2) that the operation's mapping lacks. Operations no action links to (HeadObject, the multipart
 * upload steps, DeleteObjects, HeadBucket) cannot be checked here.
 */
function operationMismatches(mapping: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const [prefix, page] of Object.entries(extract.services)) {
    for (const [action, { operation }] of Object.entries(page.actions)) {
      for (const op of [`${prefix}:${operation}`, `${prefix}:${operation}+Tagging`]) {
        const mapped = mapping[op];
        if (mapped && !mapped.includes(`${prefix}:${action}`)) {
          out.push(`${prefix}:${action} links to the API page of ${operation}, which maps to ${mapped.join(', ')}`);
        }
      }
    }
  }
  return out;
}

/** IAM_REFERENCE with one service's entry changed. */
function changed(prefix: string, change: (service: Reference[string]) => Reference[string]): Reference {
  return { ...IAM_REFERENCE, [prefix]: change(structuredClone(IAM_REFERENCE[prefix]!)) };
}

describe('iam-reference.ts against the Service Authorization Reference (iam-reference-extract.json)', () => {
  test('the extract says where it was read from', () => {
    assert.match(extract.source.repository ?? extract.source.pages ?? '', /\S/);
    assert.match(extract.source.commit ?? extract.source.pages ?? '', /^[0-9a-f]{40}$|\d{4}-\d\d-\d\d/);
  });

  test('every action, resource type, ARN template and condition key is as the reference gives it', () => {
    assert.deepEqual(differences(IAM_REFERENCE, extract), []);
  });

  test("positive control: last session's entries written from memory are caught", () => {
    const cases: [string, Reference, RegExp][] = [
      [
        'CreateLogStream on log-group',
        changed('logs', (s) => ({ ...s, actions: { ...s.actions, CreateLogStream: ['log-group*'] } })),
        /logs:CreateLogStream takes \[log-group\*\], the reference \[log-stream\*\]/,
      ],
      [
        'CreateCrawler on a crawler',
        changed('glue', (s) => ({ ...s, actions: { ...s.actions, CreateCrawler: ['crawler*'] } })),
        /glue:CreateCrawler takes \[crawler\*\], the reference \[\]/,
      ],
      [
        'the root catalog called catalog',
        changed('glue', (s) => ({
          ...s,
          resourceTypes: { ...s.resourceTypes, catalog: s.resourceTypes.rootcatalog! },
          actions: { ...s.actions, GetDatabase: ['catalog', 'database*'] },
        })),
        /resource type catalog: arn:\$\{Partition\}:glue:\$\{Region\}:\$\{Account\}:catalog, the reference's .*catalog\/\$\{CatalogName\}/,
      ],
      [
        'GetClusterCredentials on dbgroup',
        changed('redshift', (s) => ({ ...s, actions: { GetClusterCredentials: ['dbuser*', 'dbname', 'dbgroup'] } })),
        /redshift:GetClusterCredentials takes/,
      ],
      [
        'a required type left optional',
        changed('sqs', (s) => ({ ...s, actions: { ...s.actions, ReceiveMessage: ['queue'] } })),
        /sqs:ReceiveMessage takes \[queue\], the reference \[queue\*\]/,
      ],
      [
        'a condition key the action does not take',
        changed('kms', (s) => ({ ...s, conditionKeys: { 'kms:ViaService': ['Decrypt'], 'kms:KeySpec': ['Decrypt'] } })),
        /kms:Decrypt does not take the condition key kms:KeySpec/,
      ],
      [
        'an action the extract lacks',
        changed('s3', (s) => ({ ...s, actions: { ...s.actions, GetBucketEncryption: ['bucket*'] } })),
        /s3:GetBucketEncryption is not in the extract/,
      ],
      [
        'a wrong ARN template',
        changed('sqs', (s) => ({
          ...s,
          resourceTypes: { queue: 'arn:${Partition}:sqs:${Region}:${Account}:queue/${QueueName}' },
        })),
        /sqs resource type queue/,
      ],
    ];
    for (const [what, reference, problem] of cases)
      assert.match(differences(reference, extract).join('\n'), problem, what);
  });

  test('each operation glueline sends maps to the actions whose reference entry links to its API page', () => {
    assert.deepEqual(operationMismatches(ACTIONS_OF_OPERATION), []);
    // Positive control: the API operation's name where the action's differs.
    const wrong = { ...ACTIONS_OF_OPERATION, 's3:GetBucketEncryption': ['s3:GetBucketEncryption'] };
    assert.deepEqual(operationMismatches(wrong), [
      's3:GetEncryptionConfiguration links to the API page of GetBucketEncryption, which maps to s3:GetBucketEncryption',
    ]);
  });

  test("every principal's policy also allows the dependent actions the reference lists for its actions", () => {
    const spec = loadSpecFile(path.join(repoRoot, 'specs/example-aws.yaml'));
    for (const [name, p] of Object.entries(iamPolicies(spec, { account: '123456789012' }))) {
      const allowed = new Set(p.policy.Statement.flatMap((s) => s.Action));
      for (const action of allowed) {
        const [prefix, actionName] = action.split(':') as [string, string];
        for (const dependent of extract.services[prefix]?.actions[actionName]?.dependentActions ?? []) {
          assert.ok(allowed.has(dependent), `${name}: ${action} needs ${dependent} too (the reference)`);
        }
      }
    }
  });
});

describe('scripts/iam-reference-extract.ts reads a reference page', () => {
  // The shape of a page's tables: an action's first three cells span its rows, one row per resource type and a
  // last row for the condition keys that go with no resource type.
  const row = (...cells: string[]) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const items = (...names: string[]) => names.map((n) => `<p><a href="#x">${n}</a></p>`).join('');
  const page = `<p>(service prefix: <code class="code">demo</code>)</p>
    <table><thead><tr><th>Actions</th><th>Description</th><th>Access level</th><th>Resource types (*required)</th>
    <th>Condition keys</th><th>Dependent actions</th></tr></thead>
    <tr><td rowspan="3"><a href="https://docs.aws.amazon.com/demo/API_GetThing.html">GetThing</a></td><td rowspan="3">Grants</td><td rowspan="3">Read</td>
      <td>${items('thing*')}</td><td>${items('demo:Color')}</td><td>${items('demo:Peek')}</td></tr>
    ${row(items('other'), '', '')}
    ${row('', items('demo:Size', 'aws:TagKeys'), '')}
    ${row('<a>ListThings</a> [permission only]', 'Grants', 'List', '', '', '')}
    </table>
    <table><thead><tr><th>Resource types</th><th>ARN</th><th>Condition keys</th></tr></thead>
    ${row('<a>thing</a>', '<code class="code">arn:$<span>{</span>Partition}:demo:::thing/$<span>{</span>Name}</code>', '')}
    </table>`;

  test('rowspans, required marks, condition keys of every row, dependent actions, ARN templates', () => {
    const read = readPage(page, 'list_demo.html');
    assert.equal(read.prefix, 'demo');
    assert.deepEqual(read.actions, {
      GetThing: {
        resourceTypes: ['thing*', 'other'],
        conditionKeys: ['demo:Color', 'demo:Size', 'aws:TagKeys'],
        dependentActions: ['demo:Peek'],
        operation: 'GetThing',
      },
      ListThings: { resourceTypes: [], conditionKeys: [], dependentActions: [], operation: '' },
    });
    assert.deepEqual(read.resourceTypes, { thing: 'arn:${Partition}:demo:::thing/${Name}' });
  });

  test('a page without the tables is refused, naming the file', () => {
    assert.throws(() => readPage('<html></html>', 'list_x.html'), /list_x\.html: no service prefix or Actions table/);
  });
});
