/**
 * Redshift's rules the local Postgres would not apply by itself (#14): a COPY reaches a bucket only in the region it
 * reads from (the database's, or REGION's; Parquet takes no REGION), some statements cannot run inside a
 * transaction block (VACUUM and the like: they fail in a batch, and run in ExecuteStatement or an AUTO_COMMIT
 * batch), and TRUNCATE commits the transaction it runs in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  type DescribeStatementResponse,
} from '@aws-sdk/client-redshift-data';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRedshiftTarget } from '../../devstack/redshift-targets';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const region = awsClientConfig().region;
const otherRegion = stack().aws.regions.find((r) => r !== region)!;
const redshift = new RedshiftDataClient(awsClientConfig());
const s3Home = new S3Client(awsClientConfig());
const s3Away = new S3Client(awsClientConfig(otherRegion));
after(() => (redshift.destroy(), s3Home.destroy(), s3Away.destroy()));

const ClusterIdentifier = unique('gw-rules');
const Database = 'dev';
const ACTIVE = new Set(['SUBMITTED', 'PICKED', 'STARTED']);

const settled = (Id: string): Promise<DescribeStatementResponse> =>
  pollUntil(
    () => redshift.send(new DescribeStatementCommand({ Id })),
    (d) => !ACTIVE.has(d.Status!),
    { timeoutMs: 60_000 },
  );

async function execute(Sql: string): Promise<DescribeStatementResponse> {
  const { Id } = await redshift.send(
    new ExecuteStatementCommand({ ClusterIdentifier, Database, DbUser: 'awsuser', Sql }),
  );
  return settled(Id!);
}

async function batch(Sqls: string[], ExecutionMode?: 'TRANSACTION' | 'AUTO_COMMIT') {
  const { Id } = await redshift.send(
    new BatchExecuteStatementCommand({ ClusterIdentifier, Database, DbUser: 'awsuser', Sqls, ExecutionMode }),
  );
  return settled(Id!);
}

async function scalar(Sql: string): Promise<unknown> {
  const done = await execute(Sql);
  assert.equal(done.Status, 'FINISHED', done.Error);
  const { Records } = await redshift.send(new GetStatementResultCommand({ Id: done.Id }));
  const field = Records![0]![0]!;
  return field.longValue ?? field.stringValue ?? null;
}

const tableName = (prefix: string) => unique(prefix).replace(/-/g, '_');

before(async () => {
  await createRedshiftTarget(stack().aws.endpoint, region, {
    clusterIdentifier: ClusterIdentifier,
    database: Database,
  });
  assert.equal((await execute('select 1')).Status, 'FINISHED');
});

describe('COPY from a bucket in another region than the database', () => {
  const away = unique('gw-copy-away').toLowerCase();
  const home = unique('gw-copy-home').toLowerCase();
  const REDIRECT =
    /^ERROR: S3ServiceException:The bucket you are attempting to access must be addressed using the specified endpoint\. Please send all future requests to this endpoint\.,Status 301,Error PermanentRedirect/;

  before(async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    await s3Away.send(
      new CreateBucketCommand({
        Bucket: away,
        CreateBucketConfiguration: { LocationConstraint: otherRegion as never },
      }),
    );
    await s3Home.send(new CreateBucketCommand({ Bucket: home }));
    await s3Away.send(new PutObjectCommand({ Bucket: away, Key: 'csv/a.csv', Body: '1,x\n2,y\n' }));
    const parquet = parquetWriteBuffer({ columnData: [{ name: 'a', data: [1, 2], type: 'INT32' }] });
    await s3Away.send(new PutObjectCommand({ Bucket: away, Key: 'pq/part-0.parquet', Body: new Uint8Array(parquet) }));
    const entries = [
      { url: `s3://${away}/pq/part-0.parquet`, mandatory: true, meta: { content_length: parquet.byteLength } },
    ];
    await s3Home.send(new PutObjectCommand({ Bucket: home, Key: 'pq.manifest', Body: JSON.stringify({ entries }) }));
  });

  /** A fresh table of `columns`, then `copy <table> from 's3://<from>' <rest>`. */
  const copyInto = async (columns: string, from: string, rest: string) => {
    const table = tableName('away');
    await execute(`create table ${table} (${columns})`);
    return { table, done: await execute(`copy ${table} from 's3://${from}' iam_role default ${rest}`) };
  };

  test("a CSV COPY without REGION fails with S3's 301 as Redshift reports it, and names the bucket's region", async () => {
    const { table, done } = await copyInto('a int, b text', `${away}/csv/`, 'csv');
    assert.equal(done.Status, 'FAILED');
    assert.match(done.Error!, REDIRECT);
    assert.match(
      done.Error!,
      new RegExp(`s3://${away} is in ${otherRegion}; the COPY reads from ${region}: add REGION '${otherRegion}'`),
    );
    assert.equal(await scalar(`select count(*) from ${table}`), 0);
  });

  test("a CSV COPY with REGION naming the bucket's region loads it; naming another region fails", async () => {
    const right = await copyInto('a int, b text', `${away}/csv/`, `region '${otherRegion}' csv`);
    assert.equal(right.done.Status, 'FINISHED', right.done.Error);
    assert.equal(await scalar(`select count(*) from ${right.table}`), 2);
    const wrong = await copyInto('a int, b text', `${away}/csv/`, `region '${region}' csv`);
    assert.match(wrong.done.Error!, REDIRECT);
    assert.match(
      wrong.done.Error!,
      new RegExp(`its REGION '${region}' is not the bucket's: write REGION '${otherRegion}'`),
    );
  });

  test('a Parquet COPY from another region fails, directly or through a manifest; REGION is refused for it', async () => {
    const direct = await copyInto('a int', `${away}/pq/`, 'format as parquet');
    assert.match(direct.done.Error!, REDIRECT);
    assert.match(direct.done.Error!, /Redshift reads Parquet only from a bucket in its own region/);
    const listed = await copyInto('a int', `${home}/pq.manifest`, 'format as parquet manifest');
    assert.match(listed.done.Error!, REDIRECT);
    assert.equal(await scalar(`select count(*) from ${listed.table}`), 0);
    const withRegion = await copyInto('a int', `${away}/pq/`, `region '${otherRegion}' format as parquet`);
    assert.match(withRegion.done.Error!, /^ERROR: REGION argument is not supported for PARQUET based COPY/);
  });
});

