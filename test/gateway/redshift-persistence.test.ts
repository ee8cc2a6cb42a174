import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { createRedshiftTarget, warmSpecRedshiftTargets } from '../../devstack/redshift-targets';
import { freePort } from '../../devstack/stack';
import { startPrivateGateway } from '../../devstack/testkit/gateway-process';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig } from '../../devstack/testkit/stack';

describe('Redshift databases on disk', () => {
  test('a workgroup and its table outlive a restart of the gateway', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-persist-'));
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const redshift = new RedshiftDataClient({ ...awsClientConfig(), endpoint: `http://127.0.0.1:${port}` });
    after(() => redshift.destroy());
    const run = async (Sql: string) => {
      const { Id } = await redshift.send(
        new ExecuteStatementCommand({ WorkgroupName: 'persisted', Database: 'dev', Sql }),
      );
      const done = await pollUntil(
        () => redshift.send(new DescribeStatementCommand({ Id })),
        (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
      );
      assert.equal(done.Status, 'FINISHED', done.Error);
      return Id!;
    };

    let gateway = await startPrivateGateway({ GATEWAY_DATA_DIR: dataDir }, port);
    try {
      await createRedshiftTarget(`http://127.0.0.1:${port}`, awsClientConfig().region, {
        workgroupName: 'persisted',
        database: 'dev',
      });
      await run('create table kept (id int)');
      await run('insert into kept values (1), (2)');
    } finally {
      await gateway.stop();
    }

    gateway = await startPrivateGateway({ GATEWAY_DATA_DIR: dataDir }, port);
    try {
      const Id = await run('select count(*) from kept');
      const { Records } = await redshift.send(new GetStatementResultCommand({ Id }));
      assert.deepEqual(Records, [[{ longValue: 2 }]]);
    } finally {
      await gateway.stop();
    }
  });

  test('warming opens a database that a statement then runs in, and refuses a target it cannot name', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-warm-'));
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    // Closed for idleness at once, unless warmed.
    const gateway = await startPrivateGateway({ GATEWAY_DATA_DIR: dataDir, GATEWAY_REDSHIFT_IDLE_CLOSE_MS: '1' });
    const redshift = new RedshiftDataClient({ ...awsClientConfig(), endpoint: gateway.endpoint });
    try {
      const region = awsClientConfig().region;
      await createRedshiftTarget(gateway.endpoint, region, { workgroupName: 'warmed', database: 'analytics' });
      await warmSpecRedshiftTargets(`${gateway.endpoint}/_gateway`, {
        regions: [{ region, redshift: { workgroupName: 'warmed', database: 'analytics' } }],
      } as Parameters<typeof warmSpecRedshiftTargets>[1]);
      // The warm run created the database in its folder.
      assert.ok(fs.existsSync(path.join(dataDir, 'redshift', region, 'workgroup-warmed', 'analytics')));
      const { Id } = await redshift.send(
        new ExecuteStatementCommand({ WorkgroupName: 'warmed', Database: 'analytics', Sql: 'select 41 + 1' }),
      );
      const done = await pollUntil(
        () => redshift.send(new DescribeStatementCommand({ Id })),
        (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
      );
      assert.equal(done.Status, 'FINISHED', done.Error);
      const bad = await fetch(`${gateway.endpoint}/_gateway/redshift/warm`, {
        method: 'POST',
        body: JSON.stringify({ region, database: 'analytics' }),
      });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /workgroupName/);
    } finally {
      redshift.destroy();
      await gateway.stop();
    }
  });
});
