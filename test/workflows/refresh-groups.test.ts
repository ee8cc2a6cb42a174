/**
 * The refresh's three groups in redshift-refresh@R (#14): `redshift.autoCommitSql` before the transaction,
 * `redshift.sql` in it, `redshift.autoCommitAfterSql` after it, each auto-commit statement by an ExecuteStatement
 * of its own, waited on, and cancelled when its wait fails without it having ended.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecuteStatementsInput, WaitForStatementInput } from '../../src/workflow-safe/activity-types';
import { FailureType } from '../../src/workflow-safe/failures';
import type { StepProgress } from '../../src/workflow-safe/pipeline';
import {
  nonRetryable,
  PRIMARY,
  REPLICA,
  testInput,
  testSpec,
  useWorkflowTestBed,
  type Call,
} from '../../devstack/testkit/workflow-harness';

const bed = useWorkflowTestBed();

const spec = testSpec({
  redshift: {
    autoCommitSql: [
      "alter table spectrum.sales add if not exists partition (batch_id='${batch_id}') location 's3://x/'",
    ],
    sql: ["delete from sales where batch_id = '${batch_id}'", 'insert into sales select 1'],
    autoCommitAfterSql: ['vacuum delete only sales', 'analyze sales'],
    // No row count after the refresh: the sequences below are the three groups' statements alone.
    reconcile: false,
  },
});

/** Statement ids that name the part of the step they ran for (the idempotency key's last part). */
const namedIds = {
  executeStatements: async (input: ExecuteStatementsInput) => ({
    statementId: `st-${input.region}-${input.idempotencyKey!.split('/').pop()}`,
  }),
};

/** The executeStatements and waitForStatement calls of one region, in order, as `run <sql>` and `wait <id>`. */
function sequence(calls: readonly Call[], region: string): string[] {
  return calls
    .filter((c) => c.region === region && (c.name === 'executeStatements' || c.name === 'waitForStatement'))
    .map((c) =>
      c.name === 'executeStatements'
        ? `run ${(c.input as ExecuteStatementsInput).sqls.join(' | ')}`
        : `wait ${(c.input as WaitForStatementInput).statementId}`,
    );
}

describe('redshift-refresh: autoCommitSql, the transaction, autoCommitAfterSql', () => {
  test('each autoCommitAfterSql statement runs on its own after the transaction ended, in every region', async () => {
    const input = testInput({ spec });
    const batchId = (input.batch as { id: string }).id;
    const { result, error, fakes } = await bed.runToEnd('csvPipeline', input, {
      replace: namedIds,
    });
    assert.ok(result, `the run should succeed: ${String(error)} ${String((error as { cause?: unknown })?.cause)}`);
    for (const region of [PRIMARY, REPLICA]) {
      const step = `redshift-refresh@${region}`;
      assert.deepEqual(sequence(fakes.calls, region), [
        `run alter table spectrum.sales add if not exists partition (batch_id='${batchId}') location 's3://x/'`,
        `wait st-${region}-auto-commit-1`,
        `run delete from sales where batch_id = '${batchId}' | insert into sales select 1`,
        `wait st-${region}-${step}`,
        'run vacuum delete only sales',
        `wait st-${region}-auto-commit-after-1`,
        'run analyze sales',
        `wait st-${region}-auto-commit-after-2`,
      ]);
      // The step's AWS ids: the transaction's, then each after statement's, in the order they ran.
      const ids = result.steps.find((s: StepProgress) => s.step === step)!.awsIds.statementIds ?? [];
      const at = (part: string) => ids.indexOf(`st-${region}-${part}`);
      assert.ok(at(step) >= 0 && at('auto-commit-after-1') > at(step), ids.join(', '));
      assert.ok(at('auto-commit-after-2') > at('auto-commit-after-1'), ids.join(', '));
    }
  });

  test('a failed transaction runs no autoCommitAfterSql in its region; the other region runs them', async () => {
    const { error, called } = await bed.runToEnd('csvPipeline', testInput({ spec }), {
      replace: namedIds,
      fail: {
        waitForStatement: (input) =>
          (input as WaitForStatementInput).statementId === `st-${REPLICA}-redshift-refresh@${REPLICA}`
            ? nonRetryable(FailureType.StatementFailed, 'ERROR: division by zero')
            : undefined,
      },
    });
    assert.ok(error, 'the run should fail');
    const afterSql = (region: string) =>
      called('executeStatements').filter(
        (c) => c.region === region && /^(vacuum|analyze)/.test((c.input as ExecuteStatementsInput).sqls[0]!),
      ).length;
    assert.equal(afterSql(REPLICA), 0);
    assert.equal(afterSql(PRIMARY), 2);
    assert.equal(called('cancelStatement').length, 0, 'a statement that ended FAILED is not cancelled');
  });

  test('a wait for an autoCommitAfterSql statement that fails without it ending cancels that statement', async () => {
    const { error, called } = await bed.runToEnd('csvPipeline', testInput({ spec }), {
      replace: namedIds,
      fail: {
        waitForStatement: (input) =>
          (input as WaitForStatementInput).statementId === `st-${PRIMARY}-auto-commit-after-1`
            ? nonRetryable('AccessDeniedException', 'not allowed to DescribeStatement')
            : undefined,
      },
    });
    assert.ok(error, 'the run should fail');
    assert.deepEqual(
      called('cancelStatement').map((c) => (c.input as { statementId: string }).statementId),
      [`st-${PRIMARY}-auto-commit-after-1`],
    );
    // The step stopped there: the second statement of the group never ran.
    assert.ok(
      !called('executeStatements').some(
        (c) => c.region === PRIMARY && /^analyze/.test((c.input as ExecuteStatementsInput).sqls[0]!),
      ),
    );
  });
});
