import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  ListStatementsCommand,
  RedshiftDataClient,
  type DescribeStatementResponse,
  type ExecuteStatementCommandInput,
} from '@aws-sdk/client-redshift-data';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRedshiftTarget } from '../../devstack/redshift-targets';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const redshift = new RedshiftDataClient(awsClientConfig());
const s3 = new S3Client(awsClientConfig());
after(() => (redshift.destroy(), s3.destroy()));

/** One cluster (so one fresh database) for this file; statements in it run one after another. */
const ClusterIdentifier = unique('gw-cluster');
const Database = 'dev';
const region = awsClientConfig().region;
before(() =>
  createRedshiftTarget(stack().aws.endpoint, region, { clusterIdentifier: ClusterIdentifier, database: Database }),
);

const ACTIVE = new Set(['SUBMITTED', 'PICKED', 'STARTED']);

/** Waits for a statement to end; a minute at most, as opening a database on a busy 2-core machine takes long. */
async function settled(Id: string): Promise<DescribeStatementResponse> {
  return pollUntil(
    () => redshift.send(new DescribeStatementCommand({ Id })),
    (d) => !ACTIVE.has(d.Status!),
    { timeoutMs: 60_000 },
  );
}

async function execute(
  Sql: string,
  more: Partial<ExecuteStatementCommandInput> = {},
): Promise<DescribeStatementResponse> {
  const { Id } = await redshift.send(
    new ExecuteStatementCommand({ ClusterIdentifier, Database, DbUser: 'awsuser', Sql, ...more }),
  );
  return settled(Id!);
}

async function batch(Sqls: string[], ExecutionMode?: 'TRANSACTION' | 'AUTO_COMMIT'): Promise<string> {
  const { Id } = await redshift.send(
    new BatchExecuteStatementCommand({ ClusterIdentifier, Database, DbUser: 'awsuser', Sqls, ExecutionMode }),
  );
  return Id!;
}

/** A table name no other test uses (Postgres identifiers take no dashes). */
const tableName = (prefix: string) => unique(prefix).replace(/-/g, '_');

async function scalar(Sql: string): Promise<unknown> {
  const done = await execute(Sql);
  assert.equal(done.Status, 'FINISHED', done.Error);
  const { Records } = await redshift.send(new GetStatementResultCommand({ Id: done.Id }));
  const field = Records![0]![0]!;
  return field.longValue ?? field.stringValue ?? field.doubleValue ?? field.booleanValue ?? null;
}

