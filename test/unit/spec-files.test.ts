import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { devtool, repoRoot } from '../../devstack/paths';
import type { Crawler } from '@aws-sdk/client-glue';
import { crawlerDrift, glueBundle, jobDrift, jobUpdate, wantedJob } from '../../src/provisioning';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { SpecValidationError, parseOrExplain } from '../../src/workflow-safe/validation';
import { loadSpecFile } from '../../src/starters/spec-file';

const specs = path.join(repoRoot, 'specs');
const settings = {
  roleArn: 'arn:aws:iam::123456789012:role/r',
  glueVersion: '5.0',
  workerType: 'G.1X',
  numberOfWorkers: 2,
} as const;

describe('the shipped spec files', () => {
  for (const name of fs.readdirSync(specs).filter((n) => /\.(ya?ml|json)$/.test(n))) {
    test(`${name} passes the spec schema`, () => {
      assert.doesNotThrow(() => loadSpecFile(path.join(specs, name)));
    });
  }

  test('the local sample spec declares the columns of samples/sales/schema.json', () => {
    const spec = loadSpecFile(path.join(specs, 'local-sales.yaml'));
    const schema = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'samples', 'sales', 'schema.json'), 'utf8'),
    ) as unknown[];
    assert.deepEqual(spec.transform.columns, schema);
  });

  test('the local sample spec serves us-east-1 first, then eu-west-1', () => {
    const spec = loadSpecFile(path.join(specs, 'local-sales.yaml'));
    assert.deepEqual(
      spec.regions.map((r) => r.region),
      ['us-east-1', 'eu-west-1'],
    );
  });

  test('a spec file with a bad field is refused with the field, the value and the fix', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-spec-')), 'bad.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(path.join(specs, 'local-sales.yaml'), 'utf8').replace('name: sales', 'name: Sales!'),
    );
    assert.throws(
      () => loadSpecFile(file),
      (err: unknown) =>
        err instanceof SpecValidationError &&
        /bad\.yaml:\d+:1: name: "Sales!" is not a usable pipeline name/.test(err.message),
    );
  });
});

describe('the provision settings of a spec', () => {
  const local = () => loadSpecFile(path.join(specs, 'local-sales.yaml'));

  test('default to Glue 5.0 with two G.1X workers and no versioning', () => {
    const { roleArn: _, ...settings } = local().provision;
    assert.deepEqual(settings, { bucketVersioning: false, glueVersion: '5.0', workerType: 'G.1X', numberOfWorkers: 2 });
  });

  test('refuse a role that is not an IAM role ARN, naming the field', () => {
    const spec = { ...local(), provision: { roleArn: 'glue-role' } };
    assert.throws(
      () => parseOrExplain(PipelineSpec, spec, 'spec'),
      (err: unknown) =>
        err instanceof SpecValidationError &&
        err.problems.includes('spec.provision.roleArn: "glue-role" is not an IAM role ARN'),
    );
  });
});

describe('the Glue job bundle', () => {
  test('zips the transform package so that Python imports it from the zip', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-zip-'));
    const zip = path.join(dir, 'glueline_transform.zip');
    fs.writeFileSync(zip, glueBundle(path.join(repoRoot, 'glue')).modules);
    const out = execFileSync(
      devtool('python'),
      [
        '-c',
        `import sys; sys.path.insert(0, ${JSON.stringify(zip)}); import glueline_transform.records as r; print(r.__file__)`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), path.join(zip, 'glueline_transform', 'records.py'));
  });

  test('is byte for byte the same from the same files, so an unchanged script is not uploaded again', () => {
    const glue = path.join(repoRoot, 'glue');
    assert.deepEqual(glueBundle(glue).modules, glueBundle(glue).modules);
  });
});

describe('job drift', () => {
  const spec = loadSpecFile(path.join(specs, 'local-sales.yaml'));
  const wanted = wantedJob(spec, settings);

  test('names each field that differs from the spec, with the old and the new value', () => {
    assert.deepEqual(jobDrift({ ...wanted, WorkerType: 'G.2X', Timeout: 5 }, wanted), [
      { field: 'WorkerType', from: 'G.2X', to: 'G.1X' },
      { field: 'Timeout', from: 5, to: wanted.Timeout },
    ]);
  });

  test('leaves default arguments added by hand alone', () => {
    const actual = { ...wanted, DefaultArguments: { ...wanted.DefaultArguments, '--enable-metrics': 'true' } };
    assert.deepEqual(jobDrift(actual, wanted), []);
  });

  test('takes a field Glue reports at its default when it was not set as unchanged', () => {
    const actual = { ...wanted, MaxRetries: undefined, Command: { ...wanted.Command, PythonVersion: undefined } };
    assert.deepEqual(jobDrift(actual, wanted), []);
  });

  test('removes --columns_json when the spec no longer has columns', () => {
    const { columns: _, ...transform } = spec.transform;
    const untyped = wantedJob({ ...spec, transform }, settings);

    assert.deepEqual(jobDrift(wanted, untyped), [
      { field: 'DefaultArguments --columns_json', from: wanted.DefaultArguments['--columns_json'], to: undefined },
    ]);
    assert.equal(jobUpdate(wanted, untyped).DefaultArguments?.['--columns_json'], undefined);
  });

  test('updates the job keeping the settings and default arguments glueline does not manage', () => {
    const actual = {
      ...wanted,
      NumberOfWorkers: 10,
      SecurityConfiguration: 'kms-at-rest',
      DefaultArguments: { ...wanted.DefaultArguments, '--enable-metrics': 'true' },
    };

    const update = jobUpdate(actual, wanted);

    assert.equal(update.NumberOfWorkers, wanted.NumberOfWorkers);
    assert.equal(update.SecurityConfiguration, 'kms-at-rest');
    assert.equal(update.DefaultArguments?.['--enable-metrics'], 'true');
  });
});

