/**
 * specs/example-aws.yaml on the local stack (#14 finding 4): it validates, plans, and its refresh passes the checks
 * Redshift applies (no statement Redshift refuses or commits early inside BatchExecuteStatement's transaction, the
 * Data API's limits) and runs as one transaction on the local Redshift, where plain tables of the crawler's
 * columns (partition columns as strings) stand for the Spectrum table: the local Postgres has no Spectrum.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { repoRoot } from '../../devstack/paths';
import { externalTableDdl } from '../../devstack/gateway/redshift-sql';
import { createSpecRedshiftTargets } from '../../devstack/redshift-targets';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';
import { runStatement } from '../../src/aws/redshift-data';
import { planProvisioning, describePlan } from '../../src/provisioning';
import { clientsFor } from '../../src/starters/provision';
import { loadSpecFile } from '../../src/starters/spec-file';
import { reconcileSql } from '../../src/workflow-safe/guards';
import { renderAutoCommitSql, renderSql } from '../../src/workflow-safe/layout';
import { DATA_API_LIMITS, PipelineSpec } from '../../src/workflow-safe/spec';
import { nonTransactionalStatement } from '../../src/workflow-safe/refresh-rules';

const EXAMPLE = path.join(repoRoot, 'specs', 'example-aws.yaml');

/** The example with names no other test uses: buckets are global, and the stack is shared by every test file. */
function uniqueExample(): PipelineSpec {
  const spec = loadSpecFile(EXAMPLE);
  const id = unique('ex').toLowerCase();
  return PipelineSpec.parse({
    ...spec,
    regions: spec.regions.map((r, i) => ({
      ...r,
      rawBucket: `${id}-raw-${i}`,
      curatedBucket: `${id}-cur-${i}`,
      curatedCrawler: `${id}-curated-${i}`,
      redshift: r.redshift?.workgroupName
        ? { ...r.redshift, workgroupName: `${id}-wg` }
        : r.redshift && { ...r.redshift, clusterIdentifier: `${id}-cl` },
    })),
    raw: { ...spec.raw, crawler: `${id}-raw` },
    transform: { ...spec.transform, jobName: `${id}-job` },
  });
}

/** What the refresh reads and writes, as plain tables: the columns the curated crawler gives spectrum.orders. */
const STAND_INS = [
  'create schema if not exists spectrum',
  'create table if not exists spectrum.orders (order_id bigint, customer_id bigint, total decimal(12,2), ' +
    'currency varchar(16), paid_at timestamp, batch_id varchar(63), order_date varchar(10))',
  'create schema if not exists orders_mart',
  'create table if not exists orders_mart.orders (order_id bigint, order_date date, customer_id bigint, ' +
    'total decimal(12,2), currency varchar(16), paid_at timestamp, batch_id varchar(63))',
];

describe('specs/example-aws.yaml', () => {
  let spec: PipelineSpec;
  const clients = new Map<string, RedshiftDataClient>();
  const redshift = (region: string) => {
    if (!clients.has(region)) clients.set(region, new RedshiftDataClient(awsClientConfig(region)));
    return clients.get(region)!;
  };
  const run = (region: string, sqls: string[]) =>
    runStatement(redshift(region), { region, target: spec.regions.find((r) => r.region === region)!.redshift!, sqls });

  before(() => {
    spec = uniqueExample();
  });
  after(() => clients.forEach((c) => c.destroy()));

  test('validates, and plans its buckets, databases, crawlers and job against the local stack', async () => {
    assert.doesNotThrow(() => loadSpecFile(EXAMPLE));
    const changes = await planProvisioning(spec, clientsFor({ endpoint: stack().aws.endpoint, description: 'stack' }));
    const plan = describePlan(changes).join('\n');
    for (const r of spec.regions) {
      assert.match(plan, new RegExp(`create .*${r.curatedBucket}`), plan);
      assert.match(plan, new RegExp(`create .*${r.curatedCrawler}`), plan);
    }
    assert.match(plan, new RegExp(`create .*${spec.transform.jobName}`), plan);
  });

  test("its refresh has nothing Redshift refuses or commits early in BatchExecuteStatement's transaction", () => {
    const batch = { id: 'x'.repeat(63), source: { bucket: 'landing' } };
    for (const r of spec.regions) {
      const sqls = renderSql(spec, batch, r.region);
      assert.ok(sqls.length >= 2 && sqls.length <= DATA_API_LIMITS.statements, `${sqls.length} statements`);
      for (const sql of sqls) {
        assert.equal(externalTableDdl(sql), undefined, sql);
        assert.equal(nonTransactionalStatement(sql), undefined, sql);
        assert.ok(Buffer.byteLength(sql) <= DATA_API_LIMITS.statementBytes);
      }
      const autoCommit = [
        ...renderAutoCommitSql(spec, batch, r.region),
        ...renderAutoCommitSql(spec, batch, r.region, 'autoCommitAfterSql'),
      ];
      for (const sql of autoCommit) assert.ok(Buffer.byteLength(sql) <= DATA_API_LIMITS.statementBytes);
    }
  });

  test('its refresh runs as one transaction in both regions, then its maintenance; it replaces the batch, and its count finds it', async () => {
    await createSpecRedshiftTargets(stack().aws.endpoint, spec);
    const batch = { id: unique('b'), source: { bucket: 'landing' } };
    for (const r of spec.regions) {
      for (const sql of STAND_INS) await run(r.region, [sql]);
      await run(r.region, [
        'insert into spectrum.orders values ' +
          `(1, 10, 12.50, 'EUR', '2024-01-31 10:00:00', '${batch.id}', '2024-01-31'), ` +
          `(2, 11, 7.25, null, null, '${batch.id}', '2024-02-01'), (3, 12, 1.00, 'EUR', null, 'other', '2024-02-01')`,
      ]);
      // Twice: a rerun of the batch replaces its rows.
      for (let i = 0; i < 2; i++) {
        const sqls = renderSql(spec, batch, r.region);
        const { statementId } = await run(r.region, sqls);
        assert.match(statementId, /\S/);
      }
      // Then its table maintenance, each statement on its own, as redshift-refresh runs autoCommitAfterSql.
      const maintenance = renderAutoCommitSql(spec, batch, r.region, 'autoCommitAfterSql');
      assert.ok(maintenance.length > 0, 'the example shows autoCommitAfterSql');
      for (const sql of maintenance) await run(r.region, [sql]);
      const counted = await run(r.region, [reconcileSql(spec, batch, r.region)!]);
      assert.equal(Number(counted.records[0]![0]!.longValue), 2, r.region);
      const dates = await run(r.region, [
        `select order_date::text from orders_mart.orders where batch_id = '${batch.id}' order by order_id`,
      ]);
      assert.deepEqual(
        dates.records.map((row) => row[0]!.stringValue),
        ['2024-01-31', '2024-02-01'],
      );
    }
  });
});
