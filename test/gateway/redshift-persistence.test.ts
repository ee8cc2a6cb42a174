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
import { createRedshiftTarget } from '../../devstack/redshift-targets';
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
});