describe('a spec with a transform of its own (transform.module)', () => {
  const spec = loadSpecFile(path.join(specs, 'local-orders.yaml'));

  test('ships the module with --extra-py-files, in a folder of the job, and tells the job what to call', () => {
    const args = wantedJob(spec, settings).DefaultArguments;
    const scripts = `s3://${spec.regions[0]!.curatedBucket}/_glueline/scripts/`;
    assert.equal(
      args['--extra-py-files'],
      `${scripts}glueline_transform.zip,${scripts}${spec.transform.jobName}/orders.py`,
    );
    assert.equal(args['--transform_module'], 'orders');
    assert.equal(args['--transform_function'], 'transform');
    assert.deepEqual(JSON.parse(args['--added_columns_json']!), [
      { name: 'total', type: 'decimal(12,2)', nullable: true },
    ]);
  });

  test('removes the transform arguments when the spec no longer has a module', () => {
    const { module: _, addedColumns: __, ...transform } = spec.transform;
    const wanted = wantedJob(spec, settings);
    const plain = wantedJob({ ...spec, transform }, settings);

    assert.deepEqual(
      jobDrift(wanted, plain).map((f) => f.field),
      [
        'DefaultArguments --extra-py-files',
        'DefaultArguments --transform_module',
        'DefaultArguments --transform_function',
        'DefaultArguments --added_columns_json',
      ],
    );
  });

  const parsed = (transform: Record<string, unknown>) =>
    PipelineSpec.safeParse({ ...spec, transform: { ...spec.transform, ...transform } });
  const problems = (transform: Record<string, unknown>) => {
    const result = parsed(transform);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
  };

  test('refuses a module that is not a relative .py file with an importable name, naming the fix', () => {
    for (const module of ['/abs/orders.py', 'transforms/orders.txt', 'transforms/2orders.py', 'my-orders.py']) {
      assert.match(problems({ module }).join('\n'), /^transform\.module is not a usable transform module/, module);
    }
    assert.match(problems({ module: 'glueline_transform.py' }).join('\n'), /must not start with glueline_/);
    assert.deepEqual(problems({ module: '../transforms/orders.py' }), []);
  });

  test('refuses added columns without a module, and an added column that is already a column', () => {
    assert.deepEqual(problems({ module: undefined }), [
      'transform.addedColumns needs transform.module: only a transform of yours adds columns',
    ]);
    assert.deepEqual(problems({ addedColumns: [{ name: 'quantity', type: 'int' }] }), [
      'transform.addedColumns.0.name quantity is already in transform.columns: list each column once',
    ]);
  });

  test('lets the Parquet be partitioned by an added column', () => {
    assert.deepEqual(problems({ partitionBy: 'total' }), []);
    assert.match(
      problems({ partitionBy: 'nope' }).join('\n'),
      /transform\.partitionBy is not one of the declared columns/,
    );
  });
});

describe('crawler drift', () => {
  const wanted = {
    name: 'sales-raw',
    region: 'us-east-1',
    databaseName: 'sales',
    path: 's3://raw/raw/',
    description: 'raw CSV batches',
  };
  const actual = {
    Name: 'sales-raw',
    Role: 'arn:aws:iam::123456789012:role/service-role/glueline',
    DatabaseName: 'sales',
    Description: 'raw CSV batches',
    Targets: { S3Targets: [{ Path: 's3://raw/raw/', Exclusions: [] }] },
    Configuration: '{"Version":1.0,"Grouping":{"TableGroupingPolicy":"CombineCompatibleSchemas"}}',
    RecrawlPolicy: { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
    SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
  } satisfies Crawler;

  test('takes a role Glue reports by name as the same role as its ARN', () => {
    const roleArn = actual.Role;
    assert.deepEqual(crawlerDrift({ ...actual, Role: 'service-role/glueline' }, wanted, roleArn), []);
    assert.deepEqual(crawlerDrift({ ...actual, Role: 'other' }, wanted, roleArn), [
      { field: 'Role', from: 'other', to: 'service-role/glueline' },
    ]);
  });

  test('takes the configuration JSON with other spacing and key order as unchanged', () => {
    const configuration = '{ "Grouping": { "TableGroupingPolicy": "CombineCompatibleSchemas" }, "Version": 1 }';
    assert.deepEqual(crawlerDrift({ ...actual, Configuration: configuration }, wanted, undefined), []);
  });

  test("a crawler that re-crawls every folder (Glue's default) drifts to new folders only, with LOG and LOG", () => {
    const everything = {
      ...actual,
      RecrawlPolicy: { RecrawlBehavior: 'CRAWL_EVERYTHING' },
      SchemaChangePolicy: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DEPRECATE_IN_DATABASE' },
    } as const;
    assert.deepEqual(crawlerDrift(everything, wanted, undefined), [
      { field: 'RecrawlPolicy.RecrawlBehavior', from: 'CRAWL_EVERYTHING', to: 'CRAWL_NEW_FOLDERS_ONLY' },
      {
        field: 'SchemaChangePolicy',
        from: { UpdateBehavior: 'UPDATE_IN_DATABASE', DeleteBehavior: 'DEPRECATE_IN_DATABASE' },
        to: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
      },
    ]);
  });

  test('names a changed target path, old and new', () => {
    assert.deepEqual(crawlerDrift(actual, { ...wanted, path: 's3://raw/incoming/' }, undefined), [
      { field: 'Targets.S3Targets', from: ['s3://raw/raw/'], to: ['s3://raw/incoming/'] },
    ]);
  });
});
