import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { freePort } from '../../devstack/stack';
import { pollUntil } from '../support/poll';
import { awsClientConfig, stack } from '../support/stack';

/** A second gateway of this test's own, in front of the stack's moto, so restarting it disturbs no other test. */
async function startGateway(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../devstack/gateway/main.ts')], {
    env: {
      ...process.env,
      GATEWAY_PORT: String(port),
      GATEWAY_UPSTREAM: stack().aws.motoEndpoint,
      GATEWAY_DATA_DIR: dataDir,
    },
    stdio: 'ignore',
  });
  await pollUntil(
    () =>
      fetch(`http://127.0.0.1:${port}/_gateway/health`).then(
        (r) => r.ok,
        () => false,
      ),
    (ok) => ok,
  );
  return child;
}

async function stopGateway(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

describe('Redshift databases on disk', () => {
  test('a table outlives a restart of the gateway', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-persist-'));
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const redshift = new RedshiftDataClient({ ...awsClientConfig(), endpoint: `http://127.0.0.1:${port}` });
    after(() => redshift.destroy());
    const run = async (Sql: string) => {
      const { Id } = await redshift.send(
        new ExecuteStatementCommand({ ClusterIdentifier: 'persisted', Database: 'dev', Sql }),
      );
      const done = await pollUntil(
        () => redshift.send(new DescribeStatementCommand({ Id })),
        (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
      );
      assert.equal(done.Status, 'FINISHED', done.Error);
      return Id!;
    };

    let gateway = await startGateway(port, dataDir);
    await run('create table kept (id int)');
    await run('insert into kept values (1), (2)');
    await stopGateway(gateway);

    gateway = await startGateway(port, dataDir);
    try {
      const Id = await run('select count(*) from kept');
      const { Records } = await redshift.send(new GetStatementResultCommand({ Id }));
      assert.deepEqual(Records, [[{ longValue: 2 }]]);
    } finally {
      await stopGateway(gateway);
    }
  });
});
