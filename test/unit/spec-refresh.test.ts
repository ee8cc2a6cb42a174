/**
 * The schema written once (issue 16): redshift.table generates the refresh from the columns and added columns, in
 * the Parquet's order, with SQL of yours before and after it and { sqlFile } items read relative to the spec file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { reconcileSql } from '../../src/workflow-safe/guards';
import { renderSql } from '../../src/workflow-safe/layout';
import { PipelineSpec } from '../../src/workflow-safe/spec';
import { parseOrExplain, type SpecValidationError } from '../../src/workflow-safe/validation';
import { loadSpecFile } from '../../src/starters/spec-file';
import { splitSqlStatements } from '../../src/starters/sql-file';
import { validationProblems } from '../../devstack/testkit/spec-problems';
import { specInput } from '../../devstack/testkit/spec-fixture';

const base = specInput({
  name: 'orders',
  transform: {
    jobName: 'to-parquet',
    curatedPrefix: 'orders/',
    columns: [
      { name: 'order_id', type: 'bigint', nullable: false },
      { name: 'customer', type: 'string' },
      { name: 'quantity', type: 'int' },
      { name: 'unit_price', type: 'decimal(10,2)' },
    ],
    module: 'transforms/orders.py',
    addedColumns: [{ name: 'total', type: 'decimal(12,2)' }],
  },
  redshift: { table: 'analytics.orders' },
});
const batch = { id: 'b1', source: { bucket: 'land', prefix: 'in/' } };

const problemsOf = (spec: unknown) => validationProblems(spec);
const withRedshift = (redshift: Record<string, unknown>, transform: Record<string, unknown> = {}) => ({
  ...base,
  transform: { ...base.transform, ...transform },
  redshift,
});

describe('redshift.table: the refresh generated from the columns', () => {
  test('stages the columns then the added ones (the Parquet order), COPYs by position, replaces the batch', () => {
    const spec = parseOrExplain(PipelineSpec, base, 'spec');
    const typed =
      'order_id bigint, customer varchar(65535), quantity integer, unit_price decimal(10,2), total decimal(12,2)';
    const names = 'order_id, customer, quantity, unit_price, total';
    assert.deepEqual(renderSql(spec, batch, 'us-east-1'), [
      `create table if not exists analytics.orders (${typed}, batch_id varchar(63))`,
      `create temp table glueline_stage_orders (${typed})`,
      "copy glueline_stage_orders from 's3://cur-a/_glueline/copy-manifests/orders/b1.manifest' iam_role default format as parquet manifest",
      "delete from analytics.orders where batch_id = 'b1'",
      `insert into analytics.orders (${names}, batch_id) select ${names}, 'b1' from glueline_stage_orders`,
    ]);
    // The reconciliation finds the generated delete, as it finds a hand-written one.
    assert.equal(reconcileSql(spec, batch, 'us-east-1'), "select count(*) from analytics.orders where batch_id = 'b1'");
  });

  test('runs your statements before and after it, with the batch column you name', () => {
    const spec = parseOrExplain(
      PipelineSpec,
      withRedshift({
        table: 'orders',
        batchColumn: 'load_id',
        before: ['create table if not exists loads (id varchar(63))'],
        after: ["insert into loads values ('${batch_id}')"],
      }),
      'spec',
    );
    const sql = renderSql(spec, batch, 'us-east-1');
    assert.equal(sql[0], 'create table if not exists loads (id varchar(63))');
    assert.match(sql[1]!, /^create table if not exists orders \(.*, load_id varchar\(63\)\)$/);
    assert.equal(sql[4], "delete from orders where load_id = 'b1'");
    assert.equal(sql.at(-1), "insert into loads values ('b1')");
    assert.equal(sql.length, 7);
  });

  test('refuses what it cannot generate, naming the field and the fix', () => {
    assert.deepEqual(problemsOf(withRedshift({ table: 'orders', sql: ['select 1'] })), [
      'spec.redshift.sql: ["select 1"] and table both make the refresh: keep table (and before/after), or sql alone',
    ]);
    assert.deepEqual(problemsOf(withRedshift({ after: ['select 1'] })), [
      'spec.redshift: {"after":["select 1"]} needs sql (the refresh statements) or table (the standard refresh, generated)',
      'spec.redshift.after: ["select 1"] goes with table (around the generated refresh): without it, put these in sql',
    ]);
    assert.match(
      problemsOf(withRedshift({ table: 'orders' }, { columns: undefined, addedColumns: undefined })).join('\n'),
      /spec\.redshift\.table: "orders" needs transform\.columns: the generated refresh creates the table from them/,
    );
    assert.match(
      problemsOf(withRedshift({ table: 'orders' }, { partitionBy: 'customer' })).join('\n'),
      /redshift\.table: "orders" cannot load customer: with transform\.partitionBy it is in the folder names/,
    );
    assert.match(
      problemsOf(withRedshift({ table: 'orders', batchColumn: 'total' })).join('\n'),
      /redshift\.batchColumn: "total" total is a column of the transform too/,
    );
    assert.match(
      problemsOf(withRedshift({ table: 'orders', after: [{ sqlFile: 'x.sql' }] })).join('\n'),
      /redshift\.after\[0\]\.sqlFile: "x\.sql" x\.sql was not read/,
    );
  });

  test('keeps a hand-written refresh as it is', () => {
    const spec = parseOrExplain(PipelineSpec, withRedshift({ sql: ['select 1', "select '${batch_id}'"] }), 'spec');
    assert.deepEqual(renderSql(spec, batch, 'us-east-1'), ['select 1', "select 'b1'"]);
  });
});

describe('{ sqlFile }: the statements of a file, relative to the spec file', () => {
  test('splits at ; outside quotes, comments and $$ bodies (comments kept), with the line each starts on', () => {
    const text = [
      '-- rollups',
      "insert into t values ('a;b'); /* ; */",
      'create or replace procedure p() as $$',
      'begin',
      '  delete from t;',
      'end;',
      '$$ language plpgsql;',
      "select '${batch_id}'",
      '-- the end;',
    ].join('\n');
    assert.deepEqual(splitSqlStatements(text), [
      { sql: "-- rollups\ninsert into t values ('a;b')", line: 1 },
      {
        sql: '/* ; */\ncreate or replace procedure p() as $$\nbegin\n  delete from t;\nend;\n$$ language plpgsql',
        line: 2,
      },
      { sql: "select '${batch_id}'\n-- the end;", line: 8 },
    ]);
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-sqlfile-'));
  const specWith = (after: unknown[]) => {
    const file = path.join(dir, 'orders.json');
    fs.writeFileSync(file, JSON.stringify(withRedshift({ table: 'orders', after })));
    return file;
  };

  test('reads it when the spec is loaded and puts its statements in its place', () => {
    fs.mkdirSync(path.join(dir, 'sql'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sql', 'after.sql'), "insert into loads values ('${batch_id}');\nselect 2;\n");
    const spec = loadSpecFile(specWith([{ sqlFile: 'sql/after.sql' }, 'select 3']));
    assert.deepEqual(spec.redshift?.after, ["insert into loads values ('${batch_id}')", 'select 2', 'select 3']);
    assert.deepEqual(renderSql(spec, batch, 'us-east-1').slice(-3), [
      "insert into loads values ('b1')",
      'select 2',
      'select 3',
    ]);
  });

  test('names a missing file with its path, and a bad variable at its line in the file', () => {
    const missing = specWith([{ sqlFile: 'sql/missing.sql' }]);
    assert.throws(
      () => loadSpecFile(missing),
      (err: SpecValidationError) => {
        assert.match(
          err.problems[0]!,
          /redshift\.after\[0\]\.sqlFile: "sql\/missing\.sql" cannot be read \(no such file: .*sql\/missing\.sql\): the path is relative to the spec file/,
        );
        return true;
      },
    );
    fs.writeFileSync(path.join(dir, 'sql', 'bad.sql'), 'select 1;\n\nselect ${batch};\n');
    assert.throws(
      () => loadSpecFile(specWith([{ sqlFile: 'sql/bad.sql' }])),
      (err: SpecValidationError) => {
        assert.match(err.problems[0]!, /sql\/bad\.sql:3: uses a \$\{name\} that is not a variable/);
        return true;
      },
    );
  });
});