describe('Redshift Data API on the embedded Postgres', () => {
  before(async () => {
    // The first statement creates the cluster's database, which takes a few seconds.
    assert.equal((await execute('select 1')).Status, 'FINISHED');
  });

  test('select 1 runs to FINISHED and its result has one row', async () => {
    const done = await execute('select 1 as one');
    assert.equal(done.Status, 'FINISHED');
    assert.equal(done.HasResultSet, true);
    const result = await redshift.send(new GetStatementResultCommand({ Id: done.Id }));
    assert.deepEqual(result.Records, [[{ longValue: 1 }]]);
    assert.equal(result.ColumnMetadata?.[0]?.name, 'one');
    assert.equal(result.TotalNumRows, 1);
  });

  test("a syntax error ends FAILED with Postgres's message", async () => {
    const done = await execute('selec 1');
    assert.equal(done.Status, 'FAILED');
    assert.match(done.Error!, /syntax error at or near "selec"/);
  });

  test('a two-statement batch whose second statement fails leaves no trace of the first', async () => {
    const table = tableName('batch');
    const Id = await batch([`create table ${table} (id int)`, 'select * from no_such_table']);
    const done = await settled(Id!);
    assert.equal(done.Status, 'FAILED');
    assert.deepEqual(
      done.SubStatements?.map((s) => s.Status),
      ['FINISHED', 'FAILED'],
    );
    assert.match(done.SubStatements![1]!.Error!, /relation "no_such_table" does not exist/);
    assert.equal(await scalar(`select count(*) from information_schema.tables where table_name = '${table}'`), 0);
  });

  test('the same ClientToken returns the same Id and runs the SQL once', async () => {
    const table = tableName('token');
    await execute(`create table ${table} (id int)`);
    const ClientToken = unique('token');
    const input = {
      ClusterIdentifier,
      Database,
      DbUser: 'awsuser',
      Sql: `insert into ${table} values (1)`,
      ClientToken,
    };
    const first = await redshift.send(new ExecuteStatementCommand(input));
    const second = await redshift.send(new ExecuteStatementCommand(input));
    assert.equal(second.Id, first.Id);
    await settled(first.Id!);
    assert.equal(await scalar(`select count(*) from ${table}`), 1);
  });

  test('named Parameters bind to :name placeholders', async () => {
    const done = await execute("select :greeting || ' ' || :name as text, 1::int as n", {
      Parameters: [
        { name: 'greeting', value: 'hello' },
        { name: 'name', value: 'redshift' },
      ],
    });
    const { Records } = await redshift.send(new GetStatementResultCommand({ Id: done.Id }));
    assert.deepEqual(Records, [[{ stringValue: 'hello redshift' }, { longValue: 1 }]]);
  });

  test('GetStatementResult pages a large result with NextToken', async () => {
    const done = await execute('select generate_series(1, 2500) as n');
    let NextToken: string | undefined;
    const values: number[] = [];
    do {
      const page = await redshift.send(new GetStatementResultCommand({ Id: done.Id, NextToken }));
      values.push(...page.Records!.map((r) => r[0]!.longValue!));
      NextToken = page.NextToken;
    } while (NextToken);
    assert.equal(values.length, 2500);
    assert.equal(values[2499], 2500);
  });

  test('COPY of a Parquet object in local S3 loads its rows, column by column in order', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const Bucket = unique('gw-curated');
    await s3.send(new CreateBucketCommand({ Bucket }));
    const parquet = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: [1, 2, 3], type: 'INT32' },
        { name: 'name', data: ['a', 'b', 'c'], type: 'STRING' },
        { name: 'amount', data: [1.5, null, 3.25], type: 'DOUBLE' },
      ],
    });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'sales/part-00000.parquet', Body: new Uint8Array(parquet) }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'sales/_SUCCESS', Body: '' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'sales/manifest.json', Body: '{}' }));
    const table = tableName('sales');
    await execute(`create table ${table} (id int, name varchar(10), amount float8)`);
    const copy = await execute(
      `COPY ${table} FROM 's3://${Bucket}/sales/' IAM_ROLE 'arn:aws:iam::123456789012:role/redshift' FORMAT AS PARQUET`,
    );
    assert.equal(copy.Status, 'FINISHED', copy.Error);
    assert.equal(copy.ResultRows, 3);
    assert.equal(await scalar(`select count(*) from ${table}`), 3);
    assert.equal(await scalar(`select name from ${table} where id = 3`), 'c');
  });

  test('COPY into a temporary staging table of the same batch loads its rows', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const Bucket = unique('gw-staging');
    await s3.send(new CreateBucketCommand({ Bucket }));
    const parquet = parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2], type: 'INT32' }] });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'b/part-0.parquet', Body: new Uint8Array(parquet) }));
    const table = tableName('target');
    const Id = await batch([
      `create table ${table} (id int)`,
      `create temp table ${table}_stage (like ${table})`,
      `copy ${table}_stage from 's3://${Bucket}/b/' iam_role default format as parquet`,
      `insert into ${table} select * from ${table}_stage`,
    ]);
    const done = await settled(Id);
    assert.equal(done.Status, 'FINISHED', done.Error);
    assert.equal(await scalar(`select count(*) from ${table}`), 2);
  });

  test('a temporary table ends with the call that created it, as a Data API call without a session does', async () => {
    const table = tableName('temp');
    const first = await execute(`create temp table ${table} (id int)`);
    const second = await execute(`create temp table ${table} (id int)`);
    assert.equal(first.Status, 'FINISHED', first.Error);
    assert.equal(second.Status, 'FINISHED', second.Error);
  });

  test('COPY of CSV with IGNOREHEADER skips each file header', async () => {
    const Bucket = unique('gw-raw');
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'in/a.csv', Body: 'id,name\n1,"x, y"\n2,b\n' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'in/b.csv', Body: 'id,name\n3,c\n' }));
    const table = tableName('raw');
    await execute(`create table ${table} (id int, name text)`);
    const copy = await execute(`copy ${table} from 's3://${Bucket}/in/' iam_role default format as csv ignoreheader 1`);
    assert.equal(copy.Status, 'FINISHED', copy.Error);
    assert.equal(await scalar(`select count(*) from ${table}`), 3);
    assert.equal(await scalar(`select name from ${table} where id = 1`), 'x, y');
  });

  test('COPY from a prefix with no objects ends FAILED', async () => {
    const Bucket = unique('gw-empty');
    await s3.send(new CreateBucketCommand({ Bucket }));
    const done = await execute(`copy nothing from 's3://${Bucket}/none/' iam_role default format as parquet`);
    assert.equal(done.Status, 'FAILED');
    assert.match(done.Error!, /prefix 'none\/' does not exist/);
  });

  describe('COPY ... MANIFEST', () => {
    let Bucket: string;
    let parquet: Uint8Array;
    const rows = async (table: string) => scalar(`select count(*) from ${table}`);
    const putManifest = (Key: string, entries: unknown[]) =>
      s3.send(new PutObjectCommand({ Bucket, Key, Body: JSON.stringify({ entries }) }));
    const entry = (key: string, extra: Record<string, unknown> = {}) => ({
      url: `s3://${Bucket}/${key}`,
      mandatory: true,
      meta: { content_length: parquet.byteLength },
      ...extra,
    });
    /** A fresh table, then the COPY of `manifestKey` into it as Parquet. */
    const copyParquet = async (manifestKey: string) => {
      const table = tableName('manifest');
      await execute(`create table ${table} (id int)`);
      const done = await execute(
        `copy ${table} from 's3://${Bucket}/${manifestKey}' iam_role default format as parquet manifest`,
      );
      return { table, done };
    };

    before(async () => {
      const { parquetWriteBuffer } = await import('hyparquet-writer');
      Bucket = unique('gw-manifest');
      await s3.send(new CreateBucketCommand({ Bucket }));
      parquet = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }] }));
      for (const Key of ['b/part-new-0.parquet', 'b/part-new-1.parquet', 'b/part-old-0.parquet'])
        await s3.send(new PutObjectCommand({ Bucket, Key, Body: parquet }));
    });

    test("loads exactly the manifest's entries, not the other files under the same prefix", async () => {
      await putManifest('m/exact.manifest', [entry('b/part-new-0.parquet'), entry('b/part-new-1.parquet')]);
      const { table, done } = await copyParquet('m/exact.manifest');
      assert.equal(done.Status, 'FINISHED', done.Error);
      assert.equal(done.ResultRows, 6);
      assert.equal(await rows(table), 6);
    });

    test('a missing mandatory entry fails the COPY as Redshift does, and loads nothing', async () => {
      await putManifest('m/missing.manifest', [entry('b/part-new-0.parquet'), entry('b/part-gone.parquet')]);
      const { table, done } = await copyParquet('m/missing.manifest');
      assert.equal(done.Status, 'FAILED');
      assert.match(done.Error!, /^ERROR: Mandatory url is not present in manifest file\..*b\/part-gone\.parquet/);
      assert.equal(await rows(table), 0);
    });

    test('a missing entry that is not mandatory is skipped', async () => {
      await putManifest('m/optional.manifest', [
        entry('b/part-new-0.parquet'),
        entry('b/part-gone.parquet', { mandatory: false }),
      ]);
      const { table, done } = await copyParquet('m/optional.manifest');
      assert.equal(done.Status, 'FINISHED', done.Error);
      assert.equal(await rows(table), 3);
    });

    test('a Parquet entry without meta.content_length fails as Redshift does', async () => {
      await putManifest('m/no-meta.manifest', [{ url: `s3://${Bucket}/b/part-new-0.parquet`, mandatory: true }]);
      const noMeta = await copyParquet('m/no-meta.manifest');
      assert.equal(noMeta.done.Status, 'FAILED');
      assert.match(noMeta.done.Error!, /^ERROR: File entry does not have 'meta' key\./);
      await putManifest('m/no-length.manifest', [entry('b/part-new-0.parquet', { meta: {} })]);
      const noLength = await copyParquet('m/no-length.manifest');
      assert.equal(noLength.done.Status, 'FAILED');
      assert.match(noLength.done.Error!, /^ERROR: File entry does not have 'meta\.content_length' key\./);
    });

    test("a content_length that is not the object's size fails the COPY", async () => {
      await putManifest('m/wrong-length.manifest', [entry('b/part-new-0.parquet', { meta: { content_length: 7 } })]);
      const { done } = await copyParquet('m/wrong-length.manifest');
      assert.equal(done.Status, 'FAILED');
      assert.match(done.Error!, /content_length 7 of .*part-new-0\.parquet .* is not the object's size/);
    });

    test('a manifest that is not JSON, or has no entries array, fails as Redshift does', async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: 'm/broken.manifest', Body: '{"entries": [' }));
      const broken = await copyParquet('m/broken.manifest');
      assert.equal(broken.done.Status, 'FAILED');
      assert.match(broken.done.Error!, /^ERROR: Manifest file is not in correct json format/);
      await s3.send(new PutObjectCommand({ Bucket, Key: 'm/no-entries.manifest', Body: '{"files": []}' }));
      const noEntries = await copyParquet('m/no-entries.manifest');
      assert.match(noEntries.done.Error!, /^ERROR: Manifest file is not in correct json format.*no "entries" array/);
    });

    test('a manifest that does not exist fails as Redshift does', async () => {
      const { done } = await copyParquet('m/never-written.manifest');
      assert.equal(done.Status, 'FAILED');
      assert.match(
        done.Error!,
        /^ERROR: Problem reading manifest file - S3ServiceException:The specified key does not exist/,
      );
    });

    test('a CSV manifest needs no meta', async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: 'csv/a.csv', Body: 'id\n1\n2\n' }));
      await s3.send(new PutObjectCommand({ Bucket, Key: 'csv/stale.csv', Body: 'id\n9\n' }));
      await putManifest('m/csv.manifest', [{ url: `s3://${Bucket}/csv/a.csv`, mandatory: true }]);
      const table = tableName('manifest_csv');
      await execute(`create table ${table} (id int)`);
      const done = await execute(
        `copy ${table} from 's3://${Bucket}/m/csv.manifest' iam_role default csv ignoreheader 1 manifest`,
      );
      assert.equal(done.Status, 'FINISHED', done.Error);
      assert.equal(await rows(table), 2);
    });
  });

  describe('COPY as Redshift checks it', () => {
    let Bucket: string;
    before(async () => {
      const { parquetWriteBuffer } = await import('hyparquet-writer');
      Bucket = unique('gw-copy-rules');
      await s3.send(new CreateBucketCommand({ Bucket }));
      // Columns a, b: a table (b, a) shows whether COPY goes by position or by name.
      const parquet = parquetWriteBuffer({
        columnData: [
          { name: 'a', data: [1, 2], type: 'INT32' },
          { name: 'b', data: [10, 20], type: 'INT32' },
        ],
      });
      await s3.send(new PutObjectCommand({ Bucket, Key: 'ab/part-0.parquet', Body: new Uint8Array(parquet) }));
      await s3.send(new PutObjectCommand({ Bucket, Key: 'csv/a.csv', Body: '1,x\n' }));
    });
    /** A fresh table of `columns`, then `copy <table> <rest>` from the a, b Parquet (or `from` instead). */
    const copyInto = async (columns: string, rest: string, from = 'ab/') => {
      const table = tableName('rules');
      await execute(`create table ${table} (${columns})`);
      const done = await execute(`copy ${table} ${rest.replace('FROM', `from 's3://${Bucket}/${from}'`)}`);
      return { table, done };
    };

    test('loads Parquet columns by position, not by name, as Redshift does', async () => {
      const { table, done } = await copyInto('b int, a int', 'FROM iam_role default format as parquet');
      assert.equal(done.Status, 'FINISHED', done.Error);
      // The file's first column (a: 1, 2) lands in the table's first (b).
      assert.deepEqual(await scalar(`select string_agg(b::text, ',' order by b) from ${table}`), '1,2');
    });

    test('a Parquet file with another number of columns than the table fails, naming both counts', async () => {
      const more = await copyInto('a int, b int, c int', 'FROM iam_role default format as parquet');
      assert.equal(more.done.Status, 'FAILED');
      assert.match(
        more.done.Error!,
        /^ERROR: Spectrum Scan Error: Unmatched number of columns between table and file\. Table columns: 3, Data columns: 2, File name: s3:\/\/.*ab\/part-0\.parquet/,
      );
      assert.equal(await scalar(`select count(*) from ${more.table}`), 0);
      const fewer = await copyInto('a int', 'FROM iam_role default format as parquet');
      assert.match(fewer.done.Error!, /Table columns: 1, Data columns: 2/);
    });

    test('a column list takes the Parquet columns in its order; FILLRECORD lets the file lack trailing columns', async () => {
      const listed = await copyInto('a int, b int, c int', '(c, a) FROM iam_role default format as parquet');
      assert.equal(listed.done.Status, 'FINISHED', listed.done.Error);
      assert.equal(await scalar(`select c from ${listed.table} where a = 10`), 1);
      const filled = await copyInto('a int, b int, c int', 'FROM iam_role default format as parquet fillrecord');
      assert.equal(filled.done.Status, 'FINISHED', filled.done.Error);
      assert.equal(await scalar(`select count(*) from ${filled.table} where c is null`), 2);
    });

    test("a COPY without IAM_ROLE or CREDENTIALS fails with Redshift's message and the fix", async () => {
      for (const rest of ['FROM format as parquet', 'FROM csv']) {
        const { done } = await copyInto('a int, b text', rest, rest.includes('csv') ? 'csv/' : 'ab/');
        assert.equal(done.Status, 'FAILED', rest);
        assert.match(done.Error!, /^ERROR: Invalid credentials\. Must be of the format: .*add IAM_ROLE default/);
      }
    });

    test('IAM_ROLE default, a role ARN, or CREDENTIALS with a role are accepted; two authorizations or a bad ARN are not', async () => {
      const arn = 'arn:aws:iam::123456789012:role/redshift-copy';
      for (const auth of ['iam_role default', `iam_role '${arn}'`, `credentials 'aws_iam_role=${arn}'`]) {
        const { done } = await copyInto('a int, b int', `FROM ${auth} format as parquet`);
        assert.equal(done.Status, 'FINISHED', `${auth}: ${done.Error}`);
      }
      const both = await copyInto('a int, b int', `FROM iam_role default credentials 'aws_iam_role=${arn}' parquet`);
      assert.match(both.done.Error!, /COPY takes one authorization, got IAM_ROLE and CREDENTIALS/);
      const bad = await copyInto('a int, b int', `FROM iam_role 'redshift-copy' format as parquet`);
      assert.match(bad.done.Error!, /IAM_ROLE must be default or a quoted role ARN/);
      const badCredentials = await copyInto('a int, b int', `FROM credentials 'aws_iam_role=nope' format as parquet`);
      assert.match(badCredentials.done.Error!, /^ERROR: Invalid credentials\. Must be of the format/);
    });

    test('REGION, and other parameters Redshift does not take for columnar data, fail a COPY of Parquet', async () => {
      const region = await copyInto('a int, b int', "FROM iam_role default region 'us-east-1' format as parquet");
      assert.equal(region.done.Status, 'FAILED');
      assert.match(region.done.Error!, /^ERROR: REGION argument is not supported for PARQUET based COPY/);
      for (const option of ['ignoreheader 1', 'maxerror 10', 'gzip']) {
        const { done } = await copyInto('a int, b int', `FROM iam_role default format as parquet ${option}`);
        assert.equal(done.Status, 'FAILED', option);
        const name = option.split(' ')[0]!.toUpperCase();
        assert.match(done.Error!, new RegExp(`^ERROR: ${name} argument is not supported for PARQUET based COPY`));
      }
      const csv = await copyInto('a int, b text', "FROM iam_role default region 'us-east-1' csv", 'csv/');
      assert.equal(csv.done.Status, 'FINISHED', `REGION stays valid for CSV: ${csv.done.Error}`);
    });
  });

  test('ExecuteStatement without a Database throws ValidationException', async () => {
    await assert.rejects(redshift.send(new ExecuteStatementCommand({ ClusterIdentifier, Sql: 'select 1' } as never)), {
      name: 'ValidationException',
    });
  });

  test('ExecuteStatement with both ClusterIdentifier and WorkgroupName throws ValidationException', async () => {
    await assert.rejects(
      redshift.send(new ExecuteStatementCommand({ ClusterIdentifier, WorkgroupName: 'wg', Database, Sql: 'select 1' })),
      { name: 'ValidationException' },
    );
  });

  test('BatchExecuteStatement of 41 statements throws ValidationException as the Data API words it; 40 run', async () => {
    const sqls = Array.from({ length: 41 }, (_, i) => `select ${i}`);
    await assert.rejects(batch(sqls), {
      name: 'ValidationException',
      message:
        "1 validation error detected: Value at 'sqls' failed to satisfy constraint: " +
        'Member must have length less than or equal to 40',
    });
    assert.equal((await settled(await batch(sqls.slice(0, 40)))).Status, 'FINISHED');
  });

  test('a statement over 100 KB throws ValidationException, in ExecuteStatement and in a batch; 100 KB runs', async () => {
    const sqlOf = (bytes: number) => `select '${'x'.repeat(bytes - "select ''".length)}'`;
    const tooLong = sqlOf(100 * 1024 + 1);
    const refusal = { name: 'ValidationException', message: 'Cannot process query string larger than 100kB' };
    await assert.rejects(execute(tooLong), refusal);
    await assert.rejects(batch(['select 1', tooLong]), refusal);
    assert.equal((await execute(sqlOf(100 * 1024))).Status, 'FINISHED');
  });

  test('ALTER TABLE ... ADD PARTITION in a batch ends FAILED as Redshift words it, and rolls the batch back', async () => {
    const table = tableName('before_partition');
    const done = await settled(
      await batch([
        `create table ${table} (id int)`,
        "alter table spectrum.orders add if not exists partition (batch_id='b1') location 's3://b/orders/batch_id=b1/'",
      ]),
    );
    assert.equal(done.Status, 'FAILED');
    assert.equal(done.Error, 'ERROR: ALTER EXTERNAL TABLE cannot run inside a transaction block');
    assert.deepEqual(
      done.SubStatements?.map((s) => s.Status),
      ['FINISHED', 'FAILED'],
    );
    assert.equal(await scalar(`select count(*) from information_schema.tables where table_name = '${table}'`), 0);
  });

  test('CREATE and DROP EXTERNAL TABLE in a batch end FAILED naming the command', async () => {
    for (const [sql, command] of [
      ["create external table spectrum.t (id int) stored as parquet location 's3://b/t/'", 'CREATE EXTERNAL TABLE'],
      ['drop external table spectrum.t', 'DROP EXTERNAL TABLE'],
    ]) {
      const done = await settled(await batch(['select 1', sql!]));
      assert.equal(done.Error, `ERROR: ${command} cannot run inside a transaction block`);
    }
  });

  test('ExecutionMode AUTO_COMMIT commits each statement on its own: a failed one leaves the others in place', async () => {
    const table = tableName('auto_commit');
    const done = await settled(
      await batch(
        [
          `create table ${table} (id int)`,
          `insert into ${table} values (1)`,
          'select * from no_such_table',
          `insert into ${table} values (2)`,
        ],
        'AUTO_COMMIT',
      ),
    );
    assert.equal(done.Status, 'FAILED');
    assert.match(done.Error!, /^ERROR: relation "no_such_table" does not exist/);
    assert.deepEqual(
      done.SubStatements?.map((s) => s.Status),
      ['FINISHED', 'FINISHED', 'FAILED', 'FINISHED'],
    );
    assert.equal(await scalar(`select count(*) from ${table}`), 2);
  });

  test("a statement naming a workgroup or cluster that does not exist throws ValidationException, as AWS's does", async () => {
    const refusal = { name: 'ValidationException', message: "Redshift endpoint doesn't exist in this region." };
    const WorkgroupName = unique('gw-missing-wg');
    await assert.rejects(
      redshift.send(new ExecuteStatementCommand({ WorkgroupName, Database, Sql: 'select 1' })),
      refusal,
    );
    await assert.rejects(
      redshift.send(
        new BatchExecuteStatementCommand({
          ClusterIdentifier: unique('gw-missing'),
          Database,
          DbUser: 'awsuser',
          Sqls: ['select 1'],
        }),
      ),
      refusal,
    );
    // A workgroup is its region's own: created in another region, it does not exist in this one.
    const elsewhere = stack().aws.regions.find((r) => r !== region)!;
    await createRedshiftTarget(stack().aws.endpoint, elsewhere, { workgroupName: WorkgroupName, database: Database });
    await assert.rejects(
      redshift.send(new ExecuteStatementCommand({ WorkgroupName, Database, Sql: 'select 1' })),
      refusal,
    );
  });

  test('DescribeStatement of an Id that was never issued throws ResourceNotFoundException', async () => {
    await assert.rejects(redshift.send(new DescribeStatementCommand({ Id: '00000000-0000-0000-0000-000000000000' })), {
      name: 'ResourceNotFoundException',
    });
  });

  test('CancelStatement of a finished statement throws ValidationException', async () => {
    const done = await execute('select 1');
    await assert.rejects(redshift.send(new CancelStatementCommand({ Id: done.Id })), { name: 'ValidationException' });
  });

  test('CancelStatement of a running batch ends it ABORTED and rolls it back, while the gateway stays responsive', async () => {
    const table = tableName('cancelled');
    const Id = await batch([`create table ${table} (id int)`, 'select pg_sleep(2)']);
    await pollUntil(
      () => redshift.send(new DescribeStatementCommand({ Id })),
      (d) => d.SubStatements?.[1]?.Status === 'STARTED',
    );
    assert.equal((await redshift.send(new CancelStatementCommand({ Id }))).Status, true);
    const cancelled = await redshift.send(new DescribeStatementCommand({ Id }));
    assert.equal(cancelled.Status, 'ABORTED');
    assert.equal(await scalar(`select count(*) from information_schema.tables where table_name = '${table}'`), 0);
  });

  test('ListStatements finds a statement by its StatementName', async () => {
    const StatementName = unique('gw-named');
    const done = await execute('select 1', { StatementName });
    const { Statements } = await redshift.send(new ListStatementsCommand({ StatementName }));
    assert.deepEqual(
      Statements?.map((s) => [s.Id, s.Status]),
      [[done.Id, 'FINISHED']],
    );
  });

  test('a workgroup database cancelled before it starts ends ABORTED and changes nothing', async () => {
    const WorkgroupName = unique('gw-wg');
    await createRedshiftTarget(stack().aws.endpoint, region, { workgroupName: WorkgroupName, database: Database });
    const table = tableName('never');
    const { Id } = await redshift.send(
      new ExecuteStatementCommand({ WorkgroupName, Database, Sql: `create table ${table} (id int)` }),
    );
    assert.deepEqual((await redshift.send(new CancelStatementCommand({ Id }))).Status, true);
    assert.equal((await settled(Id!)).Status, 'ABORTED');
    const check = await redshift.send(
      new ExecuteStatementCommand({
        WorkgroupName,
        Database,
        Sql: `select count(*) from information_schema.tables where table_name = '${table}'`,
      }),
    );
    await settled(check.Id!);
    const { Records } = await redshift.send(new GetStatementResultCommand({ Id: check.Id }));
    assert.deepEqual(Records, [[{ longValue: 0 }]]);
  });
});
