import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ActiveStatementsExceededException,
  ValidationException,
  type DescribeStatementResponse,
} from '@aws-sdk/client-redshift-data';
import { CancelledFailure } from '@temporalio/common';
import { clientToken, createRedshiftActivities, STATEMENT_OUTCOME } from '../../src/activities/redshift';
import type { ExecuteStatementsInput } from '../../src/activities/types';
import { activityEnv, awsDeps, fakeClients, fastPolling, rejection, run } from '../support/aws';

// The local stack's Redshift Data API comes with the gateway; until then these run on narrow fakes.
const region = 'us-east-1';
const cluster = { clusterIdentifier: 'analytics', database: 'dev', dbUser: 'glueline' };
const serverless = { workgroupName: 'analytics-wg', database: 'dev' };
const execInput = (overrides: Partial<ExecuteStatementsInput> = {}): ExecuteStatementsInput => ({
  region,
  target: cluster,
  sqls: ['call refresh_sales(:batch_id)'],
  parameters: { batch_id: 'b1' },
  idempotencyKey: 'csv-pipeline-sales-b1/run-1/redshift-refresh@us-east-1',
  statementName: 'glueline sales b1',
  ...overrides,
});

function fakeRedshift(
  statements: Partial<DescribeStatementResponse>[],
  extra: (c: string, i: Record<string, unknown>) => unknown = () => ({}),
) {
  let i = 0;
  return fakeClients((command, input) => {
    if (command === 'DescribeStatement') return { Id: 'st-1', ...statements[Math.min(i++, statements.length - 1)] };
    if (command === 'ExecuteStatement' || command === 'BatchExecuteStatement') return { Id: 'st-1' };
    return extra(command, input);
  });
}

describe('executeStatements', () => {
  test('runs one statement on a cluster with named parameters and a ClientToken', async () => {
    const { aws, log } = fakeRedshift([]);
    const result = await run(activityEnv(), createRedshiftActivities(awsDeps(aws)).executeStatements, execInput());
    assert.deepEqual(result, { statementId: 'st-1' });
    const call = log.calls[0]!;
    assert.equal(call.command, 'ExecuteStatement');
    assert.deepEqual(
      { ...call.input, ClientToken: undefined },
      {
        ClusterIdentifier: 'analytics',
        Database: 'dev',
        DbUser: 'glueline',
        SecretArn: undefined,
        Sql: 'call refresh_sales(:batch_id)',
        Parameters: [{ name: 'batch_id', value: 'b1' }],
        StatementName: 'glueline sales b1',
        ClientToken: undefined,
      },
    );
    assert.match(String(call.input.ClientToken), /^[0-9a-f]{64}$/);
  });

  test('runs several statements in one BatchExecuteStatement on a serverless workgroup', async () => {
    const { aws, log } = fakeRedshift([]);
    await run(
      activityEnv(),
      createRedshiftActivities(awsDeps(aws)).executeStatements,
      execInput({ target: serverless, sqls: ['delete from s', 'insert into s select 1'], parameters: undefined }),
    );
    const call = log.calls[0]!;
    assert.equal(call.command, 'BatchExecuteStatement');
    assert.equal(call.input.WorkgroupName, 'analytics-wg');
    assert.deepEqual(call.input.Sqls, ['delete from s', 'insert into s select 1']);
  });

  test('refuses parameters with several statements, before calling AWS', async () => {
    const { aws, log } = fakeRedshift([]);
    const err = await rejection(
      run(
        activityEnv(),
        createRedshiftActivities(awsDeps(aws)).executeStatements,
        execInput({ sqls: ['select 1', 'select 2'] }),
      ),
    );
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /named parameters \(batch_id\) work with one statement only/);
    assert.equal(log.calls.length, 0);
  });

  test('sends the same ClientToken when a retry runs the same step again', async () => {
    const { aws, log } = fakeRedshift([]);
    const activities = createRedshiftActivities(awsDeps(aws));
    await run(activityEnv(), activities.executeStatements, execInput());
    await run(activityEnv({ attempt: 2 }), activities.executeStatements, execInput());
    assert.equal(log.calls[0]!.input.ClientToken, log.calls[1]!.input.ClientToken);
  });

  test('derives different ClientTokens for other steps and other regions', () => {
    const base = clientToken(execInput());
    assert.notEqual(clientToken(execInput({ idempotencyKey: 'other-run/redshift-refresh' })), base);
    assert.notEqual(clientToken(execInput({ region: 'eu-west-1' })), base);
    assert.ok(base.length <= 64);
  });

  test('fails non-retryably with ValidationException naming the target', async () => {
    const { aws } = fakeClients(() => {
      throw new ValidationException({ message: 'Cluster identifier is invalid', $metadata: { httpStatusCode: 400 } });
    });
    const err = await rejection(
      run(activityEnv(), createRedshiftActivities(awsDeps(aws)).executeStatements, execInput()),
    );
    assert.equal(err.type, 'ValidationException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /ExecuteStatement on redshift cluster analytics database dev in us-east-1 failed/);
  });

  test('fails retryably when too many statements are active', async () => {
    const { aws } = fakeClients(() => {
      throw new ActiveStatementsExceededException({
        message: 'Active statements exceeded',
        $metadata: { httpStatusCode: 400 },
      });
    });
    const err = await rejection(
      run(activityEnv(), createRedshiftActivities(awsDeps(aws)).executeStatements, execInput()),
    );
    assert.equal(err.nonRetryable, false);
  });
});

