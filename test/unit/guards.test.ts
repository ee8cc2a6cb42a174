/** The spec's guards (spec-guards.ts) as the schema takes them, and the pure judging of guards.ts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeFiles, judgeRows, reconcileSql, refreshTarget } from '../../src/workflow-safe/guards';
import { PipelineSpec, type PipelineSpecInput } from '../../src/workflow-safe/spec';
import { validationProblems } from '../../devstack/testkit/spec-problems';
import { specInput } from '../../devstack/testkit/spec-fixture';

const base = specInput({
  redshift: {
    sql: [
      'create temp table sales_batch (like sales)',
      "delete from analytics.sales where batch_id = '${batch_id}'",
      'insert into analytics.sales select * from sales_batch',
    ],
  },
});

const parse = (overrides: Partial<PipelineSpecInput>) => PipelineSpec.parse({ ...base, ...overrides });

const problemsOf = (spec: unknown) => validationProblems(spec);

const batch = { id: 'b-1', source: { bucket: 'landing', prefix: 'in/' } };

describe('reconciliation SQL', () => {
  test("by default, the table and column of the refresh's one batch delete", () => {
    const spec = parse({});
    assert.deepEqual(refreshTarget(spec), { table: 'analytics.sales', batchColumn: 'batch_id' });
    assert.equal(reconcileSql(spec, batch, 'us-east-1'), "select count(*) from analytics.sales where batch_id = 'b-1'");
  });

  test('no default without exactly one batch delete, none with reconcile: false', () => {
    const twice = parse({
      redshift: {
        sql: ["delete from a where batch_id = '${batch_id}'", "delete from b where batch_id = '${batch_id}'"],
      },
    });
    assert.equal(reconcileSql(twice, batch, 'us-east-1'), undefined);
    const none = parse({ redshift: { sql: ['call refresh(${batch_id})'] } });
    assert.equal(reconcileSql(none, batch, 'us-east-1'), undefined);
    const off = parse({ redshift: { ...base.redshift!, reconcile: false } });
    assert.equal(reconcileSql(off, batch, 'us-east-1'), undefined);
  });

  test('a table and column, or SQL of its own with its variables filled in', () => {
    const table = parse({ redshift: { ...base.redshift!, reconcile: { table: 'facts', batchColumn: 'load_id' } } });
    assert.equal(reconcileSql(table, batch, 'us-east-1'), "select count(*) from facts where load_id = 'b-1'");
    const own = parse({
      redshift: { ...base.redshift!, reconcile: { sql: "select n from loads where id = '${batch_id}/${region}'" } },
    });
    assert.equal(reconcileSql(own, batch, 'us-east-1'), "select n from loads where id = 'b-1/us-east-1'");
  });

  test('the schema names a bad table, an unknown variable, and both shapes at once', () => {
    assert.deepEqual(
      problemsOf({ ...base, redshift: { ...base.redshift, reconcile: { table: 'Sales; drop' } } }).length,
      1,
    );
    const unknown = problemsOf({ ...base, redshift: { ...base.redshift, reconcile: { sql: 'select ${rows}' } } });
    assert.equal(unknown.length, 1);
    assert.match(unknown[0]!, /reconcile\.sql.*is not a variable/);
  });
});

describe('thresholds', () => {
  test('the schema applies action fail by default and refuses minFiles above maxFiles', () => {
    const spec = parse({ thresholds: { maxRejectedRatio: { value: 0.1 } } });
    assert.deepEqual(spec.thresholds, { maxRejectedRatio: { value: 0.1, action: 'fail' } });
    const problems = problemsOf({ ...base, thresholds: { minFiles: { value: 5 }, maxFiles: { value: 2 } } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /thresholds\.minFiles\.value.*above maxFiles/);
    assert.match(
      problemsOf({ ...base, thresholds: { minRowsIn: { value: 1, action: 'page' } } })[0]!,
      /'fail'.*'warn'/,
    );
  });

  test('row limits: each crossed limit with its action, value, threshold and fix; none at the limit', () => {
    const thresholds = parse({
      thresholds: {
        maxRejectedRows: { value: 2, action: 'warn' },
        maxRejectedRatio: { value: 0.1 },
        minRowsIn: { value: 10 },
      },
    }).thresholds;
    const breaches = judgeRows(thresholds, { rowsIn: 10, rowsRejected: 3 }, 's3://cur-a/quarantine/batch_id=b-1/');
    assert.deepEqual(
      breaches.map((b) => [b.limit, b.action, b.value, b.threshold]),
      [
        ['maxRejectedRows', 'warn', 3, 2],
        ['maxRejectedRatio', 'fail', 0.3, 0.1],
      ],
    );
    assert.match(
      breaches[1]!.message,
      /^maxRejectedRatio: 0\.3 of the batch's rows were rejected \(3 of 10\), over the limit of 0\.1: check the rejected rows .* under s3:\/\/cur-a\/quarantine\/batch_id=b-1\/, or change thresholds\.maxRejectedRatio\.value/,
    );
    assert.deepEqual(judgeRows(thresholds, { rowsIn: 10, rowsRejected: 1 }, 'q'), []);
    assert.deepEqual(judgeRows(undefined, { rowsIn: 0, rowsRejected: 0 }, 'q'), []);
    assert.deepEqual(
      judgeRows(thresholds, { rowsIn: 0, rowsRejected: 0 }, 'q').map((b) => b.limit),
      ['minRowsIn'],
    );
  });

  test('file limits', () => {
    const thresholds = parse({
      thresholds: { minFiles: { value: 2 }, maxFiles: { value: 3, action: 'warn' } },
    }).thresholds;
    assert.deepEqual(
      judgeFiles(thresholds, 1, 's3://landing/in/').map((b) => [b.limit, b.action]),
      [['minFiles', 'fail']],
    );
    assert.deepEqual(
      judgeFiles(thresholds, 4, 's3://landing/in/').map((b) => [b.limit, b.action]),
      [['maxFiles', 'warn']],
    );
    assert.deepEqual(judgeFiles(thresholds, 3, 's3://landing/in/'), []);
  });
});
