/**
 * The spec's guards against missing data: `redshift.reconcile` (after the refresh, count the batch's rows in each
 * region's target and compare with the manifest's rowsOut) and `thresholds` (limits on rejected rows, rows in and
 * files per batch, each failing the run or warning). Kept beside spec.ts, which imports both sections; the pure
 * judging the workflow does with them is in ./guards.ts.
 */
import { z } from 'zod';
import { tableName } from './spec-refresh';

const columnName = z.string().regex(/^[a-z_][a-z0-9_]{0,126}$/, {
  error: 'is not a usable column name: use lowercase letters, digits and _',
});

/**
 * How the refresh's result is counted in each region after it ran. Either a table and its batch column (the
 * count is `select count(*) from <table> where <batchColumn> = '${batch_id}'`), or a statement of your own that
 * returns one row with one number (with the same `${name}` variables as redshift.sql), or `false` for none.
 * @default - the table and column of the refresh's `delete from <table> where <column> = '${batch_id}'`, when
 *   redshift.sql has exactly one such statement; otherwise no reconciliation
 */
export const Reconcile = z.union([
  z.literal(false),
  z.strictObject({
    table: tableName,
    /** @default 'batch_id' */
    batchColumn: columnName.default('batch_id'),
  }),
  z.strictObject({
    /** One statement returning one row with one number: the batch's rows in the region's target. */
    sql: z.string().min(1),
  }),
]);
export type Reconcile = z.output<typeof Reconcile>;

/** What crossing a limit does: `fail` fails the run (non-retryably, naming the limit); `warn` notifies and goes on. */
export const LimitAction = z.enum(['fail', 'warn'], {
  error: "is not a limit action: use 'fail' (the run fails) or 'warn' (a warning notification; the run goes on)",
});
export type LimitAction = z.output<typeof LimitAction>;

/** One limit: its value (described, with an example) and what crossing it does. */
const limit = (value: z.ZodNumber, what: string, example: number) =>
  z
    .strictObject({
      value: value.describe(`The limit: ${what}.`).meta({ examples: [example] }),
      action: LimitAction.default('fail').describe(
        "What crossing it does: 'fail' fails the run (ThresholdExceeded), 'warn' sends a warning and the run goes on.",
      ),
    })
    .describe(`A limit on ${what}, and what crossing it does.`);

const count = z.number().int().min(0);

/**
 * Limits a batch must stay within. The row limits are judged after transform, on the Glue job's manifest; the
 * file limits at stage-raw, on the CSVs staged.
 * @default - no limits (a batch fails only when every row is rejected)
 */
export const Thresholds = z
  .strictObject({
    maxRejectedRows: limit(
      count,
      "the most rows the Glue job may reject (the manifest's rowsRejected)",
      500,
    ).optional(),
    maxRejectedRatio: limit(
      z.number().min(0).max(1),
      'the largest share of rows in that may be rejected, 0 to 1 (rowsRejected / rowsIn)',
      0.1,
    ).optional(),
    minRowsIn: limit(count, "the fewest rows the batch may hold (the manifest's rowsIn)", 1000).optional(),
    minFiles: limit(count, 'the fewest CSV files the batch may have (judged at stage-raw)', 24).optional(),
    maxFiles: limit(count.min(1), 'the most CSV files the batch may have (judged at stage-raw)', 48).optional(),
  })
  .refine((t) => !t.minFiles || !t.maxFiles || t.minFiles.value <= t.maxFiles.value, {
    error: 'has minFiles.value above maxFiles.value: no batch could pass both; lower minFiles or raise maxFiles',
    path: ['minFiles', 'value'],
  });
export type Thresholds = z.output<typeof Thresholds>;
/** A limit's name: `maxRejectedRatio`. */
export type LimitName = keyof Thresholds;