describe('waitForStatement', () => {
  const waitInput = { region, statementId: 'st-1', polling: fastPolling };

  test('waits through every waiting status and returns the finished statement', async () => {
    const waiting = Object.entries(STATEMENT_OUTCOME)
      .filter(([, o]) => o === 'wait')
      .map(([s]) => ({ Status: s as 'SUBMITTED' }));
    const { aws } = fakeRedshift([
      ...waiting,
      {
        Status: 'FINISHED',
        Duration: 2_500_000_000,
        SubStatements: [
          { Id: 'st-1:1', Status: 'FINISHED', ResultRows: 3 },
          { Id: 'st-1:2', Status: 'FINISHED', ResultRows: 0 },
        ],
      },
    ]);
    const result = await run(activityEnv(), createRedshiftActivities(awsDeps(aws)).waitForStatement, waitInput);
    assert.deepEqual(result, {
      statementId: 'st-1',
      status: 'FINISHED',
      durationMs: 2500,
      subStatements: [
        { id: 'st-1:1', status: 'FINISHED', resultRows: 3 },
        { id: 'st-1:2', status: 'FINISHED', resultRows: 0 },
      ],
      polls: waiting.length + 1,
    });
  });

  test('fetches every page of the result rows when asked', async () => {
    const { aws, log } = fakeRedshift([{ Status: 'FINISHED', HasResultSet: true }], (command, input) => {
      if (command !== 'GetStatementResult') return {};
      return input.NextToken === undefined
        ? {
            ColumnMetadata: [{ name: 'region' }, { name: 'rows' }],
            Records: [[{ stringValue: 'us-east-1' }, { longValue: 3 }]],
            NextToken: 'p2',
          }
        : { Records: [[{ stringValue: 'eu-west-1' }, { isNull: true }]] };
    });
    const result = await run(activityEnv(), createRedshiftActivities(awsDeps(aws)).waitForStatement, {
      ...waitInput,
      fetchResults: true,
    });
    assert.deepEqual(result.columns, ['region', 'rows']);
    assert.deepEqual(result.rows, [
      ['us-east-1', '3'],
      ['eu-west-1', null],
    ]);
    assert.equal(log.count('GetStatementResult'), 2);
  });

  test('fails non-retryably with StatementFailed naming the failing sub-statement and Redshift error', async () => {
    const { aws } = fakeRedshift([
      { Status: 'STARTED' },
      {
        Status: 'FAILED',
        Error: 'ERROR: relation "sales" does not exist',
        SubStatements: [
          { Id: 'st-1:1', Status: 'FINISHED', QueryString: 'begin' },
          {
            Id: 'st-1:2',
            Status: 'FAILED',
            QueryString: 'insert into sales select 1',
            Error: 'ERROR: relation "sales" does not exist',
          },
          { Id: 'st-1:3', Status: 'ABORTED', QueryString: 'commit' },
        ],
      },
    ]);
    const err = await rejection(run(activityEnv(), createRedshiftActivities(awsDeps(aws)).waitForStatement, waitInput));
    assert.equal(err.type, 'StatementFailed');
    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      'redshift statement st-1 in us-east-1 ended FAILED at statement 2 of 3 (insert into sales select 1): ERROR: relation "sales" does not exist',
    );
    assert.equal((err.details?.[0] as { failedStatementIndex: number }).failedStatementIndex, 1);
  });

  test('fails non-retryably with StatementFailed and the SQL when a single statement is ABORTED', async () => {
    const { aws } = fakeRedshift([
      { Status: 'ABORTED', Error: 'Query cancelled on user request', QueryString: 'vacuum sales' },
    ]);
    const err = await rejection(run(activityEnv(), createRedshiftActivities(awsDeps(aws)).waitForStatement, waitInput));
    assert.equal(err.type, 'StatementFailed');
    assert.match(err.message, /ended ABORTED \(vacuum sales\): Query cancelled on user request/);
  });

  test('sends CancelStatement when cancelled, then reports the cancellation', async () => {
    const { aws, log } = fakeRedshift([{ Status: 'STARTED' }], (command) =>
      command === 'CancelStatement' ? { Status: true } : {},
    );
    const env = activityEnv();
    env.once('heartbeat', () => env.cancel());
    const err = await run(env, createRedshiftActivities(awsDeps(aws)).waitForStatement, waitInput).then(
      () => assert.fail('the wait did not report the cancellation'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
    assert.deepEqual(log.calls.find((c) => c.command === 'CancelStatement')?.input, { Id: 'st-1' });
  });
});
