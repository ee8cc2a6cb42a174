import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  ActiveStatementsExceededException,
  CancelStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementResponse,
} from '@aws-sdk/client-redshift-data';
import { CancelledFailure } from '@temporalio/common';
import { createRedshiftActivities } from '../../src/activities/redshift';
import { clientToken, STATEMENT_OUTCOME } from '../../src/aws/redshift-data';
import type { ExecuteStatementsInput } from '../../src/workflow-safe/activity-types';
import {
  activityEnv,
  awsDeps,
  countingClients,
  fakeClients,
  fastPolling,
  rejection,
  run,
} from '../../devstack/testkit/aws';
import { createRedshiftTarget } from '../../devstack/redshift-targets';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { pollUntil } from '../../devstack/testkit/poll';
import { stack, unique } from '../../devstack/testkit/stack';

const region = stack().aws.regions[0]!;
const gateway = new GatewayControl();
// One cluster and one workgroup for the whole file: each is a database of its own in the gateway.
const cluster = { clusterIdentifier: unique('act-rs'), database: 'dev', dbUser: 'glueline' };
const serverless = { workgroupName: unique('act-wg'), database: 'dev' };
const clusterId = cluster.clusterIdentifier;
before(async () => {
  await createRedshiftTarget(stack().aws.endpoint, region, cluster);
  await createRedshiftTarget(stack().aws.endpoint, region, serverless);
});

const { aws } = countingClients();
const redshift = createRedshiftActivities(awsDeps(aws));

const table = () => unique('act_t').replace(/-/g, '_');

const execInput = (overrides: Partial<ExecuteStatementsInput> = {}): ExecuteStatementsInput => ({
  region,
  target: cluster,
  sqls: ['select 1'],
  idempotencyKey: unique('csv-pipeline-sales-b1/run-1/redshift-refresh@us-east-1'),
  statementName: 'glueline sales b1',
  ...overrides,
});

const waitInput = (statementId: string, fetchResults = false) => ({
  region,
  statementId,
  polling: fastPolling,
  fetchResults,
});

/** Runs SQL through both activities and returns the finished statement. */
async function sql(overrides: Partial<ExecuteStatementsInput>, fetchResults = false) {
  const { statementId } = await run(activityEnv(), redshift.executeStatements, execInput(overrides));
  return run(activityEnv(), redshift.waitForStatement, waitInput(statementId, fetchResults));
}

const describeStatement = async (Id: string) => aws.redshiftData(region).send(new DescribeStatementCommand({ Id }));

/** A fake Data API whose DescribeStatement answers the given statements in turn (the last one repeats). */
function fakeRedshift(statements: Partial<DescribeStatementResponse>[]) {
  let i = 0;
  return fakeClients((command) => {
    if (command === 'DescribeStatement') return { Id: 'st-1', ...statements[Math.min(i++, statements.length - 1)] };
    return {};
  });
}

/**
 * A batch still running when a cancel comes, however slow the machine: the local Redshift sees a cancel between two
 * statements, so 40 one-second sleeps (BatchExecuteStatement's most) give it 40 chances and end soon after it.
 */
const STILL_RUNNING_SQLS = Array.from({ length: 40 }, () => 'select pg_sleep(1)');

