/**
 * The refresh's groups (#14 finding 4): what Redshift cannot run inside BatchExecuteStatement's transaction is
 * refused in `redshift.sql`, naming the field, the statement and the fix (`redshift.autoCommitSql`, or for VACUUM
 * `redshift.autoCommitAfterSql`), and those groups take such statements, with the same variables and size limit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderAutoCommitSql } from '../../src/workflow-safe/layout';
import { PipelineSpec, type PipelineSpecInput } from '../../src/workflow-safe/spec';
import { nonTransactionalStatement } from '../../src/workflow-safe/refresh-rules';
import { validationProblems } from '../../devstack/testkit/spec-problems';
import { regionInput, specInput } from '../../devstack/testkit/spec-fixture';

const base = specInput({ name: 'orders' });

const problemsOf = (redshift: unknown) => validationProblems({ ...base, redshift });

/** The refresh the example spec had before: Redshift refuses its first statement inside the transaction. */
const ADD_PARTITION =
  "alter table spectrum.orders add if not exists partition (batch_id='${batch_id}') location '${copy_manifest_uri}'";

describe('the refresh groups: transactional sql, autoCommitSql and autoCommitAfterSql', () => {
  test('ALTER TABLE ... ADD PARTITION in redshift.sql is refused, naming the statement and autoCommitSql', () => {
    const problems = problemsOf({ sql: [ADD_PARTITION, 'insert into t select * from spectrum.orders'] });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0]!,
      /^spec\.redshift\.sql\[0\]: .*is ALTER TABLE on an external table \(alter table spectrum\.orders add if not exists partition.*cannot run in the refresh's transaction: Redshift refuses ALTER TABLE on an external table inside a transaction block\. Move it to redshift\.autoCommitSql/,
    );
    assert.deepEqual(
      problemsOf({ sql: ['insert into t select * from spectrum.orders'], autoCommitSql: [ADD_PARTITION] }),
      [],
    );
  });

  test('every statement kind Redshift will not run, or not roll back, in a transaction block is named', () => {
    const cases: [string, string][] = [
      ["create external table spectrum.t (id int) stored as parquet location 's3://b/t/'", 'CREATE EXTERNAL TABLE'],
      ['-- a comment first\ndrop external table spectrum.t', 'DROP EXTERNAL TABLE'],
      ["alter table spectrum.t set location 's3://b/u/'", 'ALTER TABLE on an external table'],
      ['alter table spectrum.t drop partition (batch_id=1)', 'ALTER TABLE on an external table'],
      ['alter table t append from staging', 'ALTER TABLE APPEND'],
      ['VACUUM orders', 'VACUUM'],
      ['truncate orders_stage', 'TRUNCATE'],
      ['create   database other', 'CREATE DATABASE'],
    ];
    for (const [sql, name] of cases) assert.equal(nonTransactionalStatement(sql)?.name, name, sql);
    for (const sql of [
      'alter table t add column c int',
      "delete from t where batch_id = 'x'",
      "call refresh_orders('x')",
      "select * from spectrum.orders where batch_id = 'x'",
    ]) {
      assert.equal(nonTransactionalStatement(sql), undefined, sql);
    }
    const truncate = problemsOf({ sql: ['truncate orders_stage', 'insert into orders_stage select 1'] });
    assert.match(truncate[0]!, /redshift\.sql\[0\]: .*TRUNCATE .*Redshift commits the transaction a TRUNCATE runs in/);
  });

  for (const group of ['autoCommitSql', 'autoCommitAfterSql'] as const) {
    test(`${group} takes the same variables and limits as sql`, () => {
      const unknown = problemsOf({ sql: ['select 1'], [group]: ["call p('${batch}')"] });
      assert.match(
        unknown[0]!,
        new RegExp(`^spec\\.redshift\\.${group}\\[0\\]: .*uses a \\$\\{name\\} that is not a variable`),
      );
      const big = `select '${'x'.repeat(100 * 1024)}'`;
      const tooBig = problemsOf({ sql: ['select 1'], [group]: ['vacuum', big] });
      assert.equal(tooBig.length, 1);
      assert.match(
        tooBig[0]!,
        new RegExp(`^spec\\.redshift\\.${group}\\[1\\]: .* is 102409 bytes in us-east-1 .*at most 102400`),
      );
    });
  }

  test('autoCommitSql and autoCommitAfterSql are filled in per region, each on its own', () => {
    const spec = PipelineSpec.parse({
      ...base,
      redshift: { sql: ['select 1'], autoCommitSql: [ADD_PARTITION], autoCommitAfterSql: ['analyze t -- ${batch_id}'] },
    });
    const batch = { id: 'b-1', source: { bucket: 'landing' } };
    assert.deepEqual(renderAutoCommitSql(spec, batch, 'us-east-1'), [
      "alter table spectrum.orders add if not exists partition (batch_id='b-1') location " +
        "'s3://cur-a/_glueline/copy-manifests/orders/b-1.manifest'",
    ]);
    assert.deepEqual(renderAutoCommitSql(spec, batch, 'us-east-1', 'autoCommitAfterSql'), ['analyze t -- b-1']);
  });

  test('VACUUM in redshift.sql is refused, naming autoCommitAfterSql; it is taken there and in autoCommitSql', () => {
    const inTransaction = problemsOf({ sql: ["delete from t where batch_id = '${batch_id}'", 'vacuum t'] });
    assert.equal(inTransaction.length, 1, inTransaction.join('\n'));
    assert.match(
      inTransaction[0]!,
      /^spec\.redshift\.sql\[1\]: .*is VACUUM \(vacuum t\), which cannot run in the refresh's transaction: Redshift refuses it inside a transaction block\. Move it to redshift\.autoCommitAfterSql, which runs each statement on its own after the transaction commits/,
    );
    const generated = problemsOf({ table: 'orders', after: ['vacuum orders'] });
    assert.match(
      generated.find((p) => p.includes('after[0]'))!,
      /is VACUUM .*Move it to redshift\.autoCommitAfterSql/,
    );
    assert.deepEqual(
      problemsOf({ sql: ['select 1'], autoCommitSql: ['vacuum t'], autoCommitAfterSql: ['vacuum t', 'analyze t'] }),
      [],
    );
  });

  test("a COPY from another region's bucket is refused with the region and the fix; the region's own copy is not", () => {
    const twoRegions: PipelineSpecInput = { ...base, regions: [...base.regions, regionInput('eu-west-1', 'b')] };
    const problemsIn = (sql: string[]) => validationProblems({ ...twoRegions, redshift: { sql } });
    const parquet = problemsIn([
      'delete from t',
      "copy t from 's3://cur-a/orders/batch_id=${batch_id}/' iam_role default format as parquet",
    ]);
    assert.equal(parquet.length, 1, parquet.join('\n'));
    assert.match(
      parquet[0]!,
      /^spec\.redshift\.sql\[1\]: .*is a COPY from s3:\/\/cur-a, which the spec puts in us-east-1, but it also runs on the Redshift target in eu-west-1: Redshift COPY reads Parquet and ORC only from a bucket in its own region \(REGION is refused for columnar formats\)\. Read the region's own copy: FROM '\$\{copy_manifest_uri\}'/,
    );
    const csv = problemsIn(["copy t from 's3://raw-b/raw/' iam_role default csv"]);
    assert.match(
      csv[0]!,
      /s3:\/\/raw-b, which the spec puts in eu-west-1, .*in us-east-1: .*only with REGION 'eu-west-1'/,
    );
    assert.deepEqual(problemsIn(["copy t from 's3://raw-b/raw/' iam_role default csv region 'eu-west-1'"]), []);
    assert.deepEqual(
      problemsIn(["copy t from '${copy_manifest_uri}' iam_role default format as parquet manifest"]),
      [],
    );
    // A bucket the spec does not name: its region is unknown here.
    assert.deepEqual(problemsIn(["copy t from 's3://elsewhere/x/' iam_role default format as parquet"]), []);
  });
});