describe('statements Redshift runs only outside a transaction block', () => {
  test('VACUUM, CREATE/DROP DATABASE and ALTER TABLE APPEND fail inside a batch, which rolls back', async () => {
    const table = tableName('vac');
    const done = await batch([`create table ${table} (id int)`, `insert into ${table} values (1)`, `vacuum ${table}`]);
    assert.equal(done.Status, 'FAILED');
    assert.equal(done.SubStatements![2]!.Error, 'ERROR: VACUUM cannot run inside a transaction block');
    assert.equal(await scalar(`select count(*) from information_schema.tables where table_name = '${table}'`), 0);
    for (const [sql, name] of [
      ['create database other', 'CREATE DATABASE'],
      ['drop database other', 'DROP DATABASE'],
      [`alter table ${table} append from ${table}_staging`, 'ALTER TABLE APPEND'],
    ]) {
      const refused = await batch(['select 1', sql!]);
      assert.equal(refused.SubStatements![1]!.Error, `ERROR: ${name} cannot run inside a transaction block`, sql);
    }
  });

  test('VACUUM and ANALYZE run by ExecuteStatement and in an AUTO_COMMIT batch', async () => {
    const table = tableName('vac_ok');
    assert.equal((await execute(`create table ${table} (id int)`)).Status, 'FINISHED');
    for (const sql of [`vacuum ${table}`, `analyze ${table}`]) {
      const done = await execute(sql);
      assert.equal(done.Status, 'FINISHED', `${sql}: ${done.Error}`);
    }
    const auto = await batch([`insert into ${table} values (1)`, `vacuum ${table}`, `analyze ${table}`], 'AUTO_COMMIT');
    assert.equal(auto.Status, 'FINISHED', auto.Error);
    assert.equal(await scalar(`select count(*) from ${table}`), 1);
  });
});

describe('TRUNCATE in a batch', () => {
  test('commits the statements before it: a later failure rolls back only what came after it', async () => {
    const table = tableName('trunc');
    const log = tableName('trunc_log');
    await execute(`create table ${table} (id int)`);
    await execute(`create table ${log} (id int)`);
    await execute(`insert into ${table} values (1), (2)`);
    const done = await batch([
      `insert into ${log} values (1)`,
      `truncate ${table}`,
      `insert into ${table} values (9)`,
      'select * from no_such_table',
    ]);
    assert.equal(done.Status, 'FAILED');
    assert.match(done.SubStatements![3]!.Error!, /relation "no_such_table" does not exist/);
    // Committed by the TRUNCATE: the insert before it stays, the table stays empty.
    assert.equal(await scalar(`select count(*) from ${log}`), 1);
    // The insert after it ran in the transaction the failure rolled back.
    assert.equal(await scalar(`select count(*) from ${table}`), 0);
  });

  test('a batch that fails before its TRUNCATE leaves everything as it was', async () => {
    const table = tableName('trunc_before');
    await execute(`create table ${table} (id int)`);
    await execute(`insert into ${table} values (1)`);
    const done = await batch([`insert into ${table} values (2)`, 'select * from no_such_table', `truncate ${table}`]);
    assert.equal(done.Status, 'FAILED');
    assert.equal(await scalar(`select count(*) from ${table}`), 1);
  });
});