describe('executeStatements', () => {
  test('runs one statement on a cluster with named parameters, and the wait fetches its rows', async () => {
    const result = await sql(
      { sqls: ['select :batch_id as batch_id, 2 as n, null::text as missing'], parameters: { batch_id: 'b1' } },
      true,
    );
    assert.deepEqual(result.columns, ['batch_id', 'n', 'missing']);
    assert.deepEqual(result.rows, [['b1', '2', null]]);
    const st = await describeStatement(result.statementId);
    assert.deepEqual([st.ClusterIdentifier, st.Database, st.DbUser], [clusterId, 'dev', 'glueline']);
  });

  test('runs several statements in one BatchExecuteStatement on a serverless workgroup', async () => {
    const t = table();
    const result = await sql(
      {
        target: serverless,
        sqls: [`create table ${t} (id int)`, `insert into ${t} values (1), (2)`, `select count(*) as n from ${t}`],
      },
      true,
    );
    assert.deepEqual(
      result.subStatements.map((s) => [s.id, s.status]),
      [1, 2, 3].map((i) => [`${result.statementId}:${i}`, 'FINISHED']),
    );
    assert.deepEqual(result.rows, [['2']]);
    assert.equal((await describeStatement(result.statementId)).WorkgroupName, serverless.workgroupName);
  });

  test('refuses parameters with several statements, before calling AWS', async () => {
    await gateway.resetCounts(clusterId);
    const err = await rejection(
      run(
        activityEnv(),
        redshift.executeStatements,
        execInput({ sqls: ['select 1', 'select 2'], parameters: { batch_id: 'b1' } }),
      ),
    );
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /named parameters \(batch_id\) work with one statement only/);
    assert.deepEqual(await gateway.counts(clusterId), {});
  });

  test('runs the SQL once when a retry of the same step sends the same idempotency key', async () => {
    const t = table();
    await sql({ sqls: [`create table ${t} (id int)`] });
    const insert = execInput({ sqls: [`insert into ${t} values (1)`] });
    const first = await run(activityEnv(), redshift.executeStatements, insert);
    const retry = await run(activityEnv({ attempt: 2 }), redshift.executeStatements, insert);
    assert.equal(retry.statementId, first.statementId);
    await run(activityEnv(), redshift.waitForStatement, waitInput(first.statementId));
    const count = await sql({ sqls: [`select count(*) from ${t}`] }, true);
    assert.deepEqual(count.rows, [['1']]);
  });

  test('derives different ClientTokens for other steps and other regions', () => {
    const base = clientToken(execInput({ idempotencyKey: 'run-1/redshift-refresh' }));
    assert.notEqual(clientToken(execInput({ idempotencyKey: 'run-2/redshift-refresh' })), base);
    assert.notEqual(clientToken(execInput({ idempotencyKey: 'run-1/redshift-refresh', region: 'eu-west-1' })), base);
    assert.ok(base.length <= 64);
  });

  test('fails non-retryably with ValidationException naming the target', async () => {
    await gateway.resetCounts(clusterId);
    const err = await rejection(run(activityEnv(), redshift.executeStatements, execInput({ sqls: ['  '] })));
    assert.equal(err.type, 'ValidationException');
    assert.equal(err.nonRetryable, true);
    assert.match(
      err.message,
      new RegExp(
        `^ExecuteStatement on redshift cluster ${clusterId} database dev in us-east-1 failed: ValidationException`,
      ),
    );
    assert.deepEqual(await gateway.counts(clusterId), { 'redshift-data:ExecuteStatement': { count: 1, faulted: 0 } });
  });

  test('a workgroup or cluster that does not exist in its region fails non-retryably, naming it and the fix', async () => {
    const missing: [string, ExecuteStatementsInput['target']][] = [
      [region, { workgroupName: unique('act-no-wg'), database: 'dev' }],
      [region, { clusterIdentifier: unique('act-no-rs'), database: 'dev', dbUser: 'glueline' }],
      // The file's own workgroup, asked for in another region: a workgroup is its region's alone.
      [stack().aws.regions[1]!, serverless],
    ];
    for (const [where, target] of missing) {
      const err = await rejection(
        run(activityEnv(), redshift.executeStatements, execInput({ region: where, target, sqls: ['select 1'] })),
      );
      assert.equal(err.type, 'ValidationException');
      assert.equal(err.nonRetryable, true);
      const name = target.workgroupName ?? target.clusterIdentifier!;
      assert.match(err.message, new RegExp(`^redshift \\w+ ${name} database dev does not exist in ${where} `));
      assert.match(
        err.message,
        /Redshift endpoint doesn't exist in this region.*fix regions\[\]\.redshift in the spec/,
      );
    }
  });

  test('fails retryably when too many statements are active', async () => {
    // Fake: the gateway runs any number of statements.
    const { aws: fake } = fakeClients(() => {
      throw new ActiveStatementsExceededException({
        message: 'Active statements exceeded',
        $metadata: { httpStatusCode: 400 },
      });
    });
    const err = await rejection(
      run(activityEnv(), createRedshiftActivities(awsDeps(fake)).executeStatements, execInput()),
    );
    assert.equal(err.nonRetryable, false);
  });

  test('survives throttled ExecuteStatement calls', async () => {
    await gateway.resetCounts(clusterId);
    const { statementId } = await gateway.withFault(
      { target: 'redshift-data:ExecuteStatement', action: { type: 'throttle' }, resource: clusterId, count: 2 },
      () => run(activityEnv(), redshift.executeStatements, execInput()),
    );
    assert.equal((await run(activityEnv(), redshift.waitForStatement, waitInput(statementId))).status, 'FINISHED');
    assert.deepEqual((await gateway.counts(clusterId))['redshift-data:ExecuteStatement'], { count: 3, faulted: 2 });
  });
});

