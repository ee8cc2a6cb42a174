/**
 * The Redshift Serverless API the gateway serves (#14: targets are created through an API a user would recognise,
 * and the Data API runs statements only on targets that exist), called as the AWS CLI and SDK call it: awsJson 1.1
 * with `X-Amz-Target: RedshiftServerless.<Op>`, and the region in the credential scope.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DescribeStatementCommand, ExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { pollUntil } from '../../devstack/testkit/poll';
import { awsClientConfig, stack, unique } from '../../devstack/testkit/stack';

const region = awsClientConfig().region;
const redshift = new RedshiftDataClient(awsClientConfig());
after(() => redshift.destroy());

/** One RedshiftServerless call; the error type (`x-amzn-errortype`) or the JSON answer. */
async function serverless(operation: string, input: object, where = region) {
  const res = await fetch(stack().aws.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `RedshiftServerless.${operation}`,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${where}/redshift-serverless/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as Record<string, unknown>;
  return res.ok ? { ok: body } : { error: res.headers.get('x-amzn-errortype')?.split(':')[0], status: res.status };
}

async function selectOne(WorkgroupName: string) {
  const { Id } = await redshift.send(new ExecuteStatementCommand({ WorkgroupName, Database: 'dev', Sql: 'select 1' }));
  return pollUntil(
    () => redshift.send(new DescribeStatementCommand({ Id })),
    (d) => !['SUBMITTED', 'PICKED', 'STARTED'].includes(d.Status!),
    { timeoutMs: 60_000 },
  );
}

describe('Redshift Serverless namespaces and workgroups (gateway)', () => {
  test('a workgroup is created in a namespace, read back, named by its ARN, refused twice, and deleted', async () => {
    const namespaceName = unique('gw-ns');
    const workgroupName = unique('gw-wg');
    // A workgroup needs its namespace first.
    assert.deepEqual(await serverless('CreateWorkgroup', { workgroupName, namespaceName }), {
      error: 'ResourceNotFoundException',
      status: 400,
    });
    assert.ok('ok' in (await serverless('CreateNamespace', { namespaceName, dbName: 'dev' })));
    const created = await serverless('CreateWorkgroup', { workgroupName, namespaceName });
    assert.ok('ok' in created, JSON.stringify(created));
    assert.deepEqual(await serverless('CreateWorkgroup', { workgroupName, namespaceName }), {
      error: 'ConflictException',
      status: 400,
    });

    const got = await serverless('GetWorkgroup', { workgroupName });
    const workgroup = (got as { ok: { workgroup: Record<string, string> } }).ok.workgroup;
    assert.equal(workgroup.status, 'AVAILABLE');
    assert.equal(workgroup.namespaceName, namespaceName);
    assert.equal(
      workgroup.workgroupArn,
      `arn:aws:redshift-serverless:${region}:123456789012:workgroup/${workgroup.workgroupId}`,
    );
    const listed = (await serverless('ListWorkgroups', {})) as { ok: { workgroups: { workgroupName: string }[] } };
    assert.ok(listed.ok.workgroups.some((w) => w.workgroupName === workgroupName));
    // Another region has no such workgroup.
    const elsewhere = stack().aws.regions.find((r) => r !== region)!;
    assert.equal((await serverless('GetWorkgroup', { workgroupName }, elsewhere)).error, 'ResourceNotFoundException');

    // The Data API takes the workgroup's name or its ARN.
    assert.equal((await selectOne(workgroup.workgroupArn!)).Status, 'FINISHED');

    const deleted = (await serverless('DeleteWorkgroup', { workgroupName })) as {
      ok: { workgroup: { status: string } };
    };
    assert.equal(deleted.ok.workgroup.status, 'DELETING');
    assert.equal((await serverless('GetWorkgroup', { workgroupName })).error, 'ResourceNotFoundException');
    await assert.rejects(selectOne(workgroupName), {
      name: 'ValidationException',
      message: "Redshift endpoint doesn't exist in this region.",
    });
  });

  test('names AWS refuses are refused: 3-64 of a-z, 0-9 and -, by the Serverless API and the Data API alike', async () => {
    for (const bad of ['Sales_WG', 'wg', 'x'.repeat(65)]) {
      for (const [operation, input] of [
        ['CreateNamespace', { namespaceName: bad }],
        ['CreateWorkgroup', { workgroupName: bad, namespaceName: 'ns-any' }],
        ['GetWorkgroup', { workgroupName: bad }],
      ] as const) {
        assert.deepEqual(await serverless(operation, input), { error: 'ValidationException', status: 400 }, operation);
      }
      // The Data API checks the name before it looks for the workgroup (its ARN form is tested above); it allows
      // 3-128 characters, so a 65-character name is not found rather than refused.
      if (bad.length > 64) continue;
      await assert.rejects(
        redshift.send(new ExecuteStatementCommand({ WorkgroupName: bad, Database: 'dev', Sql: 'select 1' })),
        (err: Error) =>
          err.name === 'ValidationException' &&
          err.message.includes(`Value '${bad}' at 'workgroupName' failed to satisfy`),
      );
    }
  });
});
