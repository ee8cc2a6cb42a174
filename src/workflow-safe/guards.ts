/**
 * Judging a batch against the spec's guards (spec-guards.ts): the reconciliation statement of a region, and the
 * limits a batch crossed. Pure and deterministic: the workflow judges, the activities only count.
 */
import { fillSqlVariables } from './layout';
import type { Batch } from './run-input';
import type { LimitAction, LimitName, Thresholds } from './spec-guards';
import type { PipelineSpec } from './spec';
import { refreshStatements } from './spec-refresh';

/**
 * The table and batch column of the refresh's `delete from <table> where <column> = '${batch_id}'`: how a
 * refresh that replaces a batch names where the batch lands. Undefined unless exactly one statement says so.
 */
export function refreshTarget(spec: PipelineSpec): { table: string; batchColumn: string } | undefined {
  const found = refreshStatements(spec).flatMap((sql) => {
    const m =
      /^\s*delete\s+from\s+([a-z_][\w$]*(?:\.[a-z_][\w$]*)?)\s+where\s+([a-z_]\w*)\s*=\s*'\$\{batch_id\}'\s*;?\s*$/i.exec(
        sql,
      );
    return m ? [{ table: m[1]!.toLowerCase(), batchColumn: m[2]!.toLowerCase() }] : [];
  });
  return found.length === 1 ? found[0] : undefined;
}

/**
 * The statement that counts the batch's rows in `region` after the refresh, with the run's values filled in, or
 * undefined when the spec reconciles nothing (no Redshift, `reconcile: false`, or no default to derive).
 */
export function reconcileSql(spec: PipelineSpec, batch: Batch, region: string): string | undefined {
  const reconcile = spec.redshift?.reconcile;
  if (!spec.redshift || reconcile === false) return undefined;
  if (reconcile && 'sql' in reconcile) return fillSqlVariables(spec, batch, region, reconcile.sql);
  const target = reconcile ?? refreshTarget(spec);
  if (!target) return undefined;
  return `select count(*) from ${target.table} where ${target.batchColumn} = '${batch.id.replace(/'/g, "''")}'`;
}

/** A limit the batch crossed, as progress, failures and warnings report it. */
export interface LimitBreach {
  limit: LimitName;
  action: LimitAction;
  /** The batch's figure, and the limit's value it crossed. */
  value: number;
  threshold: number;
  /** What was found, and the fix: "maxRejectedRatio: 0.3 of the rows ... raise thresholds.maxRejectedRatio". */
  message: string;
}

type Check = { limit: LimitName; value: number; crossed: (threshold: number) => boolean; what: string; fix: string };

function judge(thresholds: Thresholds | undefined, checks: Check[]): LimitBreach[] {
  return checks.flatMap(({ limit, value, crossed, what, fix }) => {
    const set = thresholds?.[limit];
    if (!set || !crossed(set.value)) return [];
    const side = limit.startsWith('max') ? 'over' : 'under';
    const message =
      `${limit}: ${what}, ${side} the limit of ${set.value}: ${fix}, ` +
      `or change thresholds.${limit}.value in the spec if the batch is as it should be`;
    return [{ limit, action: set.action, value, threshold: set.value, message }];
  });
}

/** The row limits, judged on the Glue job's manifest counts; `rejectsAt` is where the rejected rows are. */
export function judgeRows(
  thresholds: Thresholds | undefined,
  counts: { rowsIn: number; rowsRejected: number },
  rejectsAt: string,
): LimitBreach[] {
  const { rowsIn, rowsRejected } = counts;
  const ratio = rowsIn === 0 ? 0 : rowsRejected / rowsIn;
  const checkRejects = `check the rejected rows and their reasons under ${rejectsAt}`;
  return judge(thresholds, [
    {
      limit: 'maxRejectedRows',
      value: rowsRejected,
      crossed: (t) => rowsRejected > t,
      what: `${rowsRejected} of the batch's ${rowsIn} rows were rejected`,
      fix: checkRejects,
    },
    {
      limit: 'maxRejectedRatio',
      value: Math.round(ratio * 10_000) / 10_000,
      crossed: (t) => ratio > t,
      what: `${Math.round(ratio * 10_000) / 10_000} of the batch's rows were rejected (${rowsRejected} of ${rowsIn})`,
      fix: checkRejects,
    },
    {
      limit: 'minRowsIn',
      value: rowsIn,
      crossed: (t) => rowsIn < t,
      what: `the batch has ${rowsIn} rows`,
      fix: 'check that the upstream export wrote the whole batch',
    },
  ]);
}

/** The file limits, judged on the number of CSVs staged from `source`. */
export function judgeFiles(thresholds: Thresholds | undefined, files: number, source: string): LimitBreach[] {
  const fix = `check the CSVs under ${source}: the upstream export may be partial or duplicated`;
  return judge(thresholds, [
    { limit: 'minFiles', value: files, crossed: (t) => files < t, what: `the batch has ${files} file(s)`, fix },
    { limit: 'maxFiles', value: files, crossed: (t) => files > t, what: `the batch has ${files} file(s)`, fix },
  ]);
}