describe('waitForStatement', () => {
  test('waits through every waiting status and returns the finished statement', async () => {
    // Fake: on the gateway SUBMITTED and PICKED pass too quickly to be seen every time.
    const waiting = Object.entries(STATEMENT_OUTCOME)
      .filter(([, o]) => o === 'wait')
      .map(([s]) => ({ Status: s as 'SUBMITTED' }));
    const { aws: fake } = fakeRedshift([
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
    const result = await run(
      activityEnv(),
      createRedshiftActivities(awsDeps(fake)).waitForStatement,
      waitInput('st-1'),
    );
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
    await gateway.resetCounts(clusterId);
    const result = await sql(
      { sqls: ["select g as n, case when g = 2500 then null else 'x' end as tag from generate_series(1, 2500) g"] },
      true,
    );
    assert.deepEqual(result.columns, ['n', 'tag']);
    assert.equal(result.rows?.length, 2500);
    assert.deepEqual(result.rows?.[0], ['1', 'x']);
    assert.deepEqual(result.rows?.at(-1), ['2500', null]);
    assert.equal((await gateway.counts(clusterId))['redshift-data:GetStatementResult']?.count, 3);
  });

  test("fails non-retryably with StatementFailed naming the failing sub-statement and Postgres's error", async () => {
    const t = table();
    const err = await rejection(
      sql({ sqls: [`create table ${t} (id int)`, `insert into ${t}_missing select 1`, `select 1`] }),
    );
    assert.equal(err.type, 'StatementFailed');
    assert.equal(err.nonRetryable, true);
    const { statementId, failedStatementIndex } = err.details?.[0] as {
      statementId: string;
      failedStatementIndex: number;
    };
    assert.equal(
      err.message,
      `redshift statement ${statementId} in us-east-1 ended FAILED at statement 2 of 3 ` +
        `(insert into ${t}_missing select 1): ERROR: relation "${t}_missing" does not exist`,
    );
    assert.equal(failedStatementIndex, 1);
  });

  test('fails non-retryably with StatementFailed and the SQL when a single statement fails', async () => {
    const err = await rejection(sql({ sqls: ['select 1/0'] }));
    assert.equal(err.type, 'StatementFailed');
    assert.match(err.message, /ended FAILED \(select 1\/0\): ERROR: division by zero$/);
  });

  test('fails non-retryably with StatementFailed when someone cancels the statement (ABORTED)', async () => {
    const { statementId } = await run(
      activityEnv(),
      redshift.executeStatements,
      execInput({ sqls: STILL_RUNNING_SQLS }),
    );
    const env = activityEnv();
    env.once('heartbeat', () => void aws.redshiftData(region).send(new CancelStatementCommand({ Id: statementId })));
    const err = await rejection(run(env, redshift.waitForStatement, waitInput(statementId)));
    assert.equal(err.type, 'StatementFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`redshift statement ${statementId} in us-east-1 ended ABORTED`));
  });

  test('survives more throttled polls than the SDK retries by itself', async () => {
    await gateway.resetCounts(clusterId);
    const { statementId } = await run(activityEnv(), redshift.executeStatements, execInput());
    const result = await gateway.withFault(
      { target: 'redshift-data:DescribeStatement', action: { type: 'throttle' }, resource: clusterId, count: 4 },
      () => run(activityEnv(), redshift.waitForStatement, waitInput(statementId)),
    );
    assert.equal(result.status, 'FINISHED');
    assert.equal((await gateway.counts(clusterId))['redshift-data:DescribeStatement']?.faulted, 4);
  });

  test('fails non-retryably with ResourceNotFoundException for a statement Redshift does not know', async () => {
    const statementId = randomUUID();
    const err = await rejection(run(activityEnv(), redshift.waitForStatement, waitInput(statementId)));
    assert.equal(err.type, 'ResourceNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`redshift statement ${statementId} does not exist in us-east-1`));
  });

  /** Starts a statement that is still running when the cancel comes, and cancels its wait at the first heartbeat. */
  async function cancelledWait() {
    await gateway.resetCounts(clusterId);
    const { statementId } = await run(
      activityEnv(),
      redshift.executeStatements,
      execInput({ sqls: STILL_RUNNING_SQLS }),
    );
    const env = activityEnv();
    env.once('heartbeat', () => env.cancel());
    const err = await run(env, redshift.waitForStatement, waitInput(statementId)).then(
      () => assert.fail('the wait did not report the cancellation'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledFailure, `expected CancelledFailure, got ${String(err)}`);
    assert.deepEqual(
      err.details,
      [{ stoppedId: statementId, finalState: 'ABORTED' }],
      'the workflow would cancel again',
    );
    return statementId;
  }

  test('sends CancelStatement when cancelled, and the statement ends ABORTED', async () => {
    const statementId = await cancelledWait();
    assert.equal((await gateway.counts(clusterId))['redshift-data:CancelStatement']?.count, 1);
    assert.equal((await describeStatement(statementId)).Status, 'ABORTED');
  });

  test('cancels the statement even if CancelStatement is throttled beyond the SDK retries', async () => {
    const statementId = await gateway.withFault(
      { target: 'redshift-data:CancelStatement', action: { type: 'throttle' }, resource: clusterId, count: 4 },
      () => cancelledWait(),
    );
    assert.deepEqual((await gateway.counts(clusterId))['redshift-data:CancelStatement'], { count: 5, faulted: 4 });
    assert.equal((await describeStatement(statementId)).Status, 'ABORTED');
  });

  test('a cancel that comes after the statement finished completes the wait with the statement FINISHED', async () => {
    await gateway.resetCounts(clusterId);
    const { statementId } = await run(activityEnv(), redshift.executeStatements, execInput({ sqls: ['select 1'] }));
    await pollUntil(
      () => describeStatement(statementId),
      (d) => d.Status === 'FINISHED',
    );
    // The cancel is there before the wait's first look, as when it came while the statement committed.
    const env = activityEnv();
    env.cancel();
    const result = await run(env, redshift.waitForStatement, waitInput(statementId));
    assert.equal(result.status, 'FINISHED');
    assert.equal(result.statementId, statementId);
    // Redshift refused the CancelStatement: the statement had ended.
    assert.equal((await gateway.counts(clusterId))['redshift-data:CancelStatement']?.count, 1);
    assert.equal((await describeStatement(statementId)).Status, 'FINISHED');
  });
});

describe('cancelStatement', () => {
  const cancelInput = (statementId: string) => ({ region, statementId, polling: fastPolling });
  const sleeping = async () =>
    (await run(activityEnv(), redshift.executeStatements, execInput({ sqls: STILL_RUNNING_SQLS }))).statementId;

  test('cancels a running statement: CancelStatement reaches Redshift and the statement ends ABORTED', async () => {
    await gateway.resetCounts(clusterId);
    const statementId = await sleeping();
    const result = await run(activityEnv(), redshift.cancelStatement, cancelInput(statementId));
    assert.deepEqual(result, { statementId, cancelled: true });
    assert.equal((await gateway.counts(clusterId))['redshift-data:CancelStatement']?.count, 1);
    assert.equal((await describeStatement(statementId)).Status, 'ABORTED');
  });

  test('leaves a statement that already ended alone, so cancelling twice is harmless', async () => {
    const finished = await sql({});
    const result = await run(activityEnv(), redshift.cancelStatement, cancelInput(finished.statementId));
    assert.deepEqual(result, { statementId: finished.statementId, cancelled: false, status: 'FINISHED' });
    const aborted = await sleeping();
    await run(activityEnv(), redshift.cancelStatement, cancelInput(aborted));
    const again = await run(activityEnv({ attempt: 2 }), redshift.cancelStatement, cancelInput(aborted));
    assert.deepEqual(again, { statementId: aborted, cancelled: false, status: 'ABORTED' });
  });

  test('cancels the statement even if CancelStatement is throttled beyond the SDK retries', async () => {
    await gateway.resetCounts(clusterId);
    const statementId = await sleeping();
    const result = await gateway.withFault(
      { target: 'redshift-data:CancelStatement', action: { type: 'throttle' }, resource: clusterId, count: 4 },
      () => run(activityEnv(), redshift.cancelStatement, cancelInput(statementId)),
    );
    assert.equal(result.cancelled, true);
    assert.deepEqual((await gateway.counts(clusterId))['redshift-data:CancelStatement'], { count: 5, faulted: 4 });
    assert.equal((await describeStatement(statementId)).Status, 'ABORTED');
  });

  test('fails non-retryably for a statement Redshift does not know', async () => {
    const statementId = randomUUID();
    const err = await rejection(run(activityEnv(), redshift.cancelStatement, cancelInput(statementId)));
    assert.equal(err.type, 'ResourceNotFoundException');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`redshift statement ${statementId} does not exist in us-east-1`));
  });
});
