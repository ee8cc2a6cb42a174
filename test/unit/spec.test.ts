import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commonDirectory, glueJobArguments, renderSql } from '../../src/workflow-safe/layout';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { PipelineInput } from '../../src/workflow-safe/run-input';
import { parseOrExplain } from '../../src/workflow-safe/validation';
import { validationProblems } from '../../devstack/testkit/spec-problems';
import { regionInput, specInput } from '../../devstack/testkit/spec-fixture';

const base = specInput({
  regions: [regionInput('us-east-1', 'a', { redshift: false }), regionInput('eu-west-1', 'b')],
  redshift: {
    sql: [
      "delete from sales where batch_id = '${batch_id}'",
      "copy sales from '${copy_manifest_uri}' iam_role default format as parquet manifest",
    ],
  },
});

const problemsOf = (spec: unknown) => validationProblems(spec);

describe('the pipeline spec', () => {
  test('a valid spec gets its defaults', () => {
    const spec = parseOrExplain(PipelineSpec, base, 'spec');
    assert.equal(spec.raw.prefix, 'raw/');
    assert.equal(spec.copy.concurrency, 8);
    assert.deepEqual(spec.polling.glueJob, {
      initialIntervalMs: 2_000,
      maxIntervalMs: 60_000,
      elapsedRatio: 0.5,
      expectedDurationFrom: 'history',
    });
  });

  test('a polling policy written in the spec is kept as written: no history schedule it did not ask for', () => {
    const glueJob = { initialIntervalMs: 15_000, maxIntervalMs: 60_000, backoffCoefficient: 1.5 };
    const spec = parseOrExplain(PipelineSpec, { ...base, polling: { glueJob } }, 'spec');
    assert.deepEqual(spec.polling.glueJob, glueJob);
    assert.equal(spec.polling.crawler.elapsedRatio, 0.25);
  });

  test('a polling policy needs exactly one of elapsedRatio and backoffCoefficient', () => {
    const both = { initialIntervalMs: 1_000, maxIntervalMs: 5_000, backoffCoefficient: 2, elapsedRatio: 0.5 };
    const neither = { initialIntervalMs: 1_000, maxIntervalMs: 5_000 };
    for (const crawler of [both, neither]) {
      const problems = problemsOf({ ...base, polling: { crawler } });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(
        problems[0]!,
        /^spec\.polling\.crawler: .*needs exactly one of elapsedRatio .* and backoffCoefficient/,
      );
    }
  });

  test('a bad bucket name is reported with its path, its value and the rule', () => {
    const problems = problemsOf({
      ...base,
      regions: [{ ...base.regions[0]!, rawBucket: 'Raw_Bucket' }, base.regions[1]!],
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^spec\.regions\[0\]\.rawBucket: "Raw_Bucket" is not a valid S3 bucket name: use 3-63/);
  });

  test('a workgroup name AWS would refuse is reported before any run, with its value and the rule', () => {
    for (const workgroupName of ['Sales_WG', 'wg', 'x'.repeat(65)]) {
      const problems = problemsOf({
        ...base,
        regions: [{ ...base.regions[0]!, redshift: { workgroupName, database: 'dev' } }, base.regions[1]!],
      });
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.match(
        problems[0]!,
        new RegExp(
          `^spec\\.regions\\[0\\]\\.redshift\\.workgroupName: "${workgroupName}" is not a Redshift Serverless workgroup name: use 3-64 lowercase`,
        ),
      );
    }
  });

  test('a misspelt field is named', () => {
    const problems = problemsOf({ ...base, notfiy: {} });
    assert.deepEqual(problems, ['spec.notfiy: unknown field "notfiy"; did you mean "notify"?']);
  });

  test('an unknown SQL variable is rejected before any run', () => {
    const problems = problemsOf({ ...base, redshift: { sql: ['select ${batchid}'] } });
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^spec\.redshift\.sql\[0\]: "select \$\{batchid\}" uses a \$\{name\} that is not a variable/,
    );
  });

  test("a refresh of more than 40 statements is rejected, naming BatchExecuteStatement's limit", () => {
    const sql = Array.from({ length: 41 }, (_, i) => `select ${i}`);
    const problems = problemsOf({ ...base, redshift: { sql } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^spec\.redshift\.sql: .* has 41 statements; .*BatchExecuteStatement takes at most 40/);
    assert.deepEqual(problemsOf({ ...base, redshift: { sql: sql.slice(0, 40) } }), []);
  });

  test('a refresh statement over 100 KB once its variables are filled in is rejected, with its size and region', () => {
    // 102,400 bytes as written is within the limit; ${batch_id} can add up to 52 more (63 characters for 11).
    const sql = `select '${'x'.repeat(100 * 1024 - 24)}', '\${batch_id}'`;
    assert.equal(Buffer.byteLength(sql), 100 * 1024);
    const problems = problemsOf({ ...base, redshift: { sql: ['select 1', sql] } });
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^spec\.redshift\.sql\[1\]: "select .*\.\.\. is 102452 bytes in eu-west-1 .*at most 102400 bytes \(100 KB\) per statement: split it/,
    );
    assert.deepEqual(problemsOf({ ...base, redshift: { sql: [sql.replace('${batch_id}', 'b')] } }), []);
  });

  test('G.025X is refused for the transform job: Glue takes it for streaming jobs only, and CreateJob refuses it', () => {
    const problems = problemsOf({ ...base, provision: { workerType: 'G.025X' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^spec\.provision\.workerType: .*G\.025X is for Glue streaming jobs only.*use G\.1X/);
    assert.deepEqual(problemsOf({ ...base, provision: { workerType: 'G.2X' } }), []);
  });

  test('a spec without a notification channel is rejected', () => {
    assert.match(problemsOf({ ...base, notify: {} })[0]!, /needs at least one channel/);
  });

  test('a webhook URL carrying credentials is rejected', () => {
    const problems = problemsOf({ ...base, notify: { webhook: { url: 'https://user:tok@hooks.example.com/x' } } });
    assert.match(problems[0]!, /GLUELINE_WEBHOOK_TOKEN/);
  });

  test('a batch needs exactly one of keys, keyList or prefix', () => {
    assert.throws(
      () => parseOrExplain(PipelineInput, { spec: base, batch: { id: 'b1', source: { bucket: 'land-a' } } }, 'input'),
      /input\.batch\.source: .* needs exactly one of keys, keyList or prefix/,
    );
  });

  test("a key with a '..' segment is rejected", () => {
    assert.throws(
      () =>
        parseOrExplain(
          PipelineInput,
          { spec: base, batch: { id: 'b1', source: { bucket: 'land-a', keys: ['a/../b.csv'] } } },
          'input',
        ),
      /input\.batch\.source\.keys\[0\]: "a\/..\/b.csv" is not a usable object key/,
    );
  });
});

describe('the batch layout', () => {
  const spec = parseOrExplain(PipelineSpec, base, 'spec');
  const batch = { id: 'b1', source: { bucket: 'land-a', prefix: 'in/' } };

  test('the Glue job reads the raw batch and writes the curated batch of the primary region', () => {
    const args = glueJobArguments(spec, batch);
    assert.equal(args['--input_path'], 's3://raw-a/raw/batch_id=b1/');
    assert.equal(args['--output_path'], 's3://cur-a/sales/batch_id=b1/');
    assert.equal(args['--manifest_path'], 's3://cur-a/_glueline/manifests/sales/b1.json');
  });

  test("the refresh SQL names each region's own curated bucket", () => {
    assert.deepEqual(renderSql(spec, batch, 'eu-west-1'), [
      "delete from sales where batch_id = 'b1'",
      "copy sales from 's3://cur-b/_glueline/copy-manifests/sales/b1.manifest' iam_role default format as parquet manifest",
    ]);
  });

  test('commonDirectory finds the folder that keys share', () => {
    assert.equal(commonDirectory(['in/2026/a.csv', 'in/2026/b.csv']), 'in/2026/');
    assert.equal(commonDirectory(['in/2026/a.csv', 'in/2025/b.csv']), 'in/');
    assert.equal(commonDirectory(['a.csv', 'in/b.csv']), '');
  });
});
